//! A small element tree over quick-xml, for the EPUB's own XML files
//! (container, package, NCX, encryption): names without prefixes, text
//! with entities resolved, elements in document order so that an element's
//! descendants are the slice after it. Built without recursion.

use quick_xml::XmlVersion;
use quick_xml::events::Event;

use super::html::line_column;

#[derive(Debug, Clone, Default)]
pub struct Element {
    /// Local name (`dc:title` → `title`).
    pub name: String,
    /// Attributes by local name, in order.
    pub attributes: Vec<(String, String)>,
    /// The text directly inside, concatenated.
    pub text: String,
    /// One past the index of the last descendant.
    pub end: usize,
}

#[derive(Debug, Default)]
pub struct Tree {
    pub elements: Vec<Element>,
}

/// Where and why a file is not well-formed XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// More elements than any real package or NCX has.
const MAX_ELEMENTS: usize = 2_000_000;

pub fn parse(source: &str) -> Result<Tree, XmlError> {
    let mut reader = quick_xml::Reader::from_str(source);
    reader.config_mut().check_end_names = true;
    let mut tree = Tree::default();
    let mut open: Vec<usize> = Vec::new();
    let fail = |reader: &quick_xml::Reader<&[u8]>, message: String| {
        let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
        let (line, column) = line_column(source, at.max(1) - 1);
        XmlError {
            line,
            column,
            message,
        }
    };
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => return Err(fail(&reader, err.to_string())),
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if tree.elements.len() >= MAX_ELEMENTS {
                    return Err(fail(&reader, "too many elements".to_owned()));
                }
                let name = local(start.name().as_ref());
                let mut attributes = Vec::new();
                for attribute in start.attributes().with_checks(false).flatten() {
                    let value = attribute
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|_| attribute.value.to_string());
                    attributes.push((local(attribute.key.as_ref()), value));
                }
                tree.elements.push(Element {
                    name,
                    attributes,
                    text: String::new(),
                    end: 0,
                });
                let index = tree.elements.len() - 1;
                if matches!(event, Event::Start(_)) {
                    open.push(index);
                } else {
                    tree.elements[index].end = index + 1;
                }
            }
            Event::End(_) => {
                if let Some(index) = open.pop() {
                    tree.elements[index].end = tree.elements.len();
                }
            }
            Event::Text(text) => {
                if let Some(&index) = open.last() {
                    let content = text.xml_content(XmlVersion::Implicit1_0);
                    tree.elements[index].text.push_str(&content);
                }
            }
            Event::CData(data) => {
                if let Some(&index) = open.last() {
                    tree.elements[index]
                        .text
                        .push_str(&data.xml_content(XmlVersion::Implicit1_0));
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(&index) = open.last() {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => {
                            let name: &str = &reference;
                            quick_xml::escape::resolve_predefined_entity(name)
                                .map(str::to_owned)
                                .unwrap_or_else(|| format!("&{name};"))
                        }
                    };
                    tree.elements[index].text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(&index) = open.last() {
        let name = tree.elements[index].name.clone();
        let (line, column) = line_column(source, source.len());
        return Err(XmlError {
            line,
            column,
            message: format!("<{name}> is never closed"),
        });
    }
    Ok(tree)
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

impl Tree {
    /// Indices of the elements named `name` inside element `within`
    /// (None: the whole document), in document order.
    pub fn find<'t>(
        &'t self,
        within: Option<usize>,
        name: &'t str,
    ) -> impl Iterator<Item = usize> + 't {
        let range = match within {
            Some(index) => index + 1..self.elements[index].end.max(index + 1),
            None => 0..self.elements.len(),
        };
        range.filter(move |&i| self.elements[i].name == name)
    }

    pub fn first(&self, within: Option<usize>, name: &str) -> Option<usize> {
        self.find(within, name).next()
    }

    pub fn attr(&self, index: usize, name: &str) -> Option<&str> {
        self.elements[index]
            .attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The element's text and its descendants', whitespace folded.
    pub fn text(&self, index: usize) -> String {
        let end = self.elements[index].end.max(index + 1);
        let joined: Vec<&str> = self.elements[index..end]
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        joined
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_attributes_text_and_entities() {
        let tree = parse(
            "<?xml version=\"1.0\"?><package xmlns:dc=\"x\"><metadata><dc:title>A &amp; B &#233;</dc:title><meta name=\"cover\" content=\"img\"/></metadata><spine><itemref idref=\"c1\"/></spine></package>",
        )
        .unwrap();
        let title = tree.first(None, "title").unwrap();
        assert_eq!(tree.text(title), "A & B é");
        let meta = tree.first(None, "meta").unwrap();
        assert_eq!(tree.attr(meta, "content"), Some("img"));
        let spine = tree.first(None, "spine").unwrap();
        assert_eq!(tree.find(Some(spine), "itemref").count(), 1);
        let metadata = tree.first(None, "metadata").unwrap();
        assert_eq!(tree.find(Some(metadata), "itemref").count(), 0);
    }

    #[test]
    fn errors_have_positions() {
        let err = parse("<a>\n<b></c></a>").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(parse("<a><b></b>").is_err());
    }
}
