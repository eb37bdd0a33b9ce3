//! Command line: clap types live here and stop here. `parse` turns them
//! into a [`Plan`] of plain paths and options that the pipeline runs.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

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
    /// Render a story to one WAV per chapter plus manifest.json.
    Render {
        /// The story: a plain-text file in any common encoding.
        story: PathBuf,
        #[command(flatten)]
        voices: VoicesArg,
        /// Output folder [default: output/<story-slug>/].
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
        /// Say which encoding and cast were used.
        #[arg(short, long)]
        verbose: bool,
        /// Piper voices: ONNX Runtime sessions run in parallel [default: one
        /// per core, at most 4, and no more than free memory allows]. Each
        /// session holds about 0.5 GB of memory.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
        piper_sessions: Option<u16>,
    },
    /// Print the tagged story as JSON lines: {"start","end","kind","speaker","text"}.
    Script {
        story: PathBuf,
        #[command(flatten)]
        voices: VoicesArg,
    },
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
    },
}

#[derive(Debug)]
pub struct RenderPlan {
    pub story: PathBuf,
    pub voices: Option<PathBuf>,
    /// None: `output/<story-slug>/`, known once the story is read.
    pub out: Option<PathBuf>,
    pub show_progress: bool,
    pub verbose: bool,
    /// Parallel Piper sessions; None: automatic.
    pub piper_sessions: Option<usize>,
}

pub fn parse() -> Result<Plan, clap::Error> {
    let cli = Cli::try_parse()?;
    Ok(match cli.command {
        Command::Render {
            story,
            voices,
            out,
            quiet,
            verbose,
            piper_sessions,
        } => {
            use std::io::IsTerminal;
            Plan::Render(RenderPlan {
                voices: voices.resolve(&story),
                story,
                out,
                show_progress: !quiet && std::io::stderr().is_terminal(),
                verbose,
                piper_sessions: piper_sessions.map(usize::from),
            })
        }
        Command::Script { story, voices } => Plan::Script {
            voices: voices.resolve(&story),
            story,
        },
    })
}
