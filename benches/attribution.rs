//! Attribution speed on the largest dev novel (one thread).
//!
//! `cargo bench --bench attribution`. The eval kit is found at
//! `$CASTBOOK_SHARED` or `<repo>/../shared`; the bench prints the time per
//! run for segmenting plus attributing, and the target (under 1 s).

// A benchmark's report is its output, and nothing reads it through a pipe
// that could close early.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use castbook::{attribute, ingest, segment};

fn main() {
    let shared = std::env::var_os("CASTBOOK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dev = shared.join("eval/attribution/dev");
    let Ok(entries) = std::fs::read_dir(&dev) else {
        eprintln!(
            "attribution bench: no eval kit at {}; set CASTBOOK_SHARED",
            dev.display()
        );
        return;
    };
    let largest = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("text.txt"))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len()));
    let Some(path) = largest else {
        eprintln!("attribution bench: no stories under {}", dev.display());
        return;
    };
    let book = match ingest::read_book(&path) {
        Ok(book) => book,
        Err(err) => {
            eprintln!("attribution bench: {err}");
            return;
        }
    };
    let runs = 5;
    let mut best = f64::INFINITY;
    let mut quotes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let segments = segment::segment_book(&book);
        let attributed = attribute::attribute(&book, segments, &[]);
        let seconds = start.elapsed().as_secs_f64();
        best = best.min(seconds);
        quotes = attributed
            .segments
            .iter()
            .filter(|s| s.kind == segment::SegmentKind::Dialogue)
            .count();
    }
    println!(
        "attribution: {} ({} KiB, {quotes} quotes): best of {runs} runs {:.3} s (segment + attribute, one thread); target < 1 s: {:.1}% of budget",
        path.parent()
            .and_then(|p| p.file_name())
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        book.text.len() / 1024,
        best,
        best * 100.0
    );
}
