//! EPUB 2 and 3: the zip, the package (metadata, manifest, spine), the
//! table of contents (EPUB 3 nav document, else the EPUB 2 NCX), then each
//! spine page through the HTML reader (`ingest/html.rs`).
//!
//! An EPUB is untrusted input, so every read is bounded: each file inflates
//! to at most [`MAX_FILE_BYTES`] and the whole book to [`MAX_BOOK_BYTES`]
//! (zip bombs stop there, whatever the headers claim), paths are resolved
//! inside the archive and never touch the file system, and a broken file
//! gives a one-line [`EpubError`] naming it. A page that is not well-formed
//! XHTML is read as browsers read it, with a warning.
//!
//! Chapters follow the table of contents: a page it names starts a
//! chapter with that title, and an entry that points into the middle of a
//! page (`book.xhtml#ch3`) splits the page there. A page it doesn't name
//! continues the chapter before it (calibre splits long chapters into
//! several files), unless it opens with a heading of its own.

use std::collections::HashMap;
use std::path::Path;

use scraper::{Html, Selector};

mod archive;

use archive::{Archive, package_path, parent_of, resolve, strip_fragment};

use super::assemble::{self, Draft, Part};
use super::html::{self, Block};
use super::matter::{self, Cue};
use super::xml::Tree;
use super::{Book, Cover, IngestError, MatterKind, Metadata};

/// The most one file in the archive may inflate to.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// The most all the files read from one book may inflate to together.
pub const MAX_BOOK_BYTES: u64 = 256 << 20;
/// The largest cover image carried to the output.
const MAX_COVER_BYTES: u64 = 16 << 20;
/// More files than any book has.
pub(crate) const MAX_FILES: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum EpubError {
    #[error("not a readable zip archive ({0}); expected an EPUB")]
    NotZip(String),
    #[error(
        "a zip archive but not an EPUB: it has no META-INF/container.xml and no .opf package file"
    )]
    NotEpub,
    #[error("the archive lists {0} files; expected at most {MAX_FILES}")]
    TooManyFiles(usize),
    #[error(
        "the book is DRM-protected (META-INF/encryption.xml encrypts {0}); castbook cannot read encrypted books: use a DRM-free copy"
    )]
    Drm(String),
    #[error("{name}: inflates past {limit_mb} MB; refusing it as a possible zip bomb")]
    TooLarge { name: String, limit_mb: u64 },
    #[error(
        "{name}: the book's files inflate past {limit_mb} MB in all; refusing it as a possible zip bomb"
    )]
    BookTooLarge { name: String, limit_mb: u64 },
    #[error("{href:?} in {listed_in} points outside the archive; expected a path inside the EPUB")]
    Escapes { href: String, listed_in: String },
    #[error("{name}: listed in {listed_in} but missing from the archive")]
    Missing { name: String, listed_in: String },
    #[error("{name}: cannot read it from the archive: {message}")]
    Entry { name: String, message: String },
    #[error("{name}:{line}:{column}: {message}")]
    Xml {
        name: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{name}: {message}")]
    Invalid { name: String, message: String },
}

/// Reads an EPUB from its bytes.
pub fn read_epub(path: &Path, bytes: &[u8]) -> Result<Book, IngestError> {
    let mut warnings = Vec::new();
    let draft = read_draft(bytes, &mut warnings).map_err(|source| IngestError::Epub {
        path: path.to_owned(),
        source,
    })?;
    let mut book = assemble::build(path, draft, "EPUB")?;
    book.warnings = warnings
        .into_iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    Ok(book)
}

/// One manifest item.
#[derive(Debug, Clone)]
struct Item {
    path: String,
    media_type: String,
    properties: String,
}

/// A table-of-contents entry: the page, the fragment in it, the title.
#[derive(Debug, Clone)]
struct TocEntry {
    path: String,
    fragment: Option<String>,
    title: String,
}

fn read_draft(bytes: &[u8], warnings: &mut Vec<String>) -> Result<Draft, EpubError> {
    let mut archive = Archive::open(bytes)?;
    let opf_path = package_path(&mut archive)?;
    let package = archive.read_xml(&opf_path, "META-INF/container.xml")?;
    let base = parent_of(&opf_path);

    // Manifest.
    let mut items: HashMap<String, Item> = HashMap::new();
    if let Some(manifest) = package.first(None, "manifest") {
        for index in package.find(Some(manifest), "item") {
            let (Some(id), Some(href)) = (package.attr(index, "id"), package.attr(index, "href"))
            else {
                continue;
            };
            let Some(path) = resolve(&base, href, &opf_path)? else {
                continue;
            };
            items.insert(
                id.to_owned(),
                Item {
                    path,
                    media_type: package
                        .attr(index, "media-type")
                        .unwrap_or_default()
                        .to_owned(),
                    properties: package
                        .attr(index, "properties")
                        .unwrap_or_default()
                        .to_owned(),
                },
            );
        }
    }

    // Metadata.
    let metadata = package.first(None, "metadata");
    let text_of = |name: &str| -> Vec<String> {
        package
            .find(metadata, name)
            .map(|i| package.text(i))
            .filter(|t| !t.is_empty())
            .collect()
    };
    let title = text_of("title").into_iter().next().unwrap_or_default();
    let creators = text_of("creator");
    let author = match creators.len() {
        0 => None,
        1..=3 => Some(creators.join(" and ")),
        _ => Some(format!("{} and others", creators[0])),
    };
    let language = text_of("language").into_iter().next();
    let cover = read_cover(&mut archive, &package, &items, &opf_path, warnings);

    // Spine.
    let spine = package
        .first(None, "spine")
        .ok_or_else(|| EpubError::Invalid {
            name: opf_path.clone(),
            message: "the package has no <spine>; expected the reading order of the book"
                .to_owned(),
        })?;
    let mut pages = Vec::new();
    for index in package.find(Some(spine), "itemref") {
        let idref = package.attr(index, "idref").unwrap_or_default();
        if package.attr(index, "linear") == Some("no") {
            continue;
        }
        let item = items.get(idref).ok_or_else(|| EpubError::Invalid {
            name: opf_path.clone(),
            message: format!(
                "spine item {idref:?} is not in the manifest; expected an <item id={idref:?}>"
            ),
        })?;
        pages.push(item.path.clone());
    }
    if pages.is_empty() {
        return Err(EpubError::Invalid {
            name: opf_path,
            message: "the spine lists no pages; expected the book's chapters".to_owned(),
        });
    }

    // Table of contents and landmarks.
    let (toc, mut landmarks) =
        read_navigation(&mut archive, &package, &items, spine, &opf_path, warnings)?;
    if let Some(guide) = package.first(None, "guide") {
        for index in package.find(Some(guide), "reference") {
            if let (Some(kind), Some(href)) =
                (package.attr(index, "type"), package.attr(index, "href"))
                && let Ok(Some(path)) = resolve(&base, href, &opf_path)
            {
                let path = strip_fragment(&path).0;
                landmarks.entry(path).or_insert_with(|| kind.to_owned());
            }
        }
    }

    let parts = read_pages(&mut archive, &pages, &toc, &landmarks, &opf_path, warnings)?;
    Ok(Draft {
        title,
        meta: Metadata {
            author,
            language,
            cover,
        },
        parts,
    })
}

/// The cover image: EPUB 3's `cover-image` item, else EPUB 2's
/// `<meta name="cover">`. A cover that can't be read is warned about and
/// left out; the book is still read.
fn read_cover(
    archive: &mut Archive,
    package: &Tree,
    items: &HashMap<String, Item>,
    opf_path: &str,
    warnings: &mut Vec<String>,
) -> Option<Cover> {
    let by_property = items.values().find(|item| {
        item.properties
            .split_whitespace()
            .any(|p| p == "cover-image")
    });
    let by_meta = || {
        package
            .find(None, "meta")
            .find(|&i| package.attr(i, "name") == Some("cover"))
            .and_then(|i| package.attr(i, "content"))
            .and_then(|id| items.get(id))
    };
    let item = by_property.or_else(by_meta)?;
    if !item.media_type.starts_with("image/") {
        return None;
    }
    match archive.read(&item.path, opf_path, MAX_COVER_BYTES) {
        Ok(data) => Some(Cover {
            media_type: item.media_type.clone(),
            data,
        }),
        Err(err) => {
            warnings.push(format!("cover left out: {err}"));
            None
        }
    }
}

type Landmarks = HashMap<String, String>;

/// The table of contents (nav document, else NCX) and the landmarks.
fn read_navigation(
    archive: &mut Archive,
    package: &Tree,
    items: &HashMap<String, Item>,
    spine: usize,
    opf_path: &str,
    warnings: &mut Vec<String>,
) -> Result<(Vec<TocEntry>, Landmarks), EpubError> {
    let mut landmarks = Landmarks::new();
    let nav = items
        .values()
        .find(|item| item.properties.split_whitespace().any(|p| p == "nav"));
    if let Some(nav) = nav {
        let source = archive.read_text(&nav.path, opf_path)?;
        let base = parent_of(&nav.path);
        let document = Html::parse_document(&source);
        let navs = Selector::parse("nav").expect("selector");
        let links = Selector::parse("a[href]").expect("selector");
        let mut toc = Vec::new();
        for element in document.select(&navs) {
            let kind = element.value().attr("epub:type").unwrap_or_default();
            for link in element.select(&links) {
                let href = link.value().attr("href").unwrap_or_default();
                let Some(target) = resolve(&base, href, &nav.path)? else {
                    continue;
                };
                let (path, fragment) = strip_fragment(&target);
                if kind.split_whitespace().any(|k| k == "landmarks") {
                    if let Some(types) = link.value().attr("epub:type") {
                        landmarks.entry(path).or_insert_with(|| types.to_owned());
                    }
                } else if kind.split_whitespace().any(|k| k == "toc") {
                    let title = link.text().collect::<Vec<_>>().join(" ");
                    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                    toc.push(TocEntry {
                        path,
                        fragment,
                        title,
                    });
                }
            }
        }
        if !toc.is_empty() {
            return Ok((toc, landmarks));
        }
    }
    // EPUB 2: the NCX named by the spine, or any NCX item.
    let ncx = package
        .attr(spine, "toc")
        .and_then(|id| items.get(id))
        .or_else(|| {
            items
                .values()
                .find(|i| i.media_type == "application/x-dtbncx+xml")
        });
    let Some(ncx) = ncx else {
        return Ok((Vec::new(), landmarks));
    };
    let tree = match archive.read_xml(&ncx.path, opf_path) {
        Ok(tree) => tree,
        Err(err @ (EpubError::Xml { .. } | EpubError::Missing { .. })) => {
            warnings.push(format!("table of contents not used: {err}"));
            return Ok((Vec::new(), landmarks));
        }
        Err(err) => return Err(err),
    };
    let base = parent_of(&ncx.path);
    let mut toc = Vec::new();
    for point in tree.find(None, "navPoint") {
        let title = tree
            .first(Some(point), "navLabel")
            .map(|label| tree.text(label))
            .unwrap_or_default();
        let Some(src) = tree
            .first(Some(point), "content")
            .and_then(|c| tree.attr(c, "src"))
        else {
            continue;
        };
        if let Some(target) = resolve(&base, src, &ncx.path)? {
            let (path, fragment) = strip_fragment(&target);
            toc.push(TocEntry {
                path,
                fragment,
                title,
            });
        }
    }
    Ok((toc, landmarks))
}

/// Reads the spine pages and groups their blocks into chapters.
fn read_pages(
    archive: &mut Archive,
    pages: &[String],
    toc: &[TocEntry],
    landmarks: &Landmarks,
    opf_path: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Part>, EpubError> {
    let mut parts: Vec<Part> = Vec::new();
    for path in pages {
        let source = archive.read_text(path, opf_path)?;
        if let Some(error) = html::xml_error(&source) {
            warnings.push(format!(
                "{path}:{error}: malformed XHTML; read what could be read"
            ));
        }
        let page = html::extract(&source).map_err(|message| EpubError::Invalid {
            name: path.clone(),
            message,
        })?;
        let entries: Vec<&TocEntry> = toc.iter().filter(|e| &e.path == path).collect();
        let first_heading = page
            .blocks
            .iter()
            .find(|b| b.heading.is_some())
            .map(|b| b.text.clone());
        let page_title = entries
            .iter()
            .find(|e| e.fragment.is_none())
            .map(|e| e.title.clone());
        let cue = page_cue(
            path,
            &page,
            landmarks,
            entries.first().map(|e| e.title.as_str()),
            first_heading.as_deref(),
        );
        let opens_with_heading = page
            .blocks
            .first()
            .is_some_and(|b| b.heading.is_some() && b.cue.is_none());
        let continues = parts.last().is_some_and(|p| p.cue.is_none())
            && entries.is_empty()
            && cue.is_none()
            && !opens_with_heading;
        if !continues {
            parts.push(Part {
                title: page_title.clone(),
                cue,
                blocks: Vec::new(),
                page_title: page.title.clone(),
            });
        }
        // Entries that point into the page split it where their anchor is.
        let mut pending: Vec<&TocEntry> = entries
            .iter()
            .copied()
            .filter(|e| e.fragment.is_some())
            .collect();
        let start_blocks = parts.last().map_or(0, |p| p.blocks.len());
        for block in page.blocks {
            let hit = pending.iter().position(|entry| {
                entry
                    .fragment
                    .as_ref()
                    .is_some_and(|f| block.anchors.iter().any(|a| a == f))
            });
            if let Some(hit) = hit {
                let entry = pending.remove(hit);
                let current = parts.last_mut().expect("a part");
                if current.blocks.len() == start_blocks && !continues {
                    // The page's own start: the entry titles the page.
                    if current.title.is_none() {
                        current.title = Some(entry.title.clone());
                    }
                } else {
                    parts.push(Part {
                        title: Some(entry.title.clone()),
                        cue,
                        blocks: Vec::new(),
                        page_title: None,
                    });
                }
            }
            parts
                .last_mut()
                .expect("a part")
                .blocks
                .push(block_with(block, cue));
        }
        // Entries whose anchor held no text (or was not found) still name the page.
        if let Some(part) = parts.last_mut()
            && part.title.is_none()
            && let Some(entry) = pending.first()
        {
            part.title = Some(entry.title.clone());
        }
    }
    // A part whose every block is matter is matter as a whole.
    for part in &mut parts {
        if part.cue.is_none()
            && !part.blocks.is_empty()
            && part.blocks.iter().all(|b| b.cue.is_some())
        {
            part.cue = part.blocks[0].cue;
        }
    }
    Ok(parts)
}

fn block_with(mut block: Block, page_cue: Option<Cue>) -> Block {
    if block.cue.is_none() {
        block.cue = page_cue;
    }
    block
}

/// Whether a whole page is matter: its landmark or guide type, its
/// `epub:type`, its file name, or its title or first heading.
fn page_cue(
    path: &str,
    page: &html::Page,
    landmarks: &Landmarks,
    toc_title: Option<&str>,
    first_heading: Option<&str>,
) -> Option<Cue> {
    if let Some(types) = landmarks.get(path) {
        let types = types.to_ascii_lowercase();
        if types
            .split_whitespace()
            .any(|t| matches!(t, "bodymatter" | "text" | "start"))
        {
            return None;
        }
        if let Some(cue) = matter::type_cue(&types) {
            return Some(cue);
        }
    }
    if let Some(cue) = matter::type_cue(&page.body_types) {
        return Some(cue);
    }
    if let Some(cue) = matter::file_cue(path) {
        return Some(cue);
    }
    let named = toc_title.or(first_heading).or(page.title.as_deref());
    if let Some(cue) = named.and_then(matter::heading_cue) {
        return Some(cue);
    }
    let types = page.body_types.to_ascii_lowercase();
    let story_named = named.is_some_and(|n| {
        let n = n.to_lowercase();
        [
            "prologue",
            "foreword",
            "preface",
            "introduction",
            "chapter",
            "part ",
            "book ",
            "epigraph",
        ]
        .iter()
        .any(|w| n.starts_with(w))
    });
    if types.split_whitespace().any(|t| t == "frontmatter") && !story_named {
        return Some((MatterKind::Matter, "front matter"));
    }
    if types.split_whitespace().any(|t| t == "backmatter") && !story_named {
        return Some((MatterKind::Matter, "back matter"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_archive() {
        assert_eq!(
            resolve("OEBPS/", "text/ch1.xhtml", "p").unwrap().as_deref(),
            Some("OEBPS/text/ch1.xhtml")
        );
        assert_eq!(
            resolve("OEBPS/text/", "../img/a%20b.jpg", "p")
                .unwrap()
                .as_deref(),
            Some("OEBPS/img/a b.jpg")
        );
        assert_eq!(
            resolve("OEBPS/", "ch1.xhtml#s2", "p").unwrap().as_deref(),
            Some("OEBPS/ch1.xhtml#s2")
        );
        assert_eq!(
            resolve("OEBPS/", "http://example.org/x", "p").unwrap(),
            None
        );
        assert!(matches!(
            resolve("OEBPS/", "../../etc/passwd", "p"),
            Err(EpubError::Escapes { .. })
        ));
    }
}
