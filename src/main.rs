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
use castbook::{cache, mix, script, segment, utter, worker};

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
        Plan::CacheStats { dir } => {
            print!("{}", cache::stats(&dir)?.describe(&dir));
            Ok(())
        }
        Plan::CacheClear { dir } => {
            let removed = cache::clear(&dir)?;
            println!("removed {} from {}", removed.summary(), dir.display());
            Ok(())
        }
        Plan::Worker { cache, onnxruntime } => Ok(worker::run_on_stdio(&cache, onnxruntime)?),
    }
}

fn render(plan: RenderPlan) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (book, voices, attributed) = read_and_tag(&plan.story, plan.voices.as_deref())?;
    let title = book.title.clone();
    if plan.verbose {
        eprintln!(
            "castbook: {}: decoded as {}",
            plan.story.display(),
            book.encoding
        );
    }
    let mut engines = Engines::new().with_piper(voices.piper_settings());
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
    let mut chapters = utter::utterances(&book, &attributed, &cast, &utter::Pauses::default());
    if let Some(selection) = &plan.chapters {
        chapters.retain(|c| selection.contains(c.index));
        if chapters.is_empty() {
            return Err(InputError(anyhow::anyhow!(
                "--chapters {}: no such chapter; {} has chapters 1-{}",
                selection.text,
                plan.story.display(),
                book.chapters.len()
            ))
            .into());
        }
    }
    let out = plan
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(ingest::slug(&book.title)));
    let options = mix::RenderOptions {
        cache_dir: plan.cache.unwrap_or_else(|| mix::default_cache_dir(&out)),
        out_dir: out,
        jobs: plan.jobs,
        worker: Some(worker::WorkerSpec {
            program: std::env::current_exe().context("finding the castbook binary for workers")?,
            args: worker_args(),
        }),
        chapters_in_book: book.chapters.len(),
    };
    drop((attributed, book));
    let total: usize = chapters.iter().map(|c| c.utterances.len()).sum();
    let progress = progress_bar(total as u64, plan.show_progress);
    let manifest = mix::render_book(&title, &chapters, &mut engines, &options, &progress)?;
    progress.finish_and_clear();
    let seconds: f64 = manifest.chapters.iter().map(|c| c.duration_s).sum();
    let wall = started.elapsed().as_secs_f64();
    let stats = manifest.stats;
    eprintln!(
        "castbook: wrote {} chapter(s), {:.1} min of audio, to {}",
        manifest.chapters.len(),
        seconds / 60.0,
        options.out_dir.display()
    );
    eprintln!(
        "castbook: {} segments: {} synthesised, {} reused; {} of audio in {:.1} s (real-time factor {:.4})",
        stats.segments,
        stats.synthesised,
        stats.reused,
        hms(seconds),
        wall,
        if seconds > 0.0 { wall / seconds } else { 0.0 }
    );
    Ok(())
}

fn hms(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `castbook __worker` arguments: workers load the ONNX Runtime library
/// this process found (if a Piper voice made it look).
fn worker_args() -> Vec<std::ffi::OsString> {
    let mut args = vec!["__worker".into()];
    if let Some(library) = castbook::synth::piper::loaded_onnxruntime() {
        args.extend(["--onnxruntime".into(), library.into_os_string()]);
    }
    args
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
