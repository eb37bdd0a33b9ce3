//! The commands behind the `castbook` binary: each takes the resolved plan
//! from `cli` and runs the library's pipeline stages in order
//! (ingest → segment → attribute → cast → utter → synth → render).
//!
//! Command output goes through [`stdout`] and its errors are returned, never
//! printed with `print!` (which panics when the reader has gone); `main`
//! decides what an error means. Progress and summaries go to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use castbook::attribute::{self, Attributed};
use castbook::cast::{self, VoicesFile};
use castbook::core::{EngineKind, Gender};
use castbook::ingest::{self, Book, Reading};
use castbook::synth::Engines;
use castbook::{cache, fsio, render, script, segment, utter};

use castbook::render::output::encode::{self, AudioFormat};
use castbook::render::output::master;
use castbook::render::output::subtitles::{self, SubtitleFormat};

use crate::cli::{Plan, RenderPlan, ScriptFormat};

/// A mistake on the command line itself that no library stage reports
/// (`--chapters` past the end, `say` with no words): exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(String);

/// Standard output, locked and buffered; callers flush it, so that a write
/// error (such as the reader having gone) is theirs to return.
fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

pub fn run(plan: Plan) -> anyhow::Result<()> {
    match plan {
        Plan::Script {
            story,
            voices,
            reading,
            format,
            out,
            explain,
            attribution_model,
        } => {
            let model = load_model(attribution_model.as_deref())?;
            let (book, file, attributed) = read_and_tag(&story, voices.as_deref(), &model)?;
            let explanations = if explain {
                if script::read_if_script(&story).is_ok_and(|s| s.is_some()) {
                    return Err(InputError(format!(
                        "{}: --explain needs a story; a script's speakers were not chosen by attribution",
                        story.display()
                    ))
                    .into());
                }
                let known = cast::known_characters(&file);
                attribute::explain(&book, &segment::segment_book(&book), &known, model.get())
            } else {
                Vec::new()
            };
            let write = |sink: &mut dyn std::io::Write| {
                match format {
                    _ if explain => {
                        script::write_explanations(&book, &explanations, &mut &mut *sink)?
                    }
                    ScriptFormat::Jsonl => {
                        script::write_jsonl(&book, &attributed, reading, &mut &mut *sink)?
                    }
                    ScriptFormat::Text => {
                        script::write_text(&book, &attributed, reading, &mut &mut *sink)?
                    }
                }
                sink.flush()
            };
            match out {
                Some(path) => {
                    fsio::write_atomically(&path, |file| write(&mut std::io::BufWriter::new(file)))?
                }
                None => write(&mut stdout()).context("writing the script")?,
            }
            Ok(())
        }
        Plan::Render(plan) => render(plan),
        Plan::Check { dir } => check(&dir),
        Plan::Cast {
            story,
            voices,
            reading,
            write,
            attribution_model,
        } => cast_table(
            &story,
            voices,
            reading,
            write,
            &load_model(attribution_model.as_deref())?,
        ),
        Plan::Voices { engine, voices } => list_voices(engine, voices.as_deref()),
        Plan::Say {
            text,
            voice,
            voices,
            out,
        } => say(&text, &voice, voices.as_deref(), &out),
        Plan::CacheStats { dir } => {
            let mut out = stdout();
            out.write_all(cache::stats(&dir)?.describe(&dir).as_bytes())?;
            Ok(out.flush()?)
        }
        Plan::CacheClear { dir } => {
            let removed = cache::clear(&dir)?;
            let mut out = stdout();
            writeln!(out, "removed {} from {}", removed.summary(), dir.display())?;
            Ok(out.flush()?)
        }
        Plan::Studio(mut options) => {
            options.program =
                std::env::current_exe().context("finding the castbook binary for workers")?;
            castbook::studio::run(options).map_err(studio_error)
        }
        Plan::Worker { cache, onnxruntime } => {
            Ok(render::worker::run_on_stdio(&cache, onnxruntime)?)
        }
    }
}

/// A studio error as the causes `main` reads the exit status from: the
/// story, script or voices.toml the user gave (or the port they asked
/// for) is theirs to fix (2); the server failing while it runs is not (1).
fn studio_error(err: castbook::studio::StudioError) -> anyhow::Error {
    use castbook::studio::StudioError;
    use castbook::studio::doc::DocError;
    match err {
        StudioError::Doc(DocError::Script(err)) => err.into(),
        StudioError::Doc(DocError::Ingest(err)) => err.into(),
        StudioError::Doc(DocError::Config(err)) => err.into(),
        StudioError::Doc(DocError::NotAScript { .. } | DocError::Refused(_))
        | StudioError::Listen { .. } => InputError(err.to_string()).into(),
        err => err.into(),
    }
}

/// `castbook cast`: the table on stdout; with `--write`, new characters
/// added to voices.toml.
fn cast_table(
    story: &Path,
    voices: Option<PathBuf>,
    reading: Reading,
    write: Option<PathBuf>,
    model: &AttributionModel,
) -> anyhow::Result<()> {
    // A cast file that --write is about to create is not an error.
    let voices = voices.filter(|path| write.as_deref() != Some(path.as_path()) || path.exists());
    let is_script = matches!(script::read_if_script(story), Ok(Some(_)));
    let (book, file, attributed) = read_and_tag(story, voices.as_deref(), model)?;
    let mut engines = Engines::new().with_settings(file.engine_settings());
    file.check_voices(|voice| engines.check_voice(voice))?;
    // With a cast file, attribution only uses its names: look again
    // without it for characters the file doesn't list yet.
    let mut characters = attributed.characters;
    let mut new = Vec::new();
    if !is_script && !file.characters.is_empty() {
        let found =
            attribute::attribute_with(&book, segment::segment_book(&book), &[], model.get());
        let newcomers = cast::write::newcomers(&found.characters, &file, &characters);
        new = newcomers.iter().map(|c| c.name.clone()).collect();
        characters.extend(newcomers);
    }
    let cast = cast::cast(&characters, &file)?;
    let table = cast::write::table(&characters, &cast, file.narrator.is_some(), &new);
    let mut out = stdout();
    out.write_all(table.as_bytes())?;
    // What was left out, as comments after the table.
    for line in book.skipped_summary(reading) {
        writeln!(out, "# skipped: {line}")?;
    }
    out.flush()?;
    let Some(target) = write else {
        return Ok(());
    };
    let existing = match std::fs::read_to_string(&target) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(anyhow::Error::new(err).context(target.display().to_string())),
    };
    let (text, added) = cast::write::add_characters(existing.as_deref(), &file, &characters, &cast)
        .with_context(|| target.display().to_string())?;
    if existing.as_deref() != Some(text.as_str()) {
        fsio::write_atomically(&target, |f| std::io::Write::write_all(f, text.as_bytes()))?;
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
        Some(path) => cast::load_voices_file(path)?,
        None => VoicesFile::default(),
    };
    let mut engines = Engines::new().with_settings(file.engine_settings());
    let mut rows = Vec::new();
    for kind in EngineKind::ALL {
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let listed = engines.get(kind).and_then(|engine| engine.voices());
        match listed {
            Ok(voices) => rows.extend(voices.into_iter().map(|v| {
                let gender = match v.gender {
                    Some(Gender::Female) => "female",
                    Some(Gender::Male) => "male",
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
    let mut out = stdout();
    for (id, gender, description) in rows {
        writeln!(out, "{id:<width$}  {gender:<6}  {description}")?;
    }
    Ok(out.flush()?)
}

/// `castbook say`: one voice, one WAV, no playback.
fn say(text: &str, reference: &str, voices: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    if !text.chars().any(char::is_alphanumeric) {
        return Err(InputError(format!("nothing to say in {text:?}; expected some words")).into());
    }
    let file = match voices {
        Some(path) => cast::load_voices_file(path)?,
        None => VoicesFile::default(),
    };
    let voice = file.voice_for_say(reference)?;
    let mut engines = Engines::new().with_settings(file.engine_settings());
    engines.check_voice(&voice)?;
    let lexicon = cast::Lexicon::new(&file.lexicon()?);
    let clip = engines.synthesize(&lexicon.apply(text, voice.engine), &voice)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let seconds = clip.duration_s();
    render::output::wav::write_clip(out, clip, voice.volume)?;
    for note in engines.take_notes() {
        eprintln!("castbook: {note}");
    }
    eprintln!(
        "castbook: wrote {:.1} s of {} to {}",
        seconds,
        voice.label(),
        out.display()
    );
    Ok(())
}

fn render(plan: RenderPlan) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if plan.format != AudioFormat::Wav {
        encode::check_ffmpeg(plan.format)?;
    }
    let (book, voices, attributed) = read_and_tag(
        &plan.story,
        plan.voices.as_deref(),
        &load_model(plan.attribution_model.as_deref())?,
    )?;
    let title = book.title.clone();
    if plan.verbose {
        eprintln!(
            "castbook: {}: decoded as {}",
            plan.story.display(),
            book.encoding
        );
    }
    let mut engines = Engines::new().with_settings(voices.engine_settings());
    voices.check_voices(|voice| engines.check_voice(voice))?;
    let cast = cast::cast(&attributed.characters, &voices)?;
    if plan.verbose {
        if let Some(library) = castbook::synth::onnx::loaded_onnxruntime() {
            eprintln!("castbook: ONNX Runtime: {}", library.display());
        }
        eprintln!("castbook: narrator: {}", cast.narrator.label());
        for (name, member) in &cast.characters {
            eprintln!("castbook: {name}: {}", member.voice.label());
        }
    }
    let (mut chapters, attributed) = read_aloud(&book, attributed, &cast, plan.reading);
    for line in book.skipped_summary(plan.reading) {
        eprintln!("castbook: skipped {line}");
    }
    let read_chapters = chapters.len();
    if let Some(selection) = &plan.chapters {
        chapters.retain(|c| selection.contains(c.index));
        if chapters.is_empty() {
            return Err(InputError(format!(
                "--chapters {}: no such chapter; {} has chapters 1-{}",
                selection.text,
                plan.story.display(),
                read_chapters
            ))
            .into());
        }
    }
    let out = plan
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(ingest::slug(&book.title)));
    let options = render::RenderOptions {
        cache_dir: plan
            .cache
            .unwrap_or_else(|| render::default_cache_dir(&out)),
        out_dir: out,
        jobs: plan.jobs,
        worker: Some(render::worker::WorkerSpec {
            program: std::env::current_exe().context("finding the castbook binary for workers")?,
            args: worker_args(),
        }),
        chapters_in_book: read_chapters,
        master: plan.master,
        meta: render::BookMeta {
            author: book.meta.author.clone(),
            language: book.meta.language.clone(),
            cover: None,
        },
    };
    let mut options = options;
    if let Some(cover) = &book.meta.cover {
        options.meta.cover = Some(write_cover(&options.out_dir, cover)?);
    }
    drop((attributed, book));
    let total: usize = chapters.iter().map(|c| c.utterances.len()).sum();
    let progress = progress_bar(total as u64, plan.show_progress);
    let mut encoder = (plan.format != AudioFormat::Wav).then(|| {
        encode::Encoder::new(
            plan.format,
            &options.out_dir,
            encode::Tags {
                title: title.clone(),
                author: options.meta.author.clone(),
                cover: options.meta.cover.as_ref().map(|c| options.out_dir.join(c)),
                chapters_in_book: read_chapters,
            },
        )
    });
    let manifest = render::render_book_with(
        &title,
        &chapters,
        &mut engines,
        &options,
        &progress,
        &mut |entry| match &mut encoder {
            Some(encoder) => Ok(encoder.chapter(entry)?),
            None => Ok(()),
        },
    )?;
    drop(chapters);
    progress.finish_and_clear();
    // Workers report their own notes as they finish.
    for note in engines.take_notes() {
        eprintln!("castbook: {note}");
    }
    if let Some(encoder) = encoder {
        let made = encoder.finish()?;
        let fresh = made.iter().filter(|e| !e.kept).count();
        eprintln!(
            "castbook: {}: {} file(s) encoded, {} already up to date",
            plan.format.extension(),
            fresh,
            made.len() - fresh
        );
    }
    if let Some(format) = plan.subtitles {
        let written = write_subtitles(
            &options.out_dir,
            format,
            plan.subtitle_speakers,
            plan.format,
        )?;
        eprintln!("castbook: wrote {written} subtitle file(s)");
    }
    if plan.master {
        for chapter in &manifest.chapters {
            let wav = options.out_dir.join(&chapter.file);
            let figures = master::measure(&wav).with_context(|| wav.display().to_string())?;
            eprintln!("castbook: {}", acx_line(&chapter.file, &figures));
        }
    }
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

/// `01-the-letter.wav  peak -4.6 dB  RMS -20.1 dB  head 0.61 s  tail 1.21 s  ACX ok`
fn acx_line(file: &str, figures: &master::Figures) -> String {
    let problems = figures.acx_problems();
    let verdict = if problems.is_empty() {
        "ACX ok".to_owned()
    } else {
        format!("outside ACX: {}", problems.join(", "))
    };
    format!("{file}  {}  {verdict}", figures.describe())
}

/// `castbook check DIR`: each chapter WAV's figures against ACX's limits.
fn check(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        InputError(format!(
            "{}: {e}; expected a render's output folder",
            path.display()
        ))
    })?;
    let manifest: render::output::manifest::Manifest =
        serde_json::from_str(&text).map_err(|e| {
            InputError(format!(
                "{}: {e}; expected castbook's manifest",
                path.display()
            ))
        })?;
    let mut failing = 0;
    let mut out = stdout();
    for chapter in &manifest.chapters {
        let wav = dir.join(&chapter.file);
        let figures = master::measure(&wav).with_context(|| wav.display().to_string())?;
        if !figures.acx_problems().is_empty() {
            failing += 1;
        }
        std::io::Write::write_fmt(
            &mut out,
            format_args!("{}\n", acx_line(&chapter.file, &figures)),
        )?;
    }
    std::io::Write::flush(&mut out)?;
    if failing > 0 {
        anyhow::bail!(
            "{failing} of {} chapter(s) outside ACX's limits; render with --master acx",
            manifest.chapters.len()
        );
    }
    Ok(())
}

/// Writes the cover beside the chapters (unless it is already there);
/// returns its file name.
fn write_cover(out_dir: &Path, cover: &ingest::Cover) -> anyhow::Result<String> {
    let name = format!("cover.{}", cover.extension());
    let path = out_dir.join(&name);
    std::fs::create_dir_all(out_dir).with_context(|| out_dir.display().to_string())?;
    if std::fs::read(&path).ok().as_deref() != Some(cover.data.as_slice()) {
        fsio::write_atomically(&path, |f| std::io::Write::write_all(f, &cover.data))?;
    }
    Ok(name)
}

/// Subtitles for each chapter in the manifest, and for the book when it
/// is one M4B. Returns how many files were written.
fn write_subtitles(
    out_dir: &Path,
    format: SubtitleFormat,
    speakers: bool,
    audio: AudioFormat,
) -> anyhow::Result<usize> {
    let path = out_dir.join("manifest.json");
    let manifest: render::output::manifest::Manifest =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| path.display().to_string())?)
            .with_context(|| path.display().to_string())?;
    let mut written = 0;
    let mut book = Vec::new();
    let mut offset = 0.0;
    for chapter in &manifest.chapters {
        let text = subtitles::subtitles(&[(0.0, chapter)], format, speakers);
        let name = Path::new(&chapter.file).with_extension(format.extension());
        fsio::write_atomically(&out_dir.join(&name), |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })?;
        written += 1;
        book.push((offset, chapter));
        offset += chapter.duration_s;
    }
    if audio == AudioFormat::M4b {
        let text = subtitles::subtitles(&book, format, speakers);
        let name = format!("{}.{}", ingest::slug(&manifest.title), format.extension());
        fsio::write_atomically(&out_dir.join(name), |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })?;
        written += 1;
    }
    Ok(written)
}

fn hms(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `castbook __worker` arguments: workers load the ONNX Runtime library
/// this process found (if a Piper voice made it look).
fn worker_args() -> Vec<std::ffi::OsString> {
    let mut args = vec!["__worker".into()];
    if let Some(library) = castbook::synth::onnx::loaded_onnxruntime() {
        args.extend(["--onnxruntime".into(), library.into_os_string()]);
    }
    args
}

/// The utterances of what `reading` reads: segments in skipped matter are
/// left out, and so are chapters that are nothing but skipped matter (a
/// copyright page); the chapters left are numbered from 1 as read.
fn read_aloud(
    book: &Book,
    mut attributed: Attributed,
    cast: &cast::Cast,
    reading: Reading,
) -> (Vec<utter::ChapterScript>, Attributed) {
    attributed
        .segments
        .retain(|segment| book.skipped_at(segment.range.clone(), reading).is_none());
    let mut chapters = utter::utterances(book, &attributed, cast, &utter::Pauses::default());
    // `index` is still the chapter's 1-based position in the book here.
    chapters.retain(|c| !book.chapter_skipped(c.index - 1, reading));
    for (n, chapter) in chapters.iter_mut().enumerate() {
        chapter.index = n + 1;
    }
    (chapters, attributed)
}

/// ingest → segment → attribute, shared by `render`, `script` and `cast`;
/// an editable script (see `script::HEADER`) stands in for all three.
fn read_and_tag(
    story: &Path,
    voices: Option<&Path>,
    model: &AttributionModel,
) -> anyhow::Result<(Book, VoicesFile, Attributed)> {
    let mut voices = match voices {
        Some(path) => cast::load_voices_file(path)?,
        None => VoicesFile::default(),
    };
    // A neural engine's voices are the better default cast, where one is
    // installed and the cast file leaves the choice open.
    if !voices.names_an_engine()
        && let Some((narrator, pool)) = castbook::synth::preferred_auto_cast()
    {
        voices.defaults = cast::Defaults { narrator, pool };
    }
    // An edited script carries its own speakers: no attribution.
    if let Some(parsed) = script::read_if_script(story)? {
        let (book, attributed) = parsed.into_book(story, &cast::known_characters(&voices));
        return Ok((book, voices, attributed));
    }
    let book = ingest::read_book(story)?;
    for warning in &book.warnings {
        eprintln!("castbook: warning: {warning}");
    }
    let segments = segment::segment_book(&book);
    let known = cast::known_characters(&voices);
    let attributed = attribute::attribute_with(&book, segments, &known, model.get());
    Ok((book, voices, attributed))
}

/// The attribution model: the one compiled in, or a file given for
/// evaluation (a model trained without the story being measured).
enum AttributionModel {
    Embedded,
    File(attribute::Model),
}

impl AttributionModel {
    fn get(&self) -> &attribute::Model {
        match self {
            AttributionModel::Embedded => attribute::Model::embedded(),
            AttributionModel::File(model) => model,
        }
    }
}

fn load_model(path: Option<&Path>) -> anyhow::Result<AttributionModel> {
    let Some(path) = path else {
        return Ok(AttributionModel::Embedded);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError(format!(
            "CASTBOOK_ATTRIBUTION_MODEL: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let model = attribute::Model::parse(&text)
        .map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    Ok(AttributionModel::File(model))
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
