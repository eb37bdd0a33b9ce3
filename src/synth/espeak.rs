//! espeak-ng through its C library, rendering into memory.
//!
//! The library keeps global state (current voice, parameters, output
//! buffer), so every call goes through one process-wide lock, and every
//! parameter is set again for every utterance because rate and pitch carry
//! over from the previous one. The voice itself is set only when it
//! changes: setting it re-reads its voice file, which cost as much as
//! speaking a short sentence. Voice names are validated before use:
//! `espeak_SetVoiceByName` keeps the previous voice on some failures, which
//! would silently give a character the wrong voice.

use std::ffi::{CStr, CString, c_char, c_int, c_short, c_uint, c_void};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::{Engine, SynthError, VoiceInfo};
use crate::core::{Clip, EngineKind, Gender, Samples, Voice, nearest};

#[allow(non_camel_case_types)]
mod ffi {
    use super::*;

    #[repr(C)]
    pub struct espeak_EVENT {
        pub kind: c_int,
        pub unique_identifier: c_uint,
        pub text_position: c_int,
        pub length: c_int,
        pub audio_position: c_int,
        pub sample: c_int,
        pub user_data: *mut c_void,
        pub id: [u8; 8],
    }

    #[repr(C)]
    pub struct espeak_VOICE {
        pub name: *const c_char,
        pub languages: *const c_char,
        pub identifier: *const c_char,
        pub gender: u8,
        pub age: u8,
        pub variant: u8,
        pub xx1: u8,
        pub score: c_int,
        pub spare: *mut c_void,
    }

    pub type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut espeak_EVENT) -> c_int;

    pub const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
    pub const INITIALIZE_DONT_EXIT: c_int = 0x8000;
    pub const CHARS_UTF8: c_uint = 1;
    /// Text inside `[[ ]]` is espeak phoneme mnemonics (the pronunciation dictionary).
    pub const PHONEMES: c_uint = 0x100;
    pub const POS_CHARACTER: c_int = 1;
    pub const EE_OK: c_int = 0;
    pub const EVENT_LIST_TERMINATED: c_int = 0;

    pub const RATE: c_int = 1;
    pub const VOLUME: c_int = 2;
    pub const PITCH: c_int = 3;
    pub const RANGE: c_int = 4;

    #[link(name = "espeak-ng")]
    unsafe extern "C" {
        pub fn espeak_Initialize(
            output: c_int,
            buflength: c_int,
            path: *const c_char,
            options: c_int,
        ) -> c_int;
        pub fn espeak_SetSynthCallback(callback: SynthCallback);
        pub fn espeak_Synth(
            text: *const c_void,
            size: usize,
            position: c_uint,
            position_type: c_int,
            end_position: c_uint,
            flags: c_uint,
            unique_identifier: *mut c_uint,
            user_data: *mut c_void,
        ) -> c_int;
        pub fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
        pub fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
        pub fn espeak_ListVoices(spec: *mut espeak_VOICE) -> *mut *const espeak_VOICE;
        pub fn espeak_Info(path_data: *mut *const c_char) -> *const c_char;
        pub fn espeak_TextToPhonemes(
            textptr: *mut *const c_void,
            textmode: c_int,
            phonememode: c_int,
        ) -> *const c_char;
    }
}

/// The initialised library: only reachable through [`lock`].
pub struct Library {
    pub sample_rate: u32,
    pub data_dir: PathBuf,
    pub version: String,
    /// The voice last set successfully: setting it again re-reads its
    /// voice file, which cost as much as a short sentence's synthesis.
    current_voice: std::cell::RefCell<Option<String>>,
}

static LIBRARY: OnceLock<Result<Mutex<Library>, String>> = OnceLock::new();

/// Initialises espeak-ng once per process and takes the process-wide lock.
pub fn lock() -> Result<MutexGuard<'static, Library>, SynthError> {
    let library = LIBRARY.get_or_init(|| {
        // SAFETY: called once, under OnceLock; DONT_EXIT makes missing data an error return.
        let rate = unsafe {
            ffi::espeak_Initialize(
                ffi::AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                std::ptr::null(),
                ffi::INITIALIZE_DONT_EXIT,
            )
        };
        if rate <= 0 {
            return Err("espeak-ng could not load its data (install espeak-ng-data)".to_owned());
        }
        let mut data: *const c_char = std::ptr::null();
        // SAFETY: espeak_Info returns static strings owned by the library.
        let version = unsafe { ffi::espeak_Info(&mut data) };
        let cstr = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: `p` is one of espeak_Info's non-null results: a
                // NUL-terminated static string that the library never frees.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        // SAFETY: the callback only touches the buffer passed as user data.
        unsafe { ffi::espeak_SetSynthCallback(collect_samples) };
        Ok(Mutex::new(Library {
            sample_rate: rate as u32,
            data_dir: PathBuf::from(cstr(data)),
            version: cstr(version),
            current_voice: std::cell::RefCell::new(None),
        }))
    });
    match library {
        Ok(mutex) => Ok(mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())),
        Err(reason) => Err(SynthError::Unavailable {
            engine: EngineKind::Espeak,
            reason: reason.clone(),
        }),
    }
}

unsafe extern "C" fn collect_samples(
    wav: *mut c_short,
    count: c_int,
    events: *mut ffi::espeak_EVENT,
) -> c_int {
    if wav.is_null() || count <= 0 || events.is_null() {
        return 0;
    }
    // SAFETY: espeak passes the user_data given to espeak_Synth on every event; it is our Vec.
    unsafe {
        let mut event = events;
        while (*event).kind != ffi::EVENT_LIST_TERMINATED {
            if !(*event).user_data.is_null() {
                let buffer = &mut *((*event).user_data as *mut Vec<i16>);
                buffer.extend_from_slice(std::slice::from_raw_parts(wav, count as usize));
                return 0;
            }
            event = event.add(1);
        }
        // The terminating event also carries user_data.
        if !(*event).user_data.is_null() {
            let buffer = &mut *((*event).user_data as *mut Vec<i16>);
            buffer.extend_from_slice(std::slice::from_raw_parts(wav, count as usize));
        }
    }
    0
}

impl Library {
    fn set_parameter(&self, parameter: c_int, value: c_int) -> Result<(), String> {
        // SAFETY: plain integer setter; we hold the lock.
        let code = unsafe { ffi::espeak_SetParameter(parameter, value, 0) };
        if code == ffi::EE_OK {
            Ok(())
        } else {
            Err(format!(
                "espeak_SetParameter({parameter}, {value}) returned {code}"
            ))
        }
    }

    /// Makes `id` the current voice (a no-op when it already is: speaking
    /// changes no voice settings that this would restore, and rate, pitch,
    /// range and volume are set for every utterance anyway).
    fn set_voice(&self, id: &str) -> Result<(), String> {
        if self.current_voice.borrow().as_deref() == Some(id) {
            return Ok(());
        }
        self.current_voice.replace(None);
        let name = CString::new(id).map_err(|_| "voice id contains NUL".to_owned())?;
        // SAFETY: NUL-terminated string; we hold the lock.
        let code = unsafe { ffi::espeak_SetVoiceByName(name.as_ptr()) };
        if code == ffi::EE_OK {
            self.current_voice.replace(Some(id.to_owned()));
            Ok(())
        } else {
            Err(format!("espeak_SetVoiceByName({id:?}) returned {code}"))
        }
    }

    /// Language voices: (id, description), where id is what SetVoiceByName accepts.
    pub fn languages(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        // SAFETY: ListVoices returns a NULL-terminated array owned by the library.
        unsafe {
            let list = ffi::espeak_ListVoices(std::ptr::null_mut());
            let mut n = 0;
            while !list.is_null() && !(*list.add(n)).is_null() {
                let voice = &**list.add(n);
                let identifier = CStr::from_ptr(voice.identifier)
                    .to_string_lossy()
                    .into_owned();
                let name = CStr::from_ptr(voice.name).to_string_lossy().into_owned();
                let file = identifier
                    .rsplit('/')
                    .next()
                    .unwrap_or(&identifier)
                    .to_lowercase();
                if !identifier.contains("mb/") && !identifier.starts_with('!') {
                    out.push((file, name));
                }
                n += 1;
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// Voice variants (`m1`, `f3`, `klatt`, ...) with their declared gender.
    pub fn variants(&self) -> Vec<(String, Option<Gender>)> {
        let Ok(entries) = std::fs::read_dir(self.data_dir.join("voices").join("!v")) else {
            return Vec::new();
        };
        let mut out: Vec<(String, Option<Gender>)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let body = std::fs::read_to_string(entry.path()).ok()?;
                let gender = body.lines().find_map(|line| {
                    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                        ["gender", "female", ..] => Some(Gender::Female),
                        ["gender", "male", ..] => Some(Gender::Male),
                        _ => None,
                    }
                });
                (!name.contains(' ')).then_some((name, gender))
            })
            .collect();
        out.sort();
        out
    }

    /// Checks `base[+variant]` against what is installed, with a near-miss hint.
    fn validate(&self, id: &str) -> Result<(), SynthError> {
        let unknown = |hint: String| SynthError::UnknownVoice {
            engine: EngineKind::Espeak,
            label: format!("espeak:{id}"),
            hint,
        };
        let (base, variant) = match id.split_once('+') {
            Some((base, variant)) => (base, Some(variant)),
            None => (id, None),
        };
        let languages = self.languages();
        let base_ok = languages
            .iter()
            .any(|(file, _)| file.eq_ignore_ascii_case(base));
        let variants = self.variants();
        let variant_ok = variant.is_none_or(|v| variants.iter().any(|(name, _)| name == v));
        if base_ok && variant_ok {
            return self
                .set_voice(id)
                .map_err(|reason| unknown(format!(" ({reason})")));
        }
        let mut candidates: Vec<String> = Vec::new();
        if base_ok {
            candidates.extend(variants.iter().map(|(v, _)| format!("{base}+{v}")));
        } else {
            candidates.extend(languages.iter().map(|(file, _)| match variant {
                Some(v) => format!("{file}+{v}"),
                None => file.clone(),
            }));
        }
        let hint = nearest(id, candidates.iter().map(String::as_str))
            .map(|near| format!("; did you mean {near}?"))
            .unwrap_or_else(|| "; run `castbook voices` to list them".to_owned());
        Err(unknown(hint))
    }

    /// Renders `text` with voice, rate, pitch, range and volume set afresh.
    /// (castbook never changes punctuation, capitals or word-gap, and 1.51
    /// rejects setting them in synchronous mode.)
    fn speak(&self, text: &str, voice: &Voice) -> Result<Vec<i16>, String> {
        self.set_voice(&voice.id)?;
        let rate = (175.0 * voice.rate).round().clamp(80.0, 450.0) as c_int;
        self.set_parameter(ffi::RATE, rate)?;
        self.set_parameter(ffi::PITCH, voice.pitch.round().clamp(0.0, 100.0) as c_int)?;
        self.set_parameter(ffi::RANGE, 50)?;
        self.set_parameter(ffi::VOLUME, 100)?;
        let text = CString::new(text.replace('\0', " ")).expect("NULs replaced");
        let mut buffer: Vec<i16> = Vec::new();
        // SAFETY: synchronous mode: the callback runs before espeak_Synth
        // returns, so `buffer` outlives every use of the pointer.
        let code = unsafe {
            ffi::espeak_Synth(
                text.as_ptr().cast(),
                text.as_bytes_with_nul().len(),
                0,
                ffi::POS_CHARACTER,
                0,
                ffi::CHARS_UTF8 | ffi::PHONEMES,
                std::ptr::null_mut(),
                (&mut buffer as *mut Vec<i16>).cast(),
            )
        };
        if code != ffi::EE_OK {
            return Err(format!("espeak_Synth returned {code}"));
        }
        Ok(buffer)
    }

    /// IPA phonemes for `text`, one clause at a time, as espeak reads it.
    ///
    /// espeak-ng 1.51 drops the punctuation that ends each clause, but it
    /// moves the text pointer past what it read (the clause plus a character
    /// or so of look-ahead), so that text tells us which punctuation mark it
    /// stopped at. Using espeak's
    /// own clause splitting keeps its handling of abbreviations ("Mr.") and
    /// numbers ("3.5"), which a hand-written splitter would get wrong.
    ///
    /// With [`Ipa::Tied`], phonemes written with two letters carry a tie
    /// bar (`t͡ʃ`, `a͡ɪ`), which tells them from two phonemes in a row.
    pub fn text_to_phonemes(
        &self,
        voice_id: &str,
        text: &str,
        ipa: Ipa,
    ) -> Result<Vec<PhonemeClause>, String> {
        self.set_voice(voice_id)?;
        let text = CString::new(text.replace('\0', " ")).expect("NULs replaced");
        let bytes = text.as_bytes();
        let start = text.as_ptr() as usize;
        let mut pointer: *const c_void = text.as_ptr().cast();
        let mut clauses = Vec::new();
        // Bit 1: IPA; bit 7: bits 8-23 hold a tie character.
        let mode: c_int = match ipa {
            Ipa::Plain => 0x02,
            Ipa::Tied => 0x02 | 0x80 | (0x361 << 8),
        };
        while !pointer.is_null() {
            let before = (pointer as usize - start).min(bytes.len());
            // SAFETY: `pointer` walks `text`, which stays alive; espeak sets it
            // to NULL at the end and returns a buffer valid until the next call.
            let phonemes =
                unsafe { ffi::espeak_TextToPhonemes(&mut pointer, ffi::CHARS_UTF8 as c_int, mode) };
            if phonemes.is_null() {
                break;
            }
            let after = if pointer.is_null() {
                bytes.len()
            } else {
                (pointer as usize - start).clamp(before, bytes.len())
            };
            let consumed = String::from_utf8_lossy(&bytes[before..after]);
            // SAFETY: `phonemes` is non-null (checked above) and points to
            // espeak's NUL-terminated buffer, valid until the next call into
            // the library, which can't happen while we hold its lock; it is
            // copied out before the loop calls again.
            let phonemes = unsafe { CStr::from_ptr(phonemes) }
                .to_string_lossy()
                .into_owned();
            clauses.push(PhonemeClause {
                phonemes,
                terminator: clause_terminator(&consumed, !pointer.is_null()),
            });
        }
        Ok(clauses)
    }
}

/// How [`Library::text_to_phonemes`] writes phonemes of two letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipa {
    /// `tʃ`, `aɪ` (as Piper was trained).
    Plain,
    /// `t͡ʃ`, `a͡ɪ`, tied with U+0361.
    Tied,
}

/// One clause of [`Library::text_to_phonemes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonemeClause {
    /// IPA, words separated by spaces, without punctuation.
    pub phonemes: String,
    /// The punctuation mark that ended the clause (`.`, `,`, `?`, ...), if any.
    pub terminator: Option<char>,
}

impl PhonemeClause {
    /// `.`, `!` and `?` end a sentence; `,`, `;` and `:` only a clause.
    pub fn ends_sentence(&self) -> bool {
        matches!(self.terminator, Some('.' | '!' | '?'))
    }
}

/// The last clause punctuation in `consumed`, looking past espeak's
/// look-ahead into the next clause (`more`: there is one), quotes, brackets
/// and spaces; an ellipsis counts as a full stop.
fn clause_terminator(consumed: &str, more: bool) -> Option<char> {
    let consumed = if more {
        consumed.trim_end_matches(|c: char| c.is_alphanumeric() || c == '\u{fffd}')
    } else {
        consumed
    };
    consumed
        .chars()
        .rev()
        .find(|&c| {
            !(c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '\u{201c}'..='\u{201f}' | '\u{2018}'..='\u{201b}' | '(' | ')' | '['
                        | ']' | '\u{ab}' | '\u{bb}'
                ))
        })
        .and_then(|c| match c {
            '.' | ',' | '!' | '?' | ';' | ':' => Some(c),
            '\u{2026}' => Some('.'),
            _ => None,
        })
}

/// The espeak-ng engine. Cheap to create; all instances share the library.
pub struct Espeak {
    sample_rate: u32,
    version: String,
}

impl Espeak {
    pub fn new() -> Result<Espeak, SynthError> {
        let library = lock()?;
        Ok(Espeak {
            sample_rate: library.sample_rate,
            version: library.version.clone(),
        })
    }
}

impl Engine for Espeak {
    fn kind(&self) -> EngineKind {
        EngineKind::Espeak
    }

    fn check_voice(&mut self, id: &str) -> Result<(), SynthError> {
        lock()?.validate(id)
    }

    fn sample_rate(&mut self, _id: &str) -> Result<u32, SynthError> {
        Ok(self.sample_rate)
    }

    /// espeak's own samples are 16-bit, and the clip keeps them so.
    fn synthesize(&mut self, text: &str, voice: &Voice) -> Result<Clip, SynthError> {
        let library = lock()?;
        let samples = library
            .speak(text, voice)
            .map_err(|reason| SynthError::Failed {
                engine: EngineKind::Espeak,
                text: text.chars().take(60).collect(),
                reason,
            })?;
        Ok(Clip {
            samples: Samples::I16(samples),
            sample_rate: self.sample_rate,
        })
    }

    fn identity(&self) -> String {
        format!("espeak-ng {} {} Hz", self.version, self.sample_rate)
    }

    /// Pitch flutter and glottal phase run on between calls (static
    /// variables in wavegen.c), so the same sentence differs by a few
    /// samples depending on what came before.
    fn keeps_history(&self) -> bool {
        true
    }

    fn voices(&mut self) -> Result<Vec<VoiceInfo>, SynthError> {
        let library = lock()?;
        let variants = library.variants();
        let mut out = Vec::new();
        for (language, description) in library.languages() {
            out.push(VoiceInfo {
                id: language.clone(),
                gender: Some(Gender::Male),
                description: description.clone(),
            });
            for (variant, gender) in &variants {
                out.push(VoiceInfo {
                    id: format!("{language}+{variant}"),
                    gender: *gender,
                    description: format!("{description}, variant {variant}"),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(samples: &[f32]) -> f32 {
        (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
    }

    #[test]
    fn a_voice_is_set_again_only_when_it_changes() {
        let library = lock().expect("espeak-ng installed");
        let current = || library.current_voice.borrow().clone();
        library.set_voice("en-us").unwrap();
        assert_eq!(current().as_deref(), Some("en-us"));
        library.set_voice("en-us+f3").unwrap();
        assert_eq!(current().as_deref(), Some("en-us+f3"));
        // A failed change may leave espeak on either voice: forget both.
        assert!(library.set_voice("zz-not-a-voice").is_err());
        assert_eq!(current(), None);
        library.set_voice("en-us+f3").unwrap();
        assert_eq!(current().as_deref(), Some("en-us+f3"));
    }

    #[test]
    fn renders_speech_into_memory() {
        let mut engine = Espeak::new().expect("espeak-ng installed");
        let clip = engine
            .synthesize(
                "The quick brown fox jumps over the lazy dog.",
                &Voice::new(EngineKind::Espeak, "en-us"),
            )
            .unwrap();
        assert_eq!(clip.sample_rate, 22050);
        let seconds = clip.duration_s();
        assert!((1.5..6.0).contains(&seconds), "{seconds} s");
        assert!(
            matches!(clip.samples, Samples::I16(_)),
            "espeak's own 16-bit samples"
        );
        let level = rms(&clip.to_f32());
        assert!(level > 0.02, "too quiet: {level}");
    }

    #[test]
    fn rate_is_reset_for_every_utterance() {
        let mut engine = Espeak::new().unwrap();
        let text = "One two three four five six seven eight nine ten.";
        let mut fast = Voice::new(EngineKind::Espeak, "en-us");
        fast.rate = 2.0;
        let normal = Voice::new(EngineKind::Espeak, "en-us");
        let a = engine.synthesize(text, &normal).unwrap().duration_s();
        let b = engine.synthesize(text, &fast).unwrap().duration_s();
        let c = engine.synthesize(text, &normal).unwrap().duration_s();
        assert!(b < a * 0.7, "fast {b} vs normal {a}");
        assert!((a - c).abs() < 0.05, "rate carried over: {a} then {c}");
    }

    #[test]
    fn unknown_voices_are_errors_with_hints() {
        let mut engine = Espeak::new().unwrap();
        assert!(engine.check_voice("en-us+f3").is_ok());
        assert!(engine.check_voice("en-gb-x-rp").is_ok());
        let err = engine.check_voice("en-us+f9").unwrap_err().to_string();
        assert!(
            err.contains("espeak:en-us+f9 is not an installed espeak voice"),
            "{err}"
        );
        assert!(err.contains("did you mean en-us+f"), "{err}");
        assert!(engine.check_voice("en-gb").is_err());
        assert!(engine.check_voice("klingon").is_err());
    }

    #[test]
    fn lists_languages_and_variants() {
        let mut engine = Espeak::new().unwrap();
        let voices = engine.voices().unwrap();
        let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
        for id in ["en-us", "en-us+f3", "en-gb-x-rp", "en-029+m2"] {
            assert!(ids.contains(&id), "{id} missing");
        }
        let f3 = voices.iter().find(|v| v.id == "en-us+f3").unwrap();
        assert_eq!(f3.gender, Some(Gender::Female));
    }

    #[test]
    fn phonemes_in_ipa() {
        let library = lock().unwrap();
        let clauses = library
            .text_to_phonemes("en-us", "Hello world. How are you?", Ipa::Plain)
            .unwrap();
        assert!(clauses.len() >= 2, "{clauses:?}");
        assert!(clauses[0].phonemes.contains('l'), "{clauses:?}");
    }

    #[test]
    fn tied_ipa_marks_two_letter_phonemes() {
        let library = lock().unwrap();
        let phonemes = |ipa| {
            library
                .text_to_phonemes("en-us", "merchantship", ipa)
                .unwrap()
                .remove(0)
                .phonemes
        };
        // The affricate of "merchant" is tied; the t+sh of "-tship" is not.
        assert_eq!(phonemes(Ipa::Tied), "mˈɜːt\u{361}ʃəntʃˌɪp");
        assert_eq!(phonemes(Ipa::Plain), "mˈɜːtʃəntʃˌɪp");
    }

    #[test]
    fn clause_punctuation_is_recovered() {
        let library = lock().unwrap();
        let clauses = library
            .text_to_phonemes(
                "en-us",
                "Mr. Smith said, \"Wait; it costs 3.5 dollars!\" Really? Yes: fine. And so",
                Ipa::Plain,
            )
            .unwrap();
        let terminators: Vec<Option<char>> = clauses.iter().map(|c| c.terminator).collect();
        // espeak ends a clause after "Mr." too (and says it with a pause).
        assert_eq!(
            terminators,
            [
                Some('.'),
                Some(','),
                Some(';'),
                Some('!'),
                Some('?'),
                Some(':'),
                Some('.'),
                None
            ],
            "{clauses:?}"
        );
        assert!(clauses[3].ends_sentence() && !clauses[1].ends_sentence());
        assert!(
            clauses
                .iter()
                .all(|c| !c.phonemes.contains(['.', ',', '!']))
        );
    }
}
