//! The EPUB's zip archive, read as untrusted input: every file inflates
//! to a bounded size, paths resolve inside the archive (never on the file
//! system), DRM is refused, and the package file is found from
//! `META-INF/container.xml`.

use std::io::Read;

use super::{EpubError, MAX_BOOK_BYTES, MAX_FILE_BYTES, MAX_FILES};
use crate::ingest::xml::{self, Tree};

/// The zip, with a running total of what has been inflated.
pub(super) struct Archive<'a> {
    zip: zip::ZipArchive<std::io::Cursor<&'a [u8]>>,
    inflated: u64,
}

impl<'a> Archive<'a> {
    /// Opens the zip and refuses what castbook must not read: more files
    /// than any book has, and DRM.
    pub(super) fn open(bytes: &'a [u8]) -> Result<Archive<'a>, EpubError> {
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|err| EpubError::NotZip(err.to_string()))?;
        if zip.len() > MAX_FILES {
            return Err(EpubError::TooManyFiles(zip.len()));
        }
        let mut archive = Archive { zip, inflated: 0 };
        check_encryption(&mut archive)?;
        Ok(archive)
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// The name as stored, matching case-insensitively if it must.
    pub(super) fn stored_name(&self, name: &str) -> Option<String> {
        if self.has(name) {
            return Some(name.to_owned());
        }
        self.zip
            .file_names()
            .flatten()
            .find(|stored| stored.eq_ignore_ascii_case(name))
            .map(|stored| stored.into_owned())
    }

    /// Inflates one file, at most `limit` bytes of it.
    pub(super) fn read(
        &mut self,
        name: &str,
        listed_in: &str,
        limit: u64,
    ) -> Result<Vec<u8>, EpubError> {
        let stored = self.stored_name(name).ok_or_else(|| EpubError::Missing {
            name: name.to_owned(),
            listed_in: listed_in.to_owned(),
        })?;
        let entry_error = |message: String| EpubError::Entry {
            name: name.to_owned(),
            message,
        };
        let file = self
            .zip
            .by_name(&stored)
            .map_err(|err| entry_error(err.to_string()))?;
        let too_large = || EpubError::TooLarge {
            name: name.to_owned(),
            limit_mb: limit >> 20,
        };
        if file.size() > limit {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(file.size().min(limit) as usize);
        file.take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|err| entry_error(err.to_string()))?;
        if data.len() as u64 > limit {
            return Err(too_large());
        }
        self.inflated += data.len() as u64;
        if self.inflated > MAX_BOOK_BYTES {
            return Err(EpubError::BookTooLarge {
                name: name.to_owned(),
                limit_mb: MAX_BOOK_BYTES >> 20,
            });
        }
        Ok(data)
    }

    /// Inflates a text file and decodes it (UTF-8, or what its BOM says).
    pub(super) fn read_text(&mut self, name: &str, listed_in: &str) -> Result<String, EpubError> {
        let data = self.read(name, listed_in, MAX_FILE_BYTES)?;
        Ok(match encoding_rs::Encoding::for_bom(&data) {
            Some((encoding, bom)) => encoding
                .decode_without_bom_handling(&data[bom..])
                .0
                .into_owned(),
            None => String::from_utf8_lossy(&data).into_owned(),
        })
    }

    pub(super) fn read_xml(&mut self, name: &str, listed_in: &str) -> Result<Tree, EpubError> {
        let text = self.read_text(name, listed_in)?;
        xml::parse(&text).map_err(|err| EpubError::Xml {
            name: name.to_owned(),
            line: err.line,
            column: err.column,
            message: err.message,
        })
    }
}

/// Refuses DRM. `META-INF/encryption.xml` also lists fonts obfuscated by
/// the IDPF or Adobe algorithms, which hide nothing of the text.
fn check_encryption(archive: &mut Archive) -> Result<(), EpubError> {
    const FONT_OBFUSCATION: [&str; 2] = [
        "http://www.idpf.org/2008/embedding",
        "http://ns.adobe.com/pdf/enc#RC",
    ];
    let name = "META-INF/encryption.xml";
    if !archive.has(name) {
        return Ok(());
    }
    let tree = archive
        .read_xml(name, "the archive")
        .map_err(|_| EpubError::Drm("files it does not list readably".to_owned()))?;
    let mut encrypted = Vec::new();
    for data in tree.find(None, "EncryptedData") {
        let algorithm = tree
            .first(Some(data), "EncryptionMethod")
            .and_then(|m| tree.attr(m, "Algorithm"))
            .unwrap_or_default();
        let target = tree
            .first(Some(data), "CipherReference")
            .and_then(|r| tree.attr(r, "URI"))
            .unwrap_or("a file");
        if !FONT_OBFUSCATION.contains(&algorithm) {
            encrypted.push(target.to_owned());
        }
    }
    match encrypted.len() {
        0 => Ok(()),
        1 => Err(EpubError::Drm(encrypted.remove(0))),
        n => Err(EpubError::Drm(format!(
            "{} and {} other files",
            encrypted[0],
            n - 1
        ))),
    }
}

/// The package file named by `META-INF/container.xml`, or the only `.opf`.
pub(super) fn package_path(archive: &mut Archive) -> Result<String, EpubError> {
    let container = "META-INF/container.xml";
    if archive.stored_name(container).is_some() {
        let tree = archive.read_xml(container, "the archive")?;
        let path = tree
            .find(None, "rootfile")
            .find(|&i| {
                tree.attr(i, "media-type")
                    .is_none_or(|m| m == "application/oebps-package+xml")
            })
            .and_then(|i| tree.attr(i, "full-path"))
            .ok_or_else(|| EpubError::Invalid {
                name: container.to_owned(),
                message: "no <rootfile full-path=...>; expected the package file's path".to_owned(),
            })?;
        return match resolve("", path, container)? {
            Some(path) => Ok(path),
            None => Err(EpubError::Invalid {
                name: container.to_owned(),
                message: format!("rootfile {path:?} is not a path in the archive"),
            }),
        };
    }
    let mut packages = archive
        .zip
        .file_names()
        .flatten()
        .filter(|n| n.to_ascii_lowercase().ends_with(".opf"));
    match (packages.next(), packages.next()) {
        (Some(only), None) => Ok(only.into_owned()),
        _ => Err(EpubError::NotEpub),
    }
}

pub(super) fn parent_of(path: &str) -> String {
    match path.rfind('/') {
        Some(slash) => path[..=slash].to_owned(),
        None => String::new(),
    }
}

/// Resolves `href` against the folder `base`, inside the archive:
/// percent-decoded, `.` and `..` applied. None for links elsewhere
/// (`http:`, `mailto:`); an error for paths that climb out of the archive.
pub(super) fn resolve(
    base: &str,
    href: &str,
    listed_in: &str,
) -> Result<Option<String>, EpubError> {
    let href = href.trim();
    if href.contains("://") || href.starts_with("mailto:") || href.starts_with("data:") {
        return Ok(None);
    }
    let decoded = percent_decode(href);
    let (path, fragment) = strip_fragment(&decoded);
    let joined = if path.starts_with('/') {
        path.clone()
    } else {
        format!("{base}{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(EpubError::Escapes {
                        href: href.to_owned(),
                        listed_in: listed_in.to_owned(),
                    });
                }
            }
            part => parts.push(part),
        }
    }
    let mut resolved = parts.join("/");
    if let Some(fragment) = fragment {
        resolved.push('#');
        resolved.push_str(&fragment);
    }
    Ok(Some(resolved))
}

pub(super) fn strip_fragment(href: &str) -> (String, Option<String>) {
    match href.split_once('#') {
        Some((path, fragment)) => (path.to_owned(), Some(fragment.to_owned())),
        None => (href.to_owned(), None),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
