//! How well the studio's doubtful-line marks (`studio::confidence`) pick
//! out wrong speakers, on the evaluation kit's stories:
//!
//!     cargo run --release --example studio_confidence [DEV_DIR]
//!
//! DEV_DIR defaults to `$CASTBOOK_SHARED/eval/attribution/dev` (else
//! `../shared/...`). Each story is attributed end to end; each dialogue
//! line is matched to the gold quote holding its middle, and counted right
//! when its speaker is the gold speaker's name or one of its aliases
//! (ignoring case; this undercounts, as the kit's scorer maps names more
//! cleverly). Prints, per confidence level, how many lines have it and how
//! many of those are right.

use std::collections::BTreeMap;
use std::path::PathBuf;

use castbook::studio::confidence::{LOW, line_confidence};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CASTBOOK_SHARED")
                .map_or_else(|| PathBuf::from("../shared"), PathBuf::from)
                .join("eval/attribution/dev")
        });
    let mut stories: Vec<PathBuf> = std::fs::read_dir(&dev)
        .map_err(|e| format!("{}: {e}", dev.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("gold.jsonl").is_file())
        .collect();
    stories.sort();
    // Confidence (in hundredths; None: no speaker) → (lines, right).
    let mut levels: BTreeMap<Option<u32>, (usize, usize)> = BTreeMap::new();
    for story in &stories {
        let book = castbook::ingest::read_book(&story.join("text.txt"))?;
        let segments = castbook::segment::segment_book(&book);
        let attributed = castbook::attribute::attribute(&book, segments, &[]);
        let scores = line_confidence(&book, &attributed);
        let gold: Vec<serde_json::Value> = std::fs::read_to_string(story.join("gold.jsonl"))?
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        for (segment, score) in attributed.segments.iter().zip(&scores) {
            let Some(score) = score else { continue };
            let mut middle = (segment.range.start + segment.range.end) / 2;
            while !book.text.is_char_boundary(middle) {
                middle -= 1;
            }
            let middle = book.text[..middle].chars().count();
            let quote = gold.iter().find(|g| {
                let at = |key: &str| g[key].as_u64().unwrap_or(0) as usize;
                at("start") <= middle && middle < at("end")
            });
            let Some(quote) = quote else { continue };
            let names: Vec<String> = std::iter::once(&quote["speaker"])
                .chain(quote["aliases"].as_array().into_iter().flatten())
                .filter_map(|n| n.as_str().map(str::to_lowercase))
                .collect();
            let right = segment
                .speaker
                .as_ref()
                .is_some_and(|s| names.contains(&s.to_lowercase()));
            let level = segment
                .speaker
                .as_ref()
                .map(|_| (score * 100.0).round() as u32);
            let entry = levels.entry(level).or_default();
            entry.0 += 1;
            entry.1 += usize::from(right);
        }
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let total: usize = levels.values().map(|v| v.0).sum();
    writeln!(
        out,
        "{} stories, {total} dialogue lines matched to gold quotes",
        stories.len()
    )?;
    for (level, (lines, right)) in &levels {
        let name = level.map_or("no speaker".to_owned(), |l| {
            format!("{:.2}", f64::from(l) / 100.0)
        });
        let marked = level.is_none_or(|l| (l as f32) / 100.0 < LOW);
        writeln!(
            out,
            "{name:>10}{}  {lines:>6} lines ({:>4.1}%), {:.3} right",
            if marked { " (marked)" } else { "         " },
            100.0 * *lines as f64 / total.max(1) as f64,
            *right as f64 / (*lines).max(1) as f64
        )?;
    }
    Ok(())
}
