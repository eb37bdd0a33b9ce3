//! (X)HTML → blocks: headings and paragraphs of plain text, each with the
//! matter cue its markup gives it.
//!
//! Parsed with html5ever (through `scraper`), which reads tag soup the way
//! browsers do, so a malformed page still gives what can be read; XHTML is
//! also checked with quick-xml so that the user hears about a broken file.
//! The walk over the tree is iterative: a hostile file nested a million
//! deep costs memory, not the stack.
//!
//! Kept: headings, `<p>`, `<br>` (a line break; two in a row end a
//! paragraph), `<blockquote>`, list items, table rows, `<pre>`. Dropped:
//! scripts, styles, images, footnote references (`epub:type="noteref"`,
//! pandoc's `footnote-ref`, a bare `[1]` link). Entities and whitespace are
//! decoded as a browser would.

use std::path::Path;

use scraper::{Html, Node};

use super::matter::{self, Cue};
use super::{Book, IngestError, MatterKind, assemble};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub text: String,
    /// Heading level 1-6, or None for a paragraph.
    pub heading: Option<u8>,
    /// Set when the markup says this is matter or notes.
    pub cue: Option<Cue>,
    /// Ids of elements that open at this block (targets of nav links).
    pub anchors: Vec<String>,
    /// Inside AO3's chapter `meta` block (where a chapter's heading sits).
    pub in_meta: bool,
}

/// What one page holds.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub blocks: Vec<Block>,
    /// `<title>`.
    pub title: Option<String>,
    pub language: Option<String>,
    /// `<meta name="author">` or an AO3 byline.
    pub author: Option<String>,
    /// `epub:type` of `<body>` (and of a top-level `<section>`): `frontmatter`, `titlepage`.
    pub body_types: String,
    /// An id pending at the end of the page (an anchor with no text after it).
    pub trailing_anchors: Vec<String>,
}

/// What an element does to the text inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Plain,
    Cue(Cue),
    /// AO3's chapter `meta` block: notes, but headings in it are the chapter's.
    Meta,
}

const SKIPPED: &[&str] = &[
    "script", "style", "head", "noscript", "template", "svg", "math", "iframe", "object", "img",
    "audio", "video", "button", "input", "select", "textarea", "rp", "rt",
];

const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// Deeper than any real page; html5ever's scope checks are linear in the
/// depth, so a page nested a hundred thousand deep would take hours.
pub const MAX_DEPTH: usize = 2_000;

/// Reads one page into blocks; an error for a page nested deeper than
/// [`MAX_DEPTH`].
pub fn extract(source: &str) -> Result<Page, String> {
    let depth = nesting_depth(source);
    if depth > MAX_DEPTH {
        return Err(format!(
            "elements nested {depth} deep; expected at most {MAX_DEPTH} in a page of a book"
        ));
    }
    let document = Html::parse_document(source);
    let mut walker = Walker::default();
    let mut page = Page::default();
    let mut skipping: Option<ego_tree::NodeId> = None;
    let mut stack: Vec<Context> = Vec::new();
    let mut pre_depth = 0usize;
    let mut seen_section = false;
    for edge in document.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(text) => walker.text(text, pre_depth > 0),
                    Node::Element(element) => {
                        let name = element.name();
                        if name == "title" && page.title.is_none() {
                            let title: String = node
                                .children()
                                .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                                .collect();
                            page.title = Some(collapse(&title)).filter(|t| !t.is_empty());
                        }
                        if name == "html" {
                            page.language = element
                                .attr("lang")
                                .or_else(|| element.attr("xml:lang"))
                                .map(str::to_owned);
                        }
                        if name == "meta"
                            && element
                                .attr("name")
                                .is_some_and(|n| n.eq_ignore_ascii_case("author"))
                        {
                            page.author = element.attr("content").map(collapse);
                        }
                        if SKIPPED.contains(&name) || is_note_reference(node) {
                            skipping = Some(node.id());
                            continue;
                        }
                        let types = element.attr("epub:type").unwrap_or_default();
                        // The body's types, and the first section's (pandoc's
                        // title page is `<section epub:type="titlepage">`).
                        if name == "body" || (name == "section" && !seen_section) {
                            page.body_types.push_str(types);
                            page.body_types.push(' ');
                        }
                        seen_section |= name == "section";
                        if page.author.is_none() && has_class(element, "byline") {
                            let by = node_text(node);
                            let by = by.trim();
                            let by = by.strip_prefix("by ").unwrap_or(by).trim();
                            page.author = Some(by.to_owned()).filter(|b| !b.is_empty());
                        }
                        if BLOCKS.contains(&name) {
                            walker.flush(&stack);
                        }
                        if let Some(id) = element.id() {
                            walker.anchors.push(id.to_owned());
                        }
                        match name {
                            "br" => walker.line_break(&stack),
                            "pre" => pre_depth += 1,
                            "td" | "th" => walker.space(),
                            _ => {}
                        }
                        let context = context_of(element, name);
                        if context == Context::Meta {
                            walker.meta_label = None;
                        }
                        stack.push(context);
                        if let Some(level) = heading_level(name) {
                            walker.heading = Some(level);
                        }
                    }
                    _ => {}
                }
            }
            ego_tree::iter::Edge::Close(node) => {
                if let Some(id) = skipping {
                    if id == node.id() {
                        skipping = None;
                    }
                    continue;
                }
                if let Node::Element(element) = node.value() {
                    let name = element.name();
                    if BLOCKS.contains(&name) {
                        walker.flush(&stack);
                    }
                    if name == "pre" {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                    stack.pop();
                }
            }
        }
    }
    walker.flush(&stack);
    page.blocks = walker.blocks;
    page.trailing_anchors = walker.anchors;
    Ok(page)
}

/// How deep the page's elements nest, by a quick scan of its tags. Void
/// and self-closing elements don't count, nor do elements that HTML closes
/// by itself (`<p>`, `<li>`, table cells), which tag soup leaves open.
fn nesting_depth(source: &str) -> usize {
    const NOT_NESTING: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th", "tbody", "thead",
        "tfoot",
    ];
    let bytes = source.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    for at in memchr_all(bytes, b'<') {
        let rest = &bytes[at + 1..];
        match rest.first() {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                let name_len = rest
                    .iter()
                    .position(|c| !c.is_ascii_alphanumeric() && *c != b':' && *c != b'-')
                    .unwrap_or(rest.len());
                let name = String::from_utf8_lossy(&rest[..name_len]).to_ascii_lowercase();
                let tag_end = rest.iter().position(|&c| c == b'>').unwrap_or(rest.len());
                let self_closing = tag_end > 0 && rest[tag_end - 1] == b'/';
                if !self_closing && !NOT_NESTING.contains(&name.as_str()) {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
            }
            _ => {}
        }
    }
    deepest
}

fn memchr_all(bytes: &[u8], needle: u8) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(move |&(_, &b)| b == needle)
        .map(|(i, _)| i)
}

/// Builds text from blocks as they are walked.
#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    current: String,
    heading: Option<u8>,
    anchors: Vec<String>,
    /// The last AO3 `meta` label seen (see [`Walker::cue_for`]).
    meta_label: Option<Cue>,
}

impl Walker {
    fn text(&mut self, text: &str, pre: bool) {
        for c in text.chars() {
            if pre && c == '\n' {
                self.current.push('\n');
            } else if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
                if !self.current.is_empty() && !self.current.ends_with([' ', '\n']) {
                    self.current.push(' ');
                }
            } else if !c.is_control() || c == '\t' {
                self.current.push(c);
            }
        }
    }

    fn space(&mut self) {
        if !self.current.is_empty() && !self.current.ends_with([' ', '\n']) {
            self.current.push(' ');
        }
    }

    /// `<br>`: a new line; a second one in a row ends the paragraph.
    fn line_break(&mut self, stack: &[Context]) {
        let trimmed = self.current.trim_end_matches(' ').len();
        self.current.truncate(trimmed);
        if self.current.ends_with('\n') {
            self.flush(stack);
        } else if !self.current.is_empty() {
            self.current.push('\n');
        }
    }

    fn flush(&mut self, stack: &[Context]) {
        let heading = self.heading.take();
        let text = tidy(&self.current);
        self.current.clear();
        if text.is_empty() {
            return;
        }
        let in_meta = stack.contains(&Context::Meta);
        let cue = self.cue_for(stack, heading.is_some(), &text);
        // Blank lines inside a block would split it when read back.
        let text = text
            .split('\n')
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        self.blocks.push(Block {
            text,
            heading,
            cue,
            anchors: std::mem::take(&mut self.anchors),
            in_meta,
        });
    }
}

impl Walker {
    /// The innermost context that says something decides. In AO3's `meta`
    /// block, a label paragraph ("Summary", "Notes") names the blocks after
    /// it; headings there are the chapter's own and read.
    fn cue_for(&mut self, stack: &[Context], heading: bool, text: &str) -> Option<Cue> {
        for (depth, context) in stack.iter().enumerate().rev() {
            match context {
                Context::Plain => {}
                Context::Cue(cue) => return Some(*cue),
                Context::Meta if heading => {}
                Context::Meta => {
                    if let Some(cue) = meta_label(text) {
                        self.meta_label = Some(cue);
                    }
                    if let Some(cue) = self.meta_label {
                        return Some(cue);
                    }
                    let outer = stack[..depth].iter().rev().find_map(|c| match c {
                        Context::Cue(cue) => Some(*cue),
                        _ => None,
                    });
                    return Some(outer.unwrap_or((MatterKind::Notes, "chapter notes")));
                }
            }
        }
        None
    }
}

/// AO3's labels in a `meta` block.
fn meta_label(text: &str) -> Option<Cue> {
    let label = text.trim().trim_end_matches(':').to_lowercase();
    match label.as_str() {
        "summary" | "chapter summary" => Some((MatterKind::Notes, "summary")),
        "notes" | "chapter notes" | "author's note" | "author's notes" => {
            Some((MatterKind::Notes, "author's note"))
        }
        "end notes" | "chapter end notes" => Some((MatterKind::Notes, "end notes")),
        _ => None,
    }
}

fn tidy(text: &str) -> String {
    text.trim_matches(|c: char| c.is_whitespace()).to_owned()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

fn has_class(element: &scraper::node::Element, class: &str) -> bool {
    element.classes().any(|c| c.eq_ignore_ascii_case(class))
}

fn node_text(node: ego_tree::NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for descendant in node.descendants() {
        if let Node::Text(text) = descendant.value() {
            out.push_str(text);
        }
    }
    collapse(&out)
}

/// What the element's markup says about its contents.
fn context_of(element: &scraper::node::Element, name: &str) -> Context {
    let types = element.attr("epub:type").unwrap_or_default();
    let role = element.attr("role").unwrap_or_default();
    let role = role.strip_prefix("doc-").unwrap_or("");
    if let Some(cue) = matter::type_cue(types).or_else(|| matter::type_cue(role)) {
        // `frontmatter`/`bodymatter` on a body say where a page belongs,
        // not what it is; page-level types are judged by the caller.
        return Context::Cue(cue);
    }
    let id = element.id().unwrap_or_default().to_ascii_lowercase();
    let class = |c: &str| has_class(element, c);
    // AO3's download markup.
    if id == "preface" {
        return Context::Cue((MatterKind::Matter, "preface"));
    }
    if id == "afterword" {
        return Context::Cue((MatterKind::Matter, "afterword"));
    }
    if id.ends_with("endnotes") || class("endnotes") || class("end") && class("notes") {
        return Context::Cue((MatterKind::Notes, "end notes"));
    }
    if id == "feedback" || (name == "p" && class("message")) || class("kudos") {
        return Context::Cue((MatterKind::Matter, "site footer"));
    }
    if (name == "dl" && class("tags")) || class("tags") {
        return Context::Cue((MatterKind::Matter, "tags"));
    }
    if class("meta") {
        return Context::Meta;
    }
    if class("footnotes") || id == "footnotes" {
        return Context::Cue((MatterKind::Notes, "notes"));
    }
    if name == "nav" {
        return Context::Cue((MatterKind::Matter, "table of contents"));
    }
    Context::Plain
}

/// A footnote reference: `epub:type="noteref"`, pandoc's `footnote-ref`,
/// a back link, or a link or superscript whose text is just `1`, `[2]`, `*`.
fn is_note_reference(node: ego_tree::NodeRef<'_, Node>) -> bool {
    let Node::Element(element) = node.value() else {
        return false;
    };
    let name = element.name();
    let types = element.attr("epub:type").unwrap_or_default();
    let role = element.attr("role").unwrap_or_default();
    if types.split_whitespace().any(|t| t.ends_with("noteref"))
        || matches!(role, "doc-noteref" | "doc-backlink")
        || element
            .classes()
            .any(|c| matches!(c, "footnote-ref" | "footnote-back" | "noteref"))
    {
        return true;
    }
    let marker_like = || {
        let text = node_text(node);
        let text = text.trim_matches(|c| matches!(c, '[' | ']' | '(' | ')'));
        !text.is_empty()
            && text.chars().count() <= 4
            && (text.chars().all(|c| c.is_ascii_digit())
                || text.chars().all(|c| c == '*' || c == '†'))
    };
    match name {
        "a" => element.attr("href").is_some_and(|h| h.contains('#')) && marker_like(),
        "sup" => marker_like(),
        _ => false,
    }
}

/// Checks that an XHTML page is well-formed XML; the first error as
/// `line:column: message`.
pub fn xml_error(source: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(source);
    reader.config_mut().check_end_names = true;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return None,
            Ok(_) => {}
            Err(err) => {
                let at = (reader.error_position() as usize).min(source.len());
                let (line, column) = line_column(source, at);
                return Some(format!("{line}:{column}: {err}"));
            }
        }
    }
}

pub fn line_column(source: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// A single HTML file: AO3's download, a saved page, or any story page.
pub fn read_html(path: &Path, source: &str) -> Result<Book, IngestError> {
    let page = extract(source).map_err(|message| IngestError::Malformed {
        path: path.to_owned(),
        message,
    })?;
    let mut warnings = Vec::new();
    let looks_xhtml = source.trim_start().starts_with("<?xml");
    if looks_xhtml && let Some(error) = xml_error(source) {
        warnings.push(format!(
            "{}:{error}: malformed XHTML; read what could be read",
            path.display()
        ));
    }
    let mut book = assemble::single_page(path, page, "HTML file")?;
    book.warnings = warnings;
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(html: &str) -> Vec<(Option<u8>, String, Option<&'static str>)> {
        extract(html)
            .unwrap()
            .blocks
            .into_iter()
            .map(|b| (b.heading, b.text, b.cue.map(|c| c.1)))
            .collect()
    }

    #[test]
    fn paragraphs_headings_breaks_and_entities() {
        let html = "<html><head><title>T</title><style>p{}</style><script>x()</script></head><body>\
            <h1>Chapter&nbsp;One</h1><p>It  was\n dark &amp; <em>cold</em>.</p>\
            <p>Line one<br/>line two<br><br>New para</p>\
            <blockquote><p>A verse</p></blockquote><ul><li>first</li><li>second</li></ul>\
            <p>Said<a href=\"#fn1\" epub:type=\"noteref\">1</a> Ann<sup>2</sup>.</p></body></html>";
        assert_eq!(
            texts(html),
            [
                (Some(1), "Chapter\u{a0}One".to_owned(), None),
                (None, "It was dark & cold.".to_owned(), None),
                (None, "Line one\nline two".to_owned(), None),
                (None, "New para".to_owned(), None),
                (None, "A verse".to_owned(), None),
                (None, "first".to_owned(), None),
                (None, "second".to_owned(), None),
                (None, "Said Ann.".to_owned(), None),
            ]
        );
    }

    #[test]
    fn ao3_markup_is_matter_but_chapter_headings_are_not() {
        let html = r#"<body><div id="preface"><p class="message"><b>Title</b></p><h1>Title</h1>
            <div class="byline">by <a rel="author">Someone</a></div></div>
            <div id="chapters"><div class="meta group"><h2 class="heading">Chapter 1: Go</h2>
            <p>Chapter Notes</p><blockquote class="userstuff"><p>Hello readers</p></blockquote></div>
            <div class="userstuff"><p>Story.</p></div></div>
            <div id="afterword"><div id="endnotes"><p>End Notes</p></div>
            <p class="message" id="feedback">Please drop by</p></div></body>"#;
        let page = extract(html).unwrap();
        assert_eq!(page.author.as_deref(), Some("Someone"));
        let found: Vec<_> = page
            .blocks
            .iter()
            .map(|b| (b.text.as_str(), b.cue.map(|c| c.1)))
            .collect();
        assert_eq!(
            found,
            [
                ("Title", Some("site footer")),
                ("Title", Some("preface")),
                ("by Someone", Some("preface")),
                ("Chapter 1: Go", None),
                ("Chapter Notes", Some("author's note")),
                ("Hello readers", Some("author's note")),
                ("Story.", None),
                ("End Notes", Some("end notes")),
                ("Please drop by", Some("site footer")),
            ]
        );
    }

    #[test]
    fn deep_nesting_is_refused_and_tag_soup_is_not_deep() {
        let html = format!(
            "{}text{}",
            "<div>".repeat(200_000),
            "</div>".repeat(200_000)
        );
        let err = extract(&html).unwrap_err();
        assert!(err.starts_with("elements nested 200000 deep"), "{err}");
        let html = format!("{}text{}", "<span>".repeat(1_000), "</span>".repeat(1_000));
        assert_eq!(extract(&html).unwrap().blocks.len(), 1);
        let soup = "<p>one<p>two<br><li>three".repeat(10_000);
        assert_eq!(extract(&soup).unwrap().blocks.len(), 30_000);
    }

    #[test]
    fn xml_errors_have_positions() {
        assert_eq!(xml_error("<html><body><p>ok</p></body></html>"), None);
        let err = xml_error("<html>\n<body><p>bad</b></body></html>").unwrap();
        assert!(err.starts_with("2:"), "{err}");
    }
}
