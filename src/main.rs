//! The `castbook` binary: parse the command line into a plan, then run the
//! pipeline stages in order. Exit codes: 2 for usage, input and config
//! errors, 1 for failures while rendering.

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use castbook::attribute::{self, Attributed};
use castbook::cast::{self, VoicesFile};
use castbook::ingest::{self, Book};
use castbook::synth::Engines;
use castbook::{mix, script, segment, utter};

use cli::{Plan, RenderPlan};

/// An error that is the user's input, not the run.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct InputError(anyhow::Error);

fn main() -> ExitCode {
    let plan = match cli::parse() {
        Ok(plan) => plan,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    match run(plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("castbook: error: {}", one_line(&err));
            ExitCode::from(if err.is::<InputError>() { 2 } else { 1 })
        }
    }
}

fn run(plan: Plan) -> anyhow::Result<()> {
    match plan {
        Plan::Script { story, voices } => {
            let (book, _, attributed) = read_and_tag(&story, voices.as_deref())?;
            let stdout = std::io::stdout();
            script::write_jsonl(&book, &attributed, &mut stdout.lock())
                .context("writing the script")
        }
        Plan::Render(plan) => render(plan),
    }
}

fn render(plan: RenderPlan) -> anyhow::Result<()> {
    let (book, voices, attributed) = read_and_tag(&plan.story, plan.voices.as_deref())?;
    if plan.verbose {
        eprintln!(
            "castbook: {}: decoded as {}",
            plan.story.display(),
            book.encoding
        );
    }
    let mut piper = voices.piper_settings();
    piper.sessions = plan.piper_sessions;
    let mut engines = Engines::new().with_piper(piper);
    voices
        .check_voices(&mut engines)
        .map_err(|e| InputError(e.into()))?;
    let cast = cast::cast(&attributed.characters, &voices).map_err(|e| InputError(e.into()))?;
    if plan.verbose {
        eprintln!("castbook: narrator: {}", cast.narrator.label());
        for (name, member) in &cast.characters {
            eprintln!("castbook: {name}: {}", member.voice.label());
        }
    }
    let chapters = utter::utterances(&book, &attributed, &cast, &utter::Pauses::default());
    let out = plan
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(ingest::slug(&book.title)));
    let total: usize = chapters.iter().map(|c| c.utterances.len()).sum();
    let progress = progress_bar(total as u64, plan.show_progress);
    let manifest = mix::render_book(&book.title, &chapters, &mut engines, &out, &progress)?;
    progress.finish_and_clear();
    let seconds: f64 = manifest.chapters.iter().map(|c| c.duration_s).sum();
    eprintln!(
        "castbook: wrote {} chapter(s), {:.1} min of audio, to {}",
        manifest.chapters.len(),
        seconds / 60.0,
        out.display()
    );
    Ok(())
}

/// ingest → segment → attribute, shared by `render` and `script`.
fn read_and_tag(
    story: &Path,
    voices: Option<&Path>,
) -> anyhow::Result<(Book, VoicesFile, Attributed)> {
    let voices = match voices {
        Some(path) => cast::load_voices_file(path).map_err(|e| InputError(e.into()))?,
        None => VoicesFile::default(),
    };
    let book = ingest::read_book(story).map_err(|e| InputError(e.into()))?;
    let segments = segment::segment_book(&book);
    let attributed = attribute::attribute(&book, segments, &cast::known_characters(&voices));
    Ok((book, voices, attributed))
}

fn progress_bar(total: u64, visible: bool) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} segments, ETA {eta}",
        )
        .expect("valid template"),
    );
    bar
}

/// Error chains on one line: "outer: inner: root".
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
