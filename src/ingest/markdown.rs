//! Markdown: converted to HTML by pulldown-cmark, then read like any HTML
//! page, so emphasis marks, links and footnote markers are not read out.
//! A YAML front-matter block (`title:`, `author:`, `lang:`) gives the
//! metadata, as pandoc reads it.

use std::path::Path;

use pulldown_cmark::{Options, Parser, html::push_html};

use super::{Book, IngestError, assemble, html};

pub fn read_markdown(path: &Path, source: &str) -> Result<Book, IngestError> {
    let (front, body) = split_front_matter(source);
    let mut options = Options::empty();
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_SMART_PUNCTUATION);
    let mut markup = String::new();
    push_html(&mut markup, Parser::new_ext(body, options));
    let mut page =
        html::extract(&format!("<html><body>{markup}</body></html>")).map_err(|message| {
            IngestError::Malformed {
                path: path.to_owned(),
                message,
            }
        })?;
    let field = |name: &str| {
        front.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| unquote(value.trim()))
        })
    };
    if let Some(title) = field("title") {
        page.title = Some(title);
    }
    page.author = field("author");
    page.language = field("lang").or_else(|| field("language"));
    // A title from the front matter names the book; the first heading
    // then is a chapter.
    let titled = page.title.is_some();
    let mut book = assemble::single_page(path, page, "Markdown file")?;
    if titled && let Some(title) = field("title") {
        book.title = title;
    }
    Ok(book)
}

/// `---` YAML `---` at the very start, and the rest.
fn split_front_matter(source: &str) -> (&str, &str) {
    let trimmed = source.trim_start_matches('\u{feff}');
    if let Some(rest) = trimmed
        .strip_prefix("---\n")
        .or_else(|| trimmed.strip_prefix("---\r\n"))
    {
        for end in ["\n---\n", "\n...\n", "\n---\r\n", "\n---"] {
            if let Some(at) = rest.find(end) {
                let after = &rest[at + end.len()..];
                if end == "\n---" && !after.trim().is_empty() && !after.starts_with(['\n', '\r']) {
                    continue;
                }
                return (&rest[..at], after);
            }
        }
    }
    ("", source)
}

fn unquote(value: &str) -> String {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_chapters_and_metadata() {
        let source = "---\ntitle: \"The Orchard\"\nauthor: Mara Quill\n---\n\n# One\n\n\"Hi,\" said *Wren*.[^1]\n\n[^1]: A note.\n\n# Two\n\nThe [end](http://x).\n";
        let book = read_markdown(Path::new("s.md"), source).unwrap();
        assert_eq!(book.title, "The Orchard");
        assert_eq!(book.meta.author.as_deref(), Some("Mara Quill"));
        let titles: Vec<&str> = book.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["One", "Two"]);
        assert!(book.text.contains("said Wren."), "{}", book.text);
        assert!(book.text.contains("The end."), "{}", book.text);
        assert!(
            book.text
                .starts_with("The Orchard\nby Mara Quill\n\nOne\n\n"),
            "{}",
            book.text
        );
    }
}
