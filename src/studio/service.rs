//! What the page can ask of the studio, as plain methods over the two
//! files ([`super::doc`]), the segment cache and the render job; the HTTP
//! layer only routes and guards. Methods block (file I/O, synthesis): the
//! server calls them off its async threads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::Options;
use super::confidence;
use super::doc::{DocError, Script, Voices};
use super::job::RenderJob;
use super::listen::Synth;
use super::view::{
    BookView, CastView, ChapterSummary, ChapterView, LineChange, SegmentView, StatusView,
    VoiceOption, cast_view, files, gender_name,
};
use crate::attribute::Attributed;
use crate::cast::{self, Cast};
use crate::core::Gender;
use crate::ingest;
use crate::render;
use crate::segment::SegmentKind;
use crate::synth::Engines;

/// An answer the page shows as it is: what went wrong, in one line.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The request can't be met as asked (400).
    #[error("{0}")]
    Bad(String),
    /// Nothing by that name (404).
    #[error("{0}")]
    NotFound(String),
    /// The file changed since the page read it (409).
    #[error("{0}")]
    Stale(String),
    /// Something failed on our side (500).
    #[error("{0}")]
    Internal(String),
}

impl From<DocError> for Failure {
    fn from(err: DocError) -> Failure {
        match err {
            DocError::Stale { .. } => Failure::Stale(err.to_string()),
            DocError::Refused(_) | DocError::Config(_) | DocError::Script(_) => {
                Failure::Bad(err.to_string())
            }
            _ => Failure::Internal(err.to_string()),
        }
    }
}

/// The two files and what follows from them.
pub(super) struct State {
    pub(super) script: Script,
    pub(super) voices: Voices,
    /// The cast, or why voices.toml can't cast this story.
    pub(super) cast: Result<Cast, String>,
    /// Why a file on disk could not be read again (the page shows it).
    pub(super) problem: Option<String>,
}

impl State {
    fn recast(&mut self) {
        self.cast = cast::cast(&self.script.attributed.characters, &self.voices.file)
            .map_err(|e| e.to_string());
    }

    /// Takes in changes made on disk by anyone else.
    fn refresh(&mut self) {
        let result = (|| -> Result<(), DocError> {
            let voices_changed = self.voices.refresh()?;
            let known = self.voices.known();
            if voices_changed {
                self.script.recast(&known)?;
            }
            let script_changed = self.script.refresh(&known)?;
            if voices_changed || script_changed {
                self.recast();
            }
            Ok(())
        })();
        self.problem = result.err().map(|e| e.to_string());
    }

    pub(super) fn cast(&self) -> Result<&Cast, Failure> {
        self.cast.as_ref().map_err(|e| Failure::Bad(e.clone()))
    }
}

pub struct Studio {
    pub(super) state: Mutex<State>,
    pub(super) synth: Mutex<Synth>,
    /// Held while a preview writes to the cache, and by a render while it
    /// starts (it sweeps the cache's temporary files).
    pub(super) cache_gate: Mutex<()>,
    pub(super) job: Mutex<RenderJob>,
    pub(super) out_dir: PathBuf,
    pub(super) cache_dir: PathBuf,
    pub(super) program: PathBuf,
    pub(super) jobs: usize,
    story: PathBuf,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock is a bug, but the files on disk are
    // still whole (every write is atomic): carry on with the state.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Studio {
    pub fn open(options: &Options) -> Result<Studio, DocError> {
        let voices = Voices::open(&options.voices)?;
        let script = Script::open(&options.story, options.script.as_deref(), &voices.known())?;
        let out_dir = options
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("output").join(ingest::slug(&script.book.title)));
        let engines = Engines::new().with_settings(voices.file.engine_settings());
        let mut state = State {
            script,
            voices,
            cast: Err(String::new()),
            problem: None,
        };
        state.recast();
        Ok(Studio {
            synth: Mutex::new(Synth {
                engines,
                settings_of: state.voices.version.clone(),
                client: None,
            }),
            state: Mutex::new(state),
            cache_gate: Mutex::new(()),
            job: Mutex::new(RenderJob::default()),
            cache_dir: render::default_cache_dir(&out_dir),
            out_dir,
            program: options.program.clone(),
            jobs: options.jobs.max(1),
            story: options.story.clone(),
        })
    }

    /// Tells the user where the page is (on stdout: scripts read it) and
    /// which files it changes.
    pub fn announce(&self, addr: SocketAddr, options: &Options) -> std::io::Result<()> {
        use std::io::Write;
        let state = lock(&self.state);
        let mut out = std::io::stdout().lock();
        // A wildcard address is not one a browser can open: show loopback.
        let shown = if addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        writeln!(out, "castbook studio: http://{shown}/")?;
        out.flush()?;
        let script = &state.script;
        eprintln!(
            "castbook: {}: speakers are saved to {}{}",
            self.story.display(),
            script.path.display(),
            if script.exists() {
                ""
            } else {
                " (created at the first change)"
            }
        );
        eprintln!(
            "castbook: voices are saved to {}{}; renders go to {}",
            state.voices.path.display(),
            if state.voices.exists() {
                ""
            } else {
                " (created at the first change)"
            },
            self.out_dir.display()
        );
        if !options.listen.is_loopback() {
            eprintln!(
                "castbook: warning: listening on {}: anyone who can reach it can change these files",
                options.listen
            );
        }
        eprintln!("castbook: press Ctrl-C to stop");
        Ok(())
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        let mut state = lock(&self.state);
        state.refresh();
        state
    }

    /// The script and voices.toml as they are now, for a render: the book,
    /// its speakers, the cast file, the cast and the script's version.
    pub(super) fn snapshot(
        &self,
    ) -> Result<(ingest::Book, Attributed, cast::VoicesFile, Cast, String), Failure> {
        let state = self.state();
        if let Some(problem) = &state.problem {
            return Err(Failure::Bad(problem.clone()));
        }
        let cast = state.cast()?.clone();
        let voices = match &state.voices.source {
            Some(text) => cast::parse_voices_file(&state.voices.path, text)
                .map_err(|e| Failure::Bad(e.to_string()))?,
            None => cast::VoicesFile::default(),
        };
        Ok((
            state.script.book.clone(),
            state.script.attributed.clone(),
            voices,
            cast,
            state.script.version.clone(),
        ))
    }

    /// The book's outline: title, files, chapters with their counts, cast.
    pub fn book(&self) -> BookView {
        let state = self.state();
        let script = &state.script;
        BookView {
            title: script.book.title.clone(),
            story: self.story.display().to_string(),
            files: files(&state),
            chapters: script
                .chapters
                .iter()
                .map(|c| ChapterSummary {
                    n: c.index,
                    title: c.title.clone(),
                    lines: c.lines,
                    unknown: c.unknown,
                    low: c.low,
                })
                .collect(),
            cast: cast_view(&state),
            low: confidence::LOW,
            out: self.out_dir.display().to_string(),
        }
    }

    /// Versions, problems and render progress: what the page polls.
    pub fn status(&self) -> StatusView {
        let state = self.state();
        StatusView {
            files: files(&state),
            render: self.render_status(),
        }
    }

    /// Chapter `n` (1-based), every segment with its speaker and score.
    pub fn chapter(&self, n: usize) -> Result<ChapterView, Failure> {
        let state = self.state();
        let script = &state.script;
        let chapter = n
            .checked_sub(1)
            .and_then(|i| script.chapters.get(i))
            .ok_or_else(|| Failure::NotFound(format!("there is no chapter {n}")))?;
        let text = &script.book.text;
        let segments = script.attributed.segments[chapter.segments.clone()]
            .iter()
            .zip(chapter.segments.clone())
            .map(|(segment, i)| SegmentView {
                i,
                k: match segment.kind {
                    SegmentKind::Heading => 'h',
                    SegmentKind::Narration => 'n',
                    SegmentKind::Dialogue => 'd',
                },
                p: segment.paragraph,
                s: segment.speaker.clone(),
                c: script.confidence[i],
                m: script
                    .book
                    .skipped_at(segment.range.clone(), super::job::READING)
                    .map(|matter| matter.label.clone()),
                t: segment.text(text).to_owned(),
            })
            .collect();
        Ok(ChapterView {
            n,
            title: chapter.title.clone(),
            segments,
        })
    }

    pub fn cast(&self) -> CastView {
        let state = self.state();
        CastView {
            files: files(&state),
            cast: cast_view(&state),
        }
    }

    /// Changes one line's speaker in the script.
    pub fn set_speaker(
        &self,
        segment: usize,
        speaker: Option<&str>,
        version: &str,
    ) -> Result<LineChange, Failure> {
        let mut state = self.state();
        let known = state.voices.known();
        state
            .script
            .set_speaker(segment, speaker, version, &known)?;
        state.recast();
        let script = &state.script;
        let chapter = script.attributed.segments[segment].chapter;
        Ok(LineChange {
            segment,
            speaker: script.attributed.segments[segment].speaker.clone(),
            c: script.confidence[segment],
            chapter: script.chapters.get(chapter).map(|c| ChapterSummary {
                n: c.index,
                title: c.title.clone(),
                lines: c.lines,
                unknown: c.unknown,
                low: c.low,
            }),
            files: files(&state),
            cast: cast_view(&state),
        })
    }

    /// Changes the narrator's (`name` None) or a character's voice or
    /// gender in voices.toml, as `cast --write` would write it.
    pub fn set_cast(
        &self,
        name: Option<&str>,
        voice: Option<&str>,
        gender: Option<Gender>,
        version: &str,
    ) -> Result<CastView, Failure> {
        let mut state = self.state();
        if let Some(problem) = &state.problem {
            return Err(Failure::Bad(problem.clone()));
        }
        if version != state.voices.version {
            // Checked again when writing; this answers before any work.
            return Err(DocError::Stale {
                file: state.voices.path.display().to_string(),
            }
            .into());
        }
        let characters = state.script.attributed.characters.clone();
        let path = state.voices.path.clone();
        let at = |e: cast::write::WriteError| Failure::Bad(format!("{}: {e}", path.display()));
        let parse = |text: &str| {
            cast::parse_voices_file(&path, text).map_err(|e| Failure::Bad(e.to_string()))
        };
        let current = state.cast()?.clone();
        if let Some(name) = name
            && !characters.iter().any(|c| c.name == name)
            && cast::write::entry_key(&state.voices.file, name).is_none()
        {
            return Err(Failure::NotFound(format!(
                "{name:?} speaks no line and voices.toml does not list them"
            )));
        }
        // Pin everyone's voice first, as `cast --write` does, so that this
        // change moves no one else.
        let (pinned, _) = cast::write::add_characters(
            state.voices.source.as_deref(),
            &state.voices.file,
            &characters,
            &current,
        )
        .map_err(at)?;
        let file = parse(&pinned)?;
        let text = match (voice, gender) {
            (Some(voice), _) => {
                let voice = voice.trim();
                if voice.is_empty() {
                    return Err(Failure::Bad(
                        "expected a voice such as espeak:en-us+f2".into(),
                    ));
                }
                cast::write::set_entry(Some(&pinned), &file, name, Some(Some(voice)), gender)
                    .map_err(at)?
            }
            (None, Some(gender)) => {
                let name = name.ok_or_else(|| Failure::Bad("the narrator has no gender".into()))?;
                // A new gender: cast again from the pool for it, then pin.
                let unvoiced = cast::write::set_entry(
                    Some(&pinned),
                    &file,
                    Some(name),
                    Some(None),
                    Some(gender),
                )
                .map_err(at)?;
                let file = parse(&unvoiced)?;
                let mut regendered = characters.clone();
                for character in &mut regendered {
                    if character.name == name {
                        character.gender = Some(gender);
                    }
                }
                let recast =
                    cast::cast(&regendered, &file).map_err(|e| Failure::Bad(e.to_string()))?;
                let reference = recast
                    .characters
                    .get(cast::write::entry_key(&file, name).unwrap_or(name))
                    .or_else(|| recast.characters.get(name))
                    .map(|m| m.reference.clone());
                match reference {
                    Some(reference) => cast::write::set_entry(
                        Some(&unvoiced),
                        &file,
                        Some(name),
                        Some(Some(&reference)),
                        None,
                    )
                    .map_err(at)?,
                    None => unvoiced,
                }
            }
            (None, None) => {
                return Err(Failure::Bad(
                    "expected a voice or a gender to change".into(),
                ));
            }
        };
        // Check the result as a render would before anything is written.
        let file = parse(&text)?;
        let mut engines = Engines::new().with_settings(file.engine_settings());
        file.check_voices(|v| engines.check_voice(v))
            .map_err(|e| Failure::Bad(e.to_string()))?;
        cast::cast(&characters, &file).map_err(|e| Failure::Bad(e.to_string()))?;
        state.voices.write(&text, version)?;
        let known = state.voices.known();
        state.script.recast(&known)?;
        state.recast();
        Ok(CastView {
            files: files(&state),
            cast: cast_view(&state),
        })
    }

    /// Every voice the page offers: the cast's, the pool's, then every
    /// English espeak voice and every Piper model castbook can see.
    pub fn voices(&self) -> Vec<VoiceOption> {
        let (settings, mut seen) = {
            let state = self.state();
            let mut seen: Vec<String> = Vec::new();
            if let Ok(cast) = &state.cast {
                seen.push(cast.narrator.label());
                seen.extend(cast.characters.values().map(|m| m.reference.clone()));
            }
            (state.voices.file.engine_settings(), seen)
        };
        seen.extend(cast::default_pool().into_iter().map(|(label, _)| label));
        let mut out: Vec<VoiceOption> = Vec::new();
        let mut push = |id: String, gender: Option<Gender>, description: String| {
            if !out.iter().any(|v| v.id == id) {
                out.push(VoiceOption {
                    id,
                    gender: gender_name(gender),
                    description,
                });
            }
        };
        for id in seen {
            push(id, None, String::new());
        }
        let mut engines = Engines::new().with_settings(settings);
        for kind in crate::core::EngineKind::ALL {
            let Ok(list) = engines.get(kind).and_then(|e| e.voices()) else {
                continue;
            };
            for info in list {
                let english = info.id.starts_with("en");
                if kind.ids_are_model_files() || english {
                    push(format!("{kind}:{}", info.id), info.gender, info.description);
                }
            }
        }
        out
    }

    /// The path of output file `name`, if the output folder's manifest
    /// names it (or it is the manifest itself): no other file is served.
    pub fn output_file(&self, name: &str) -> Option<PathBuf> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\', '\0'])
            && Path::new(name).file_name() == Some(std::ffi::OsStr::new(name));
        if !plain {
            return None;
        }
        let listed = name == "manifest.json"
            || self.just_rendered(name)
            || super::job::finished_chapters(&self.out_dir)
                .iter()
                .any(|c| c.file == name);
        listed.then(|| self.out_dir.join(name))
    }
}
