//! Command line: clap types live here and stop here. `parse` turns them
//! into a [`Plan`] of plain paths and options that the pipeline runs.
//! The environment is read here too, at the edge, and nowhere in the
//! library: `CASTBOOK_ATTRIBUTION_MODEL` becomes the plan's model path.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use castbook::core::EngineKind;
use castbook::ingest::Reading;
use castbook::render::output::encode::AudioFormat;
use castbook::render::output::subtitles::SubtitleFormat;

#[derive(Debug, Parser)]
#[command(
    name = "castbook",
    version,
    about = "Turn a story into a multi-voice audiobook, offline."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a story to one WAV per chapter plus manifest.json, and to
    /// M4B, MP3, Opus or FLAC with --format.
    Render {
        /// The story: an EPUB, an HTML or Markdown file, a plain-text file in
        /// any common encoding, or an edited script from `castbook script
        /// --format text`.
        story: PathBuf,
        #[command(flatten)]
        voices: VoicesArg,
        #[command(flatten)]
        reading: ReadingArgs,
        /// Output folder [default: output/<story-slug>/].
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
        /// Say which encoding, cast and ONNX Runtime library were used.
        #[arg(short, long)]
        verbose: bool,
        /// Synthesis processes to run at once [default: number of cores].
        /// Each process speaking a Piper voice holds one ONNX Runtime
        /// session of its model (about 0.5 GB of memory).
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: Option<u32>,
        /// Render only these chapters, e.g. `3`, `3-5`, `1,4-6`, `7-`.
        #[arg(long, value_name = "LIST", value_parser = parse_chapters)]
        chapters: Option<ChapterSelection>,
        /// Segment cache folder [default: <out>/.cache].
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
        /// What to make besides the chapter WAVs and manifest.json (which
        /// are always written, and the others are made from): one M4B with
        /// chapter marks, or an MP3, Opus or FLAC file per chapter. Needs
        /// ffmpeg for anything but wav.
        #[arg(long, value_enum, default_value_t = FormatChoice::Wav)]
        format: FormatChoice,
        /// Master the chapters to the ACX audiobook standard: true peak at
        /// most -3 dBFS (by a limiter), RMS -23..-18 dB [default: acx for
        /// m4b and mp3, none otherwise].
        #[arg(long, value_enum, value_name = "STANDARD")]
        master: Option<MasterChoice>,
        /// Also write subtitles from the manifest's timings: one file per
        /// chapter, and one for the book with --format m4b.
        #[arg(long, value_enum, value_name = "FORMAT")]
        subtitles: Option<SubtitleChoice>,
        /// Put each line's speaker in the subtitles (`Ines: ...`).
        #[arg(long, requires = "subtitles")]
        subtitles_speakers: bool,
    },
    /// Report each rendered chapter's loudness figures against ACX's
    /// limits (true peak, RMS, head and tail silence).
    Check {
        /// A render's output folder (with manifest.json).
        dir: PathBuf,
    },
    /// Show or delete the segment cache of an output folder.
    Cache {
        #[command(subcommand)]
        action: CacheCommand,
    },
    /// Internal: a synthesis worker started by `render` (JSON lines on stdin/stdout).
    #[command(name = "__worker", hide = true)]
    Worker {
        #[arg(long, value_name = "DIR")]
        cache: PathBuf,
        /// The ONNX Runtime library the render found (for Piper voices).
        #[arg(long, value_name = "FILE")]
        onnxruntime: Option<PathBuf>,
    },
    /// Print the tagged story: JSON lines {"start","end","kind","speaker","text"},
    /// or with --format text an editable script that `render` accepts.
    Script {
        /// The story (or a script, to convert it back to JSON lines).
        story: PathBuf,
        #[command(flatten)]
        voices: VoicesArg,
        #[command(flatten)]
        reading: ReadingArgs,
        #[arg(short, long, value_enum, default_value_t = ScriptFormat::Jsonl)]
        format: ScriptFormat,
        /// Write to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Instead of the script, say why each quote went to its speaker:
        /// the best candidates, their probabilities and strongest evidence.
        #[arg(long, conflicts_with = "format")]
        explain: bool,
    },
    /// Show the characters found and the voice each one gets.
    Cast {
        /// The story, or an edited script.
        story: PathBuf,
        #[command(flatten)]
        voices: VoicesArg,
        #[command(flatten)]
        reading: ReadingArgs,
        /// Add newly found characters, with their voices, to voices.toml
        /// (created beside the story unless -c names it).
        #[arg(short, long)]
        write: bool,
    },
    /// Review and fix a story in the browser: a local page to read it with
    /// speakers marked, hear lines, change speakers and voices, and render.
    /// Changes are saved at once to the script and voices.toml.
    Studio {
        /// The story (a plain-text file or a script).
        story: PathBuf,
        /// Cast file, read and written [default: voices.toml beside the story].
        #[arg(short = 'c', long = "voices", value_name = "FILE")]
        voices: Option<PathBuf>,
        /// Where a plain story's speaker changes go [default: STORY.script];
        /// created at the first change, and opened by later runs.
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
        /// Output folder of renders [default: output/<story-slug>/].
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Port [default: 4870, or any free port if that one is taken].
        #[arg(long, value_name = "N")]
        port: Option<u16>,
        /// Address to listen on. Anyone who can reach it can change your
        /// files: keep the default unless you mean it.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
        listen: std::net::IpAddr,
        /// Synthesis processes for a render [default: number of cores].
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: Option<u32>,
    },
    /// List the usable voice ids of each engine.
    Voices {
        /// Only this engine.
        #[arg(short, long, value_parser = parse_engine)]
        engine: Option<EngineKind>,
        /// Cast file naming Piper models and settings [default: ./voices.toml, if there is one].
        #[arg(short = 'c', long = "voices", value_name = "FILE")]
        voices: Option<PathBuf>,
    },
    /// Render TEXT in one voice, to hear it before a long render. Never plays audio.
    Say {
        /// What to say.
        text: String,
        /// ENGINE:ID, or a name from voices.toml ([voices] or [characters]).
        #[arg(long)]
        voice: String,
        /// Cast file with named voices and [pronounce] [default: ./voices.toml, if there is one].
        #[arg(short = 'c', long = "voices", value_name = "FILE")]
        voices: Option<PathBuf>,
        /// Output WAV.
        #[arg(short, long, value_name = "FILE", default_value = "output/say.wav")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScriptFormat {
    /// One JSON object per segment, with code-point offsets.
    Jsonl,
    /// The editable script: `@NAME: text` lines.
    Text,
}

fn parse_engine(name: &str) -> Result<EngineKind, String> {
    EngineKind::parse(name).ok_or_else(|| {
        let names: Vec<&str> = EngineKind::ALL.iter().map(|e| e.name()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Count cached segments and finished-chapter records.
    Stats(CacheDirArg),
    /// Delete the cache (the rendered chapters stay).
    Clear(CacheDirArg),
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct CacheDirArg {
    /// The cache folder itself.
    dir: Option<PathBuf>,
    /// The output folder whose cache (<DIR>/.cache) to use.
    #[arg(short, long, value_name = "DIR")]
    out: Option<PathBuf>,
}

impl CacheDirArg {
    fn resolve(self) -> PathBuf {
        match (self.dir, self.out) {
            (Some(dir), _) => dir,
            (None, Some(out)) => castbook::render::default_cache_dir(&out),
            (None, None) => unreachable!("clap requires one of them"),
        }
    }
}

/// Chapter numbers chosen with `--chapters`: inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterSelection {
    pub text: String,
    pub ranges: Vec<(usize, usize)>,
}

impl ChapterSelection {
    pub fn contains(&self, chapter: usize) -> bool {
        self.ranges
            .iter()
            .any(|&(first, last)| (first..=last).contains(&chapter))
    }
}

fn parse_chapters(text: &str) -> Result<ChapterSelection, String> {
    let number = |s: &str| -> Result<usize, String> {
        match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "expected chapter numbers from 1, like 3, 3-5 or 1,4-6; got {s:?}"
            )),
        }
    };
    let mut ranges = Vec::new();
    for part in text.split(',') {
        let range = match part.split_once('-') {
            Some((first, "")) => (number(first)?, usize::MAX),
            Some((first, last)) => (number(first)?, number(last)?),
            None => {
                let n = number(part)?;
                (n, n)
            }
        };
        if range.0 > range.1 {
            return Err(format!("{part:?} is an empty range"));
        }
        ranges.push(range);
    }
    Ok(ChapterSelection {
        text: text.to_owned(),
        ranges,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatChoice {
    Wav,
    M4b,
    Mp3,
    Opus,
    Flac,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MasterChoice {
    None,
    Acx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SubtitleChoice {
    Srt,
    Vtt,
}

/// What of a book is read besides the story.
#[derive(Debug, clap::Args)]
struct ReadingArgs {
    /// Front and back matter: cover, title page, copyright, contents, about
    /// the author, licences, tags, site footers. The title and author are
    /// read either way.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = MatterChoice::Skip)]
    matter: MatterChoice,
    /// Summaries, author's notes and footnotes.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = NotesChoice::Skip)]
    notes: NotesChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MatterChoice {
    Skip,
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum NotesChoice {
    Skip,
    Read,
}

impl ReadingArgs {
    fn resolve(self) -> Reading {
        Reading {
            keep_matter: self.matter == MatterChoice::Keep,
            read_notes: self.notes == NotesChoice::Read,
        }
    }
}

#[derive(Debug, clap::Args)]
struct VoicesArg {
    /// Cast file [default: voices.toml beside the story, if there is one].
    #[arg(short = 'c', long = "voices", value_name = "FILE")]
    voices: Option<PathBuf>,
}

impl VoicesArg {
    fn resolve(self, story: &Path) -> Option<PathBuf> {
        self.voices.or_else(|| {
            let beside = story.parent().unwrap_or(Path::new(".")).join("voices.toml");
            beside.is_file().then_some(beside)
        })
    }
}

/// What to do, fully resolved.
#[derive(Debug)]
pub enum Plan {
    Render(RenderPlan),
    Script {
        story: PathBuf,
        voices: Option<PathBuf>,
        reading: Reading,
        format: ScriptFormat,
        out: Option<PathBuf>,
        explain: bool,
        attribution_model: Option<PathBuf>,
    },
    Cast {
        story: PathBuf,
        voices: Option<PathBuf>,
        reading: Reading,
        /// Where `--write` writes: the cast file in use, or voices.toml beside the story.
        write: Option<PathBuf>,
        attribution_model: Option<PathBuf>,
    },
    Voices {
        engine: Option<EngineKind>,
        voices: Option<PathBuf>,
    },
    Say {
        /// What to say.
        text: String,
        voice: String,
        voices: Option<PathBuf>,
        out: PathBuf,
    },
    Studio(castbook::studio::Options),
    Check {
        dir: PathBuf,
    },
    CacheStats {
        dir: PathBuf,
    },
    CacheClear {
        dir: PathBuf,
    },
    Worker {
        cache: PathBuf,
        onnxruntime: Option<PathBuf>,
    },
}

#[derive(Debug)]
pub struct RenderPlan {
    pub story: PathBuf,
    pub voices: Option<PathBuf>,
    pub reading: Reading,
    pub format: AudioFormat,
    /// Master the chapters to ACX.
    pub master: bool,
    pub subtitles: Option<SubtitleFormat>,
    pub subtitle_speakers: bool,
    /// None: `output/<story-slug>/`, known once the story is read.
    pub out: Option<PathBuf>,
    pub show_progress: bool,
    pub verbose: bool,
    pub jobs: usize,
    /// None: every chapter.
    pub chapters: Option<ChapterSelection>,
    /// None: `<out>/.cache`.
    pub cache: Option<PathBuf>,
    /// A model file to use instead of the compiled-in one (evaluation only).
    pub attribution_model: Option<PathBuf>,
}

/// `CASTBOOK_ATTRIBUTION_MODEL`: an attribution model file to use instead
/// of the compiled-in one. For evaluation only (leave-one-story-out runs a
/// model trained without the story it measures), so it is no option.
fn attribution_model_from_env() -> Option<PathBuf> {
    std::env::var_os("CASTBOOK_ATTRIBUTION_MODEL").map(PathBuf::from)
}

pub fn parse() -> Result<Plan, clap::Error> {
    let cli = Cli::try_parse()?;
    Ok(match cli.command {
        Command::Render {
            story,
            voices,
            reading,
            out,
            quiet,
            verbose,
            jobs,
            chapters,
            cache,
            format,
            master,
            subtitles,
            subtitles_speakers,
        } => {
            let format = match format {
                FormatChoice::Wav => AudioFormat::Wav,
                FormatChoice::M4b => AudioFormat::M4b,
                FormatChoice::Mp3 => AudioFormat::Mp3,
                FormatChoice::Opus => AudioFormat::Opus,
                FormatChoice::Flac => AudioFormat::Flac,
            };
            let master = match master {
                Some(choice) => choice == MasterChoice::Acx,
                None => matches!(format, AudioFormat::M4b | AudioFormat::Mp3),
            };
            use std::io::IsTerminal;
            Plan::Render(RenderPlan {
                voices: voices.resolve(&story),
                reading: reading.resolve(),
                format,
                master,
                subtitles: subtitles.map(|s| match s {
                    SubtitleChoice::Srt => SubtitleFormat::Srt,
                    SubtitleChoice::Vtt => SubtitleFormat::Vtt,
                }),
                subtitle_speakers: subtitles_speakers,
                story,
                out,
                show_progress: !quiet && std::io::stderr().is_terminal(),
                verbose,
                jobs: jobs.map_or_else(default_jobs, |n| n as usize),
                chapters,
                cache,
                attribution_model: attribution_model_from_env(),
            })
        }
        Command::Cache {
            action: CacheCommand::Stats(dir),
        } => Plan::CacheStats { dir: dir.resolve() },
        Command::Cache {
            action: CacheCommand::Clear(dir),
        } => Plan::CacheClear { dir: dir.resolve() },
        Command::Check { dir } => Plan::Check { dir },
        Command::Worker { cache, onnxruntime } => Plan::Worker { cache, onnxruntime },
        Command::Studio {
            story,
            voices,
            script,
            out,
            port,
            listen,
            jobs,
        } => Plan::Studio(castbook::studio::Options {
            voices: voices
                .unwrap_or_else(|| story.parent().unwrap_or(Path::new(".")).join("voices.toml")),
            story,
            script,
            out,
            listen,
            port,
            // Filled in by the command, which can fail to find it.
            program: PathBuf::new(),
            jobs: jobs.map_or_else(default_jobs, |n| n as usize),
        }),
        Command::Script {
            story,
            voices,
            reading,
            format,
            out,
            explain,
        } => Plan::Script {
            voices: voices.resolve(&story),
            reading: reading.resolve(),
            story,
            format,
            out,
            explain,
            attribution_model: attribution_model_from_env(),
        },
        Command::Cast {
            story,
            voices,
            reading,
            write,
        } => {
            let beside = story.parent().unwrap_or(Path::new(".")).join("voices.toml");
            let write = write.then(|| voices.voices.clone().unwrap_or(beside));
            Plan::Cast {
                voices: voices.resolve(&story),
                reading: reading.resolve(),
                story,
                write,
                attribution_model: attribution_model_from_env(),
            }
        }
        Command::Voices { engine, voices } => Plan::Voices {
            engine,
            voices: voices.or_else(|| {
                let here = PathBuf::from("voices.toml");
                here.is_file().then_some(here)
            }),
        },
        Command::Say {
            text,
            voice,
            voices,
            out,
        } => Plan::Say {
            voices: voices.or_else(|| {
                let here = PathBuf::from("voices.toml");
                here.is_file().then_some(here)
            }),
            text,
            voice,
            out,
        },
    })
}

/// One synthesis process per core.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapter_lists() {
        let sel = parse_chapters("1,4-6,9-").unwrap();
        assert_eq!(sel.ranges, vec![(1, 1), (4, 6), (9, usize::MAX)]);
        assert!(sel.contains(5) && sel.contains(100) && !sel.contains(2));
        for bad in ["", "0", "5-3", "a-b", "3-x", "-2"] {
            assert!(parse_chapters(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
