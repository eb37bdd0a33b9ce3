//! The one-way rule, checked: a module may use only modules listed below it
//! in the layer list of `lib.rs`'s docs.
//!
//! The test reads that list (so the docs can't drift from the rule) and
//! every `crate::` path in the library's source files, comments aside,
//! including `crate::{a, b::c}` groups, and fails on each path that points
//! at its own layer's peer or at a layer above.

use std::path::{Path, PathBuf};

/// Files of the binary, which sits above every layer.
const BINARY: [&str; 3] = ["main.rs", "cli.rs", "commands.rs"];

/// The module names of the layer list in `lib_rs`, top first.
fn layer_list(lib_rs: &str) -> Vec<String> {
    let docs: Vec<&str> = lib_rs
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let heading = docs
        .iter()
        .position(|line| line.starts_with("# Layers"))
        .expect("lib.rs docs have a `# Layers` section");
    let open = heading
        + docs[heading..]
            .iter()
            .position(|line| line.starts_with("```"))
            .expect("the layer list is a code block");
    docs[open + 1..]
        .iter()
        .take_while(|line| !line.starts_with("```"))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The top-level modules a file's code names through `crate::`.
fn crate_paths(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines() {
        let code = strip_comment(line);
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            // `castbook::crate::` can't happen; a preceding identifier
            // character means another word (`mycrate::`).
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                found.extend(group_heads(group));
            } else {
                found.push(identifier(rest).to_owned());
            }
        }
    }
    found.retain(|name| !name.is_empty());
    found
}

/// A line without its `//` comment (a `//` inside a string is kept).
fn strip_comment(line: &str) -> &str {
    let mut quotes = 0;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quotes += 1,
            b'/' if quotes % 2 == 0 && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first name of each item of a `{a, b::{c, d}, e}` group (given after
/// its opening brace).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if at_item_start && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                heads.push(identifier(&group[i..]).to_owned());
                at_item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Every import that breaks the rule, as "file: module -> used".
fn violations(layers: &[String], files: &[(String, String, String)]) -> Vec<String> {
    let rank = |name: &str| layers.iter().position(|l| l == name);
    let mut out = Vec::new();
    for (file, module, source) in files {
        let Some(own) = rank(module) else {
            out.push(format!(
                "{file}: module `{module}` is not in lib.rs's layer list"
            ));
            continue;
        };
        for used in crate_paths(source) {
            if used == *module {
                continue;
            }
            match rank(&used) {
                // Listed above it (a smaller index) or a peer: points up.
                Some(other) if other <= own => out.push(format!(
                    "{file}: `{module}` uses `crate::{used}`, which is not below it"
                )),
                Some(_) => {}
                None => out.push(format!(
                    "{file}: `crate::{used}` is not a module in lib.rs's layer list"
                )),
            }
        }
    }
    out
}

/// (file, top-level module, source) of every library file under `src`.
fn library_files(src: &Path) -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![src.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path: PathBuf = entry.expect("read src").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let top = relative
                .components()
                .next()
                .expect("a file")
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            if path.extension().is_none_or(|e| e != "rs")
                || BINARY.contains(&top.as_str())
                || top == "lib.rs"
                || top == "layers.rs"
            {
                continue;
            }
            let module = top.trim_end_matches(".rs").to_owned();
            let source = std::fs::read_to_string(&path).expect("read source");
            files.push((relative.display().to_string(), module, source));
        }
    }
    files.sort();
    files
}

#[test]
fn imports_point_down_the_layer_list() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layers = layer_list(&lib_rs);
    assert!(layers.len() > 5, "layer list: {layers:?}");
    let declared: Vec<&str> = lib_rs
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    let mut listed: Vec<&str> = layers.iter().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        declared, listed,
        "every `pub mod` is in the layer list once"
    );
    let files = library_files(&src);
    assert!(files.len() > 20, "{} files", files.len());
    let broken = violations(&layers, &files);
    assert!(
        broken.is_empty(),
        "imports that point up:\n{}",
        broken.join("\n")
    );
}

#[test]
fn an_upward_import_is_caught() {
    let layers: Vec<String> = ["render", "synth", "cache", "core"]
        .map(str::to_owned)
        .to_vec();
    let file =
        |module: &str, source: &str| (format!("{module}.rs"), module.to_owned(), source.to_owned());
    let ok = [
        file(
            "render",
            "use crate::{cache::{Key, X}, synth};\nuse crate::core::Voice;",
        ),
        file(
            "synth",
            "// see crate::render\nlet s = \"a // b\"; crate::core::nearest(s)",
        ),
        file("core", "use mycrate::render;"),
    ];
    assert_eq!(violations(&layers, &ok), Vec::<String>::new());
    let bad = [
        file("cache", "use crate::{core, render::Thing};"),
        file("cache", "let x = crate::synth::Engines::new();"),
        file("core", "fn f() -> crate::nowhere::T {}"),
        file("audio", ""),
    ];
    let found = violations(&layers, &bad);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        found[0].contains("`cache` uses `crate::render`"),
        "{}",
        found[0]
    );
    assert!(
        found[1].contains("`cache` uses `crate::synth`"),
        "{}",
        found[1]
    );
}
