//! Books as people have them: EPUB 2/3 made by pandoc, AO3-style EPUB and
//! HTML downloads, Markdown, fan-fiction text exports, and broken EPUBs.
//! The fixtures and the commands that made them are in tests/fixtures.

use std::io::Write;
use std::path::Path;

use crate::{Test, shared_text};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Renders `name` and returns the manifest.
fn render(name: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["render", name, "-o", "out", "--quiet"];
    args.extend_from_slice(extra);
    let outcome = Test::new().file(name, fixture(name)).args(&args).succeeds();
    serde_json::from_slice(&outcome.read("out/manifest.json")).unwrap()
}

fn titles(manifest: &serde_json::Value) -> Vec<String> {
    manifest["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Everything the render says, in order.
fn spoken(manifest: &serde_json::Value) -> String {
    let mut out = String::new();
    for chapter in manifest["chapters"].as_array().unwrap() {
        for segment in chapter["segments"].as_array().unwrap() {
            out.push_str(segment["text"].as_str().unwrap());
            out.push('\n');
        }
    }
    out
}

fn assert_never_read(said: &str, phrases: &[&str]) {
    for phrase in phrases {
        assert!(!said.contains(phrase), "{phrase:?} was read:\n{said}");
    }
}

#[test]
fn pandoc_epub3_renders_its_chapters_without_front_matter() {
    let manifest = render("glass-orchard-epub3.epub", &[]);
    assert_eq!(
        titles(&manifest),
        ["The Letter", "The Orchard", "The Return"]
    );
    assert_eq!(manifest["chapters_in_book"], 3);
    assert_eq!(manifest["title"], "The Glass Orchard");
    let said = spoken(&manifest);
    assert!(
        said.starts_with("The Glass Orchard by Mara Quill The Letter\nWren found the letter"),
        "{said}"
    );
    assert!(said.contains("said Tobias from the stove."), "{said}");
    // Title page, copyright line, footnote text and footnote marker.
    assert_never_read(
        &said,
        &["Copyright", "Tobias was lying", "stove.1", "stove. 1"],
    );
}

#[test]
fn pandoc_epub2_renders_its_chapters_without_front_matter() {
    let manifest = render("glass-orchard-epub2.epub", &[]);
    assert_eq!(
        titles(&manifest),
        ["The Letter", "The Orchard", "The Return"]
    );
    let said = spoken(&manifest);
    assert!(
        said.starts_with("The Glass Orchard by Mara Quill"),
        "{said}"
    );
    assert!(said.contains("We go home now"), "{said}");
    assert_never_read(&said, &["Copyright", "Tobias was lying"]);
}

const AO3_MATTER: [&str; 9] = [
    "Rating",
    "General Audiences",
    "Summary",
    "Two lamplighters",
    "prompt exchange",
    "This one is short",
    "More soon",
    "Thank you for reading",
    "Posted originally",
];

#[test]
fn ao3_style_epub_renders_the_story_only() {
    let manifest = render("ao3-style.epub", &[]);
    assert_eq!(
        titles(&manifest),
        ["Chapter 1: The Bet", "Chapter 2: The River"]
    );
    let said = spoken(&manifest);
    assert!(
        said.starts_with("Lanterns Over Harrow Bridge by quietmoth Chapter 1: The Bet\n"),
        "{said}"
    );
    assert!(said.contains("Ila laughed and gave him both."), "{said}");
    assert_never_read(&said, &AO3_MATTER);
    assert_never_read(&said, &["drop by the Archive"]);
}

fn script_text(name: &str, extra: &[&str]) -> String {
    let mut args = vec!["script", name, "--format", "text"];
    args.extend_from_slice(extra);
    Test::new()
        .file(name, fixture(name))
        .args(&args)
        .succeeds()
        .stdout
}

/// The lines of a text script that are read (not comments).
fn read_lines(script: &str) -> String {
    script
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn ao3_style_html_shows_skipped_matter_as_comments() {
    let script = script_text("ao3-style.html", &[]);
    assert!(
        script.contains("# chapter: Chapter 1: The Bet\n"),
        "{script}"
    );
    assert!(
        script.contains("# chapter: Chapter 2: The River\n"),
        "{script}"
    );
    assert!(script.contains("# [tags] | Rating:"), "{script}");
    assert!(
        script.contains("# [summary] | Two lamplighters"),
        "{script}"
    );
    assert!(
        script.contains("# [site footer] | Please drop by the Archive"),
        "{script}"
    );
    assert_never_read(&read_lines(&script), &AO3_MATTER);

    let notes = read_lines(&script_text("ao3-style.html", &["--notes", "read"]));
    assert!(notes.contains("| Two lamplighters"), "{notes}");
    assert!(notes.contains("| This one is short"), "{notes}");
    assert_never_read(&notes, &["Rating", "Posted originally"]);

    let cast = Test::new()
        .file("ao3-style.html", fixture("ao3-style.html"))
        .args(&["cast", "ao3-style.html"])
        .succeeds()
        .stdout;
    assert!(
        cast.contains("\n# skipped: tags (read with --matter keep)\n"),
        "{cast}"
    );
    assert!(
        cast.contains("\n# skipped: summary (read with --notes read)\n"),
        "{cast}"
    );

    let everything = read_lines(&script_text(
        "ao3-style.html",
        &["--matter", "keep", "--notes", "read"],
    ));
    for phrase in AO3_MATTER {
        assert!(everything.contains(phrase), "{phrase}: {everything}");
    }
}

#[test]
fn an_edited_epub_script_keeps_its_chapters() {
    let outcome = Test::new()
        .file("b.epub", fixture("glass-orchard-epub3.epub"))
        .args(&["script", "b.epub", "--format", "text", "-o", "b.script"])
        .succeeds()
        .then()
        .args(&["script", "b.script", "--format", "text"])
        .succeeds();
    let again = outcome.stdout.clone();
    let original = String::from_utf8(outcome.read("b.script")).unwrap();
    assert_eq!(read_lines(&again), read_lines(&original));
    for title in ["The Letter", "The Orchard", "The Return"] {
        assert!(again.contains(&format!("# chapter: {title}\n")), "{again}");
    }
    assert!(again.contains("# author: Mara Quill"), "{again}");
}

#[test]
fn markdown_story_has_chapters_and_no_markup_read() {
    let story = "---\ntitle: Two Rooms\nauthor: Sam Reed\n---\n\n# One\n\n\"Hello,\" said *Ann*.\n\n# Two\n\n**Bob** left.\n";
    let script = Test::new()
        .file("rooms.md", story)
        .args(&["script", "rooms.md", "--format", "text"])
        .succeeds()
        .stdout;
    let lines = read_lines(&script);
    assert!(
        lines.contains("= Two Rooms\\nby Sam Reed\\n\\nOne\\n\\n"),
        "{lines}"
    );
    assert!(lines.contains("said Ann."), "{lines}");
    assert!(lines.contains("| Bob left."), "{lines}");
    assert!(script.contains("# chapter: Two\n"), "{script}");
}

#[test]
fn fan_fiction_text_export_starts_at_the_story() {
    let Some(path) = shared_text() else { return };
    let story = std::fs::read_to_string(path).unwrap();
    let outcome = Test::new()
        .story(&story)
        .args(&["script", "story.txt"])
        .succeeds();
    let lines: Vec<serde_json::Value> = outcome
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The JSON lines still cover the whole text, offsets unchanged.
    let joined: String = lines.iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(joined, story);
    let read: Vec<&str> = lines
        .iter()
        .filter(|l| l.get("skipped").is_none())
        .map(|l| l["text"].as_str().unwrap().trim())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(read[0], "Second Chances And New Beginnings");
    assert!(
        read[1].starts_with("“Yo, I just wanna sleep"),
        "{:?}",
        &read[..3]
    );
    let last = read.last().unwrap();
    assert_eq!(*last, "The End?");
    let mut skipped: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.get("skipped").and_then(|s| s.as_str()))
        .collect();
    skipped.dedup();
    assert_eq!(
        skipped,
        ["summary", "disclaimer", "author's note", "site footer"]
    );
    let script = Test::new()
        .story(&story)
        .args(&["script", "story.txt", "--format", "text"])
        .succeeds()
        .stdout;
    assert!(
        script.contains("# [summary] | Summary: Lex gets a call"),
        "{script}"
    );
    assert!(
        script.contains("# [site footer] | You have reached the end of"),
        "{script}"
    );
}

/// A zip with these files, stored, in this order.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

const CONTAINER: &str = r#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;

fn opf(spine_href: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tiny</dc:title></metadata><manifest><item id="c1" href="{spine_href}" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>"#
    )
}

fn tiny_epub(page_name: &str, href: &str, page: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let package = opf(href);
    let mut files: Vec<(&str, &[u8])> = vec![
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/content.opf", package.as_bytes()),
        (page_name, page.as_bytes()),
    ];
    files.extend_from_slice(extra);
    zip_of(&files)
}

const PAGE: &str = "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><h1>One</h1><p>\"Hi,\" said Ann.</p></body></html>";

fn script_error(epub: Vec<u8>) -> String {
    Test::new()
        .file("bad.epub", epub)
        .args(&["script", "bad.epub"])
        .fails(2)
        .stderr_redacted()
}

#[test]
fn a_small_valid_epub_reads() {
    let out = Test::new()
        .file(
            "ok.epub",
            tiny_epub("OEBPS/c1.xhtml", "c1.xhtml", PAGE, &[]),
        )
        .args(&["script", "ok.epub", "--format", "text"])
        .succeeds()
        .stdout;
    assert!(out.contains("@Ann: \"Hi,\""), "{out}");
}

#[test]
fn drm_protected_epub_is_refused() {
    let encryption = br#"<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><enc:CipherData><enc:CipherReference URI="OEBPS/c1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>"#;
    let err = script_error(tiny_epub(
        "OEBPS/c1.xhtml",
        "c1.xhtml",
        PAGE,
        &[("META-INF/encryption.xml", encryption)],
    ));
    insta::assert_snapshot!(err, @"castbook: error: bad.epub: the book is DRM-protected (META-INF/encryption.xml encrypts OEBPS/c1.xhtml); castbook cannot read encrypted books: use a DRM-free copy");
}

#[test]
fn obfuscated_fonts_are_not_drm() {
    let encryption = br#"<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/><enc:CipherData><enc:CipherReference URI="OEBPS/font.otf"/></enc:CipherData></enc:EncryptedData></encryption>"#;
    Test::new()
        .file(
            "ok.epub",
            tiny_epub(
                "OEBPS/c1.xhtml",
                "c1.xhtml",
                PAGE,
                &[("META-INF/encryption.xml", encryption)],
            ),
        )
        .args(&["script", "ok.epub"])
        .succeeds();
}

#[test]
fn a_path_escaping_the_archive_is_refused() {
    let err = script_error(tiny_epub(
        "OEBPS/c1.xhtml",
        "../../../etc/passwd",
        PAGE,
        &[],
    ));
    insta::assert_snapshot!(err, @r#"castbook: error: bad.epub: "../../../etc/passwd" in OEBPS/content.opf points outside the archive; expected a path inside the EPUB"#);
}

#[test]
fn a_missing_spine_page_is_named() {
    let err = script_error(tiny_epub("OEBPS/other.xhtml", "c1.xhtml", PAGE, &[]));
    insta::assert_snapshot!(err, @"castbook: error: bad.epub: OEBPS/c1.xhtml: listed in OEBPS/content.opf but missing from the archive");
}

#[test]
fn malformed_xhtml_is_read_with_a_warning() {
    let page = "<html><body><h1>One</h1><p>\"Hi,\" said <b>Ann.</p><p>Then she left.</body></html>";
    let outcome = Test::new()
        .file(
            "soup.epub",
            tiny_epub("OEBPS/c1.xhtml", "c1.xhtml", page, &[]),
        )
        .args(&["script", "soup.epub", "--format", "text"])
        .succeeds();
    assert!(
        outcome.stdout.contains("| Then she left."),
        "{}",
        outcome.stdout
    );
    let warning = outcome.stderr.trim();
    assert!(
        warning.starts_with("castbook: warning: soup.epub: OEBPS/c1.xhtml:1:")
            && warning.ends_with("malformed XHTML; read what could be read"),
        "{warning}"
    );
}

#[test]
fn a_zip_that_is_not_an_epub_and_a_file_that_is_not_a_zip() {
    let err = script_error(zip_of(&[("notes.txt", b"hello")]));
    insta::assert_snapshot!(err, @"castbook: error: bad.epub: a zip archive but not an EPUB: it has no META-INF/container.xml and no .opf package file");
    let err = script_error(b"just some text, named .epub".to_vec());
    let err = err.trim_end();
    assert!(
        err.starts_with("castbook: error: bad.epub: not a readable zip archive (")
            && err.ends_with("); expected an EPUB"),
        "{err}"
    );
}

/// A raw deflate stream that inflates to `1 + 258 * repeats` zero bytes:
/// one fixed-Huffman block of a literal 0 and `repeats` copies of
/// <length 258, distance 1>, 13 bits each.
fn zeros_deflated(repeats: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        /// `count` bits of `value`, least significant first.
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.n;
            self.n += count;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, count: u32) {
            let reversed = (0..count).fold(0, |r, i| r | ((code >> i) & 1) << (count - 1 - i));
            self.put(reversed, count);
        }
    }
    let mut bits = Bits {
        out: Vec::with_capacity((repeats * 13 / 8 + 16) as usize),
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman
    bits.code(0x30, 8); // literal 0
    for _ in 0..repeats {
        bits.code(0b1100_0101, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
    }
    bits.code(0, 7); // end of block
    bits.put(0, 7);
    bits.out
}

/// A zip entry record (local header + data) and its central directory record.
fn raw_entry(
    name: &str,
    method: u16,
    crc: u32,
    data: &[u8],
    size: u64,
    offset: u32,
) -> (Vec<u8>, Vec<u8>) {
    let mut local = Vec::new();
    local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    local.extend_from_slice(&20u16.to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(&method.to_le_bytes());
    local.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&(data.len() as u32).to_le_bytes());
    local.extend_from_slice(&(size as u32).to_le_bytes());
    local.extend_from_slice(&(name.len() as u16).to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(name.as_bytes());
    local.extend_from_slice(data);
    let mut central = Vec::new();
    central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    central.extend_from_slice(&20u16.to_le_bytes());
    central.extend_from_slice(&20u16.to_le_bytes());
    central.extend_from_slice(&0u16.to_le_bytes());
    central.extend_from_slice(&method.to_le_bytes());
    central.extend_from_slice(&[0, 0, 0x21, 0]);
    central.extend_from_slice(&crc.to_le_bytes());
    central.extend_from_slice(&(data.len() as u32).to_le_bytes());
    central.extend_from_slice(&(size as u32).to_le_bytes());
    central.extend_from_slice(&(name.len() as u16).to_le_bytes());
    central.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
    central.extend_from_slice(&offset.to_le_bytes());
    central.extend_from_slice(name.as_bytes());
    (local, central)
}

/// An EPUB whose one page inflates to a gigabyte of zeros.
fn gigabyte_bomb() -> Vec<u8> {
    let package = opf("c1.xhtml");
    let stored: [(&str, &[u8]); 3] = [
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", CONTAINER.as_bytes()),
        ("OEBPS/content.opf", package.as_bytes()),
    ];
    let (mut body, mut directory) = (Vec::new(), Vec::new());
    for (name, data) in stored {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let (local, central) = raw_entry(
            name,
            0,
            crc.sum(),
            data,
            data.len() as u64,
            body.len() as u32,
        );
        body.extend(local);
        directory.extend(central);
    }
    let repeats = (1u64 << 30) / 258 + 1;
    let inflated = 1 + 258 * repeats;
    assert!(inflated > 1 << 30);
    let (local, central) = raw_entry(
        "OEBPS/c1.xhtml",
        8,
        0,
        &zeros_deflated(repeats),
        inflated,
        body.len() as u32,
    );
    body.extend(local);
    directory.extend(central);
    let directory_offset = body.len() as u32;
    let entries = 4u16;
    body.extend_from_slice(&directory);
    body.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&entries.to_le_bytes());
    body.extend_from_slice(&entries.to_le_bytes());
    body.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    body.extend_from_slice(&directory_offset.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body
}

#[test]
fn the_deflate_bomb_really_inflates_to_a_gigabyte() {
    // Checks the test's own bomb on a smaller size: every byte is a zero.
    use std::io::Read;
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(&zeros_deflated(1000)[..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated.len(), 1 + 258 * 1000);
    assert!(inflated.iter().all(|&b| b == 0));
}

#[test]
// The child is reaped by wait4 below, which also reports its peak memory.
#[allow(clippy::zombie_processes)]
fn a_one_gigabyte_zip_bomb_is_refused_in_bounded_memory() {
    let bomb = gigabyte_bomb();
    assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bomb.epub"), &bomb).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_castbook"))
        .current_dir(dir.path())
        .args(["script", "bomb.epub"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // wait4 gives this child's own peak memory, whatever else runs.
    let mut status = 0;
    // SAFETY: rusage is plain old data, for which all zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own unreaped child, and both pointers are to
    // live locals of the types wait4 writes.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    assert_eq!(libc::WEXITSTATUS(status), 2, "{stderr}");
    assert_eq!(
        stderr.trim(),
        "castbook: error: bomb.epub: OEBPS/c1.xhtml: inflates past 64 MB; refusing it as a possible zip bomb"
    );
    let peak_mb = usage.ru_maxrss / 1024;
    assert!(peak_mb < 300, "peak memory {peak_mb} MB");
}
