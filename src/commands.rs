//! The commands behind the `castbook` binary: each takes the resolved plan
//! from `cli` and runs the library's pipeline stages in order
//! (ingest → segment → attribute → cast → utter → synth/mix).

use std::path::{Path, PathBuf};

use anyhow::Context;
use castbook::attribute::{self, Attributed};
use castbook::cast::{self, VoicesFile};
use castbook::ingest::{self, Book};
use castbook::synth::{EngineKind, Engines};
use castbook::{cache, mix, script, segment, utter, worker};

use crate::cli::{Plan, RenderPlan, ScriptFormat};

/// An error that is the user's input, not the run.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InputError(anyhow::Error);

pub fn run(plan: Plan) -> anyhow::Result<()> {
    match plan {
        Plan::Script {
            story,
            voices,
            format,
            out,
            explain,
        } => {
            let (book, file, attributed) = read_and_tag(&story, voices.as_deref())?;
            let explanations = if explain {
                if script::read_if_script(&story).is_ok_and(|s| s.is_some()) {
                    return Err(InputError(anyhow::anyhow!(
                        "{}: --explain needs a story; a script's speakers were not chosen by attribution",
                        story.display()
                    ))
                    .into());
                }
                let known = cast::known_characters(&file);
                let model = attribution_model()?;
                let model = model
                    .as_ref()
                    .unwrap_or_else(|| attribute::Model::embedded());
                attribute::explain(&book, &segment::segment_book(&book), &known, model)
            } else {
                Vec::new()
            };
            let write = |sink: &mut dyn std::io::Write| {
                match format {
                    _ if explain => {
                        script::write_explanations(&book, &explanations, &mut &mut *sink)?
                    }
                    ScriptFormat::Jsonl => {
                        script::write_jsonl(&book, &attributed, &mut &mut *sink)?
                    }
                    ScriptFormat::Text => script::write_text(&book, &attributed, &mut &mut *sink)?,
                }
                sink.flush()
            };
            match out {
                Some(path) => {
                    mix::write_atomically(&path, |file| write(&mut std::io::BufWriter::new(file)))?
                }
                None => write(&mut std::io::stdout().lock()).context("writing the script")?,
            }
            Ok(())
        }
        Plan::Render(plan) => render(plan),
        Plan::Cast {
            story,
            voices,
            write,
        } => cast_table(&story, voices, write),
        Plan::Voices { engine, voices } => list_voices(engine, voices.as_deref()),
        Plan::Say {
            text,
            voice,
            voices,
            out,
        } => say(&text, &voice, voices.as_deref(), &out),
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

/// `castbook cast`: the table on stdout; with `--write`, new characters
/// added to voices.toml.
fn cast_table(story: &Path, voices: Option<PathBuf>, write: Option<PathBuf>) -> anyhow::Result<()> {
    // A cast file that --write is about to create is not an error.
    let voices = voices.filter(|path| write.as_deref() != Some(path.as_path()) || path.exists());
    let is_script = matches!(script::read_if_script(story), Ok(Some(_)));
    let (book, file, attributed) = read_and_tag(story, voices.as_deref())?;
    let input = |e: cast::ConfigError| InputError(e.into());
    file.check_voices(&mut Engines::new().with_piper(file.piper_settings()))
        .map_err(input)?;
    // With a cast file, attribution only uses its names: look again
    // without it for characters the file doesn't list yet.
    let mut characters = attributed.characters;
    let mut new = Vec::new();
    if !is_script && !file.characters.is_empty() {
        let found = attribute::attribute(&book, segment::segment_book(&book), &[]);
        let newcomers = cast::write::newcomers(&found.characters, &file, &characters);
        new = newcomers.iter().map(|c| c.name.clone()).collect();
        characters.extend(newcomers);
    }
    let cast = cast::cast(&characters, &file).map_err(input)?;
    print!(
        "{}",
        cast::write::table(&characters, &cast, file.narrator.is_some(), &new)
    );
    let Some(target) = write else {
        return Ok(());
    };
    let existing = match std::fs::read_to_string(&target) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(anyhow::Error::new(err).context(target.display().to_string())),
    };
    let (text, added) = cast::write::add_characters(existing.as_deref(), &file, &characters, &cast)
        .map_err(|e| InputError(anyhow::anyhow!("{}: {e}", target.display())))?;
    if existing.as_deref() != Some(text.as_str()) {
        mix::write_atomically(&target, |f| std::io::Write::write_all(f, text.as_bytes()))?;
    }
    eprintln!(
        "castbook: {}: {}",
        target.display(),
        if added.is_empty() {
            "no new characters".to_owned()
        } else {
            format!("added {}", added.join(", "))
        }
    );
    Ok(())
}

/// `castbook voices`: `ENGINE:ID  GENDER  DESCRIPTION`, one per line.
fn list_voices(only: Option<EngineKind>, voices: Option<&Path>) -> anyhow::Result<()> {
    let file = match voices {
        Some(path) => cast::load_voices_file(path).map_err(|e| InputError(e.into()))?,
        None => VoicesFile::default(),
    };
    let mut engines = Engines::new().with_piper(file.piper_settings());
    let mut rows = Vec::new();
    for kind in EngineKind::ALL {
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let listed = engines.get(kind).and_then(|engine| engine.voices());
        match listed {
            Ok(voices) => rows.extend(voices.into_iter().map(|v| {
                let gender = match v.gender {
                    Some(castbook::synth::Gender::Female) => "female",
                    Some(castbook::synth::Gender::Male) => "male",
                    _ => "-",
                };
                (format!("{kind}:{}", v.id), gender, v.description)
            })),
            // Asked for by name: its absence is the answer, and an error.
            Err(err) if only.is_some() => return Err(err.into()),
            Err(err) => eprintln!("castbook: {err}"),
        }
    }
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut stdout = std::io::stdout().lock();
    for (id, gender, description) in rows {
        let written = std::io::Write::write_fmt(
            &mut stdout,
            format_args!("{id:<width$}  {gender:<6}  {description}\n"),
        );
        match written {
            // `castbook voices | head` is a normal way to look.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
    Ok(())
}

/// `castbook say`: one voice, one WAV, no playback.
fn say(text: &str, reference: &str, voices: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    if !text.chars().any(char::is_alphanumeric) {
        return Err(InputError(anyhow::anyhow!(
            "nothing to say in {text:?}; expected some words"
        ))
        .into());
    }
    let input = |e: cast::ConfigError| InputError(e.into());
    let file = match voices {
        Some(path) => cast::load_voices_file(path).map_err(input)?,
        None => VoicesFile::default(),
    };
    let voice = file.voice_for_say(reference).map_err(input)?;
    let mut engines = Engines::new().with_piper(file.piper_settings());
    engines
        .check_voice(&voice)
        .map_err(|e| InputError(e.into()))?;
    let lexicon = cast::Lexicon::new(&file.lexicon().map_err(input)?);
    let clip = engines.synthesize(&lexicon.apply(text, voice.engine), &voice)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    mix::write_clip(out, &clip, voice.volume)?;
    eprintln!(
        "castbook: wrote {:.1} s of {} to {}",
        clip.duration_s(),
        voice.label(),
        out.display()
    );
    Ok(())
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
    drop(chapters);
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

/// ingest → segment → attribute, shared by `render`, `script` and `cast`;
/// an editable script (see `script::HEADER`) stands in for all three.
fn read_and_tag(
    story: &Path,
    voices: Option<&Path>,
) -> anyhow::Result<(Book, VoicesFile, Attributed)> {
    let voices = match voices {
        Some(path) => cast::load_voices_file(path).map_err(|e| InputError(e.into()))?,
        None => VoicesFile::default(),
    };
    // An edited script carries its own speakers: no attribution.
    if let Some(parsed) = script::read_if_script(story).map_err(|e| InputError(e.into()))? {
        let (book, attributed) = parsed.into_book(story, &cast::known_characters(&voices));
        return Ok((book, voices, attributed));
    }
    let book = ingest::read_book(story).map_err(|e| InputError(e.into()))?;
    let segments = segment::segment_book(&book);
    let known = cast::known_characters(&voices);
    let attributed = match attribution_model()? {
        Some(model) => attribute::attribute_with(&book, segments, &known, &model),
        None => attribute::attribute(&book, segments, &known),
    };
    Ok((book, voices, attributed))
}

/// A model other than the one compiled in, for evaluation only (a model
/// trained without the story being measured): the file named by
/// `CASTBOOK_ATTRIBUTION_MODEL`.
fn attribution_model() -> anyhow::Result<Option<attribute::Model>> {
    let Some(path) = std::env::var_os("CASTBOOK_ATTRIBUTION_MODEL") else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("CASTBOOK_ATTRIBUTION_MODEL: cannot read {}", path.display()))?;
    let model = attribute::Model::parse(&text)
        .map_err(|e| InputError(anyhow::anyhow!("{}: {e}", path.display())))?;
    Ok(Some(model))
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
