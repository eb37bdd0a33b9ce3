//! Where Kokoro's files are, and its voices: names, blends, style vectors.
//!
//! `scripts/setup --kokoro` assembles the model, its phoneme vocabulary and
//! the 28 English voices into `<project>/.models/kokoro/` (beside `.venv`):
//!
//! ```text
//! kokoro-v1.0.int8.onnx   the model as published (92,361,271 bytes; the script checks its sha256)
//! kokoro-v1.0.qconv.onnx  castbook's model: the same with its convolutions statically
//!                         quantised for ONNX Runtime's faster kernels
//!                         (scripts/kokoro_quantise.py; the script checks its sha256)
//! vocab.json              {"vocab": {"ɑ": 69, ...}}: phoneme → token id
//! voices/af_heart.bin     raw little-endian f32 [510, 1, 256] per voice
//! ```
//!
//! `CASTBOOK_KOKORO_DIR` names another folder with the same layout. A voice
//! file holds one 256-float style vector per input length: an input of n
//! phoneme tokens uses row n − 1. A voice id is a voice name (`af_heart`)
//! or a blend (`af_bella*0.6+af_sky*0.4`) whose style is the weighted mean
//! of its voices' (weights default to 1). The first letter of a name is the
//! accent (`a` American, `b` British), the second the gender (`f`, `m`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::phonemes::Accent;
use crate::core::Gender;
use crate::synth::onnx::project_venvs;

/// The model castbook runs: built from the published int8 export by
/// `scripts/setup --kokoro` (see `scripts/kokoro_quantise.py`).
pub const MODEL_FILE: &str = "kokoro-v1.0.qconv.onnx";
pub const SAMPLE_RATE: u32 = 24_000;
/// Rows in a voice file: inputs of 1 to 510 phoneme tokens.
pub const STYLE_ROWS: usize = 510;
pub const STYLE_WIDTH: usize = 256;
/// What installs the files, for error messages.
pub const INSTALL_HINT: &str = "install it with `scripts/setup --kokoro`";

/// The 28 English voices of kokoro-js 1.2.1, as `scripts/setup --kokoro`
/// installs them (for listings and auto-casting; any `a*`/`b*` voice file
/// in the folder works).
pub const ENGLISH_VOICES: [&str; 28] = [
    "af_alloy",
    "af_aoede",
    "af_bella",
    "af_heart",
    "af_jessica",
    "af_kore",
    "af_nicole",
    "af_nova",
    "af_river",
    "af_sarah",
    "af_sky",
    "am_adam",
    "am_echo",
    "am_eric",
    "am_fenrir",
    "am_liam",
    "am_michael",
    "am_onyx",
    "am_puck",
    "am_santa",
    "bf_alice",
    "bf_emma",
    "bf_isabella",
    "bf_lily",
    "bm_daniel",
    "bm_fable",
    "bm_george",
    "bm_lewis",
];

/// The installed files.
#[derive(Debug)]
pub struct Install {
    pub dir: PathBuf,
    pub model: PathBuf,
    /// Phoneme → token id.
    pub vocab: HashMap<char, i64>,
}

/// The folder Kokoro is installed in: `CASTBOOK_KOKORO_DIR`, else
/// `.models/kokoro` beside the project's `.venv` (see [`project_venvs`]).
pub fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CASTBOOK_KOKORO_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let candidates: Vec<PathBuf> = project_venvs()
        .iter()
        .filter_map(|venv| venv.parent())
        .map(|root| root.join(".models").join("kokoro"))
        .collect();
    candidates
        .iter()
        .find(|dir| dir.join(MODEL_FILE).is_file())
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from(".models/kokoro"))
}

/// Whether the model and vocabulary are where [`install_dir`] says, for
/// choosing Kokoro as the auto-cast default.
pub fn is_installed() -> bool {
    let dir = install_dir();
    dir.join(MODEL_FILE).is_file() && dir.join("vocab.json").is_file()
}

impl Install {
    /// Reads the vocabulary; errors name the missing file and the command
    /// that installs it.
    pub fn open(dir: &Path) -> Result<Install, String> {
        let model = dir.join(MODEL_FILE);
        if !model.is_file() {
            return Err(format!(
                "Kokoro is not installed: {} not found; {INSTALL_HINT}",
                model.display()
            ));
        }
        let vocab_path = dir.join("vocab.json");
        let text = std::fs::read_to_string(&vocab_path).map_err(|err| {
            format!(
                "{}: cannot read Kokoro's phoneme vocabulary: {err}; {INSTALL_HINT}",
                vocab_path.display()
            )
        })?;
        let vocab = parse_vocab(&text).map_err(|err| format!("{}: {err}", vocab_path.display()))?;
        Ok(Install {
            dir: dir.to_owned(),
            model,
            vocab,
        })
    }

    pub fn voice_path(&self, name: &str) -> PathBuf {
        self.dir.join("voices").join(format!("{name}.bin"))
    }

    /// The voice names installed, sorted (English ones only).
    pub fn voice_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("voices"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let stem = name.strip_suffix(".bin")?;
                voice_traits(stem).ok().map(|_| stem.to_owned())
            })
            .collect();
        names.sort();
        names
    }
}

/// `{"vocab": {"a": 43, ...}}` → map; every key must be one character.
fn parse_vocab(text: &str) -> Result<HashMap<char, i64>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        vocab: HashMap<String, i64>,
    }
    let file: File = serde_json::from_str(text)
        .map_err(|err| format!("{}:{}: {err}", err.line(), err.column()))?;
    let mut vocab = HashMap::new();
    for (symbol, id) in file.vocab {
        let mut chars = symbol.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => {
                vocab.insert(c, id);
            }
            _ => return Err(format!("vocab key {symbol:?} is not one character")),
        }
    }
    if vocab.len() < 40 {
        return Err(format!(
            "only {} symbols; expected Kokoro's vocabulary of about 114",
            vocab.len()
        ));
    }
    Ok(vocab)
}

/// Accent and gender of an English voice name (`af_heart`).
pub fn voice_traits(name: &str) -> Result<(Accent, Gender), String> {
    let mut chars = name.chars();
    let accent = match chars.next() {
        Some('a') => Accent::American,
        Some('b') => Accent::British,
        _ => {
            return Err(format!(
                "{name:?} is not an English Kokoro voice (a*_ or b*_)"
            ));
        }
    };
    let gender = match chars.next() {
        Some('f') => Gender::Female,
        Some('m') => Gender::Male,
        _ => return Err(format!("{name:?} is not a Kokoro voice name like af_heart")),
    };
    if chars.next() != Some('_')
        || !name[3..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        || name.len() == 3
    {
        return Err(format!("{name:?} is not a Kokoro voice name like af_heart"));
    }
    Ok((accent, gender))
}

/// One part of a voice id: a voice and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendPart {
    pub name: String,
    pub weight: f32,
}

/// `af_bella*0.6+af_sky*0.4` → its parts (weights as written, default 1).
pub fn parse_blend(id: &str) -> Result<Vec<BlendPart>, String> {
    let mut parts = Vec::new();
    for part in id.split('+') {
        let part = part.trim();
        let (name, weight) = match part.split_once('*') {
            Some((name, weight)) => {
                let weight: f32 = weight.trim().parse().map_err(|_| {
                    format!("{weight:?} in {id:?} is not a weight; expected a number, as in af_bella*0.6+af_sky*0.4")
                })?;
                (name.trim(), weight)
            }
            None => (part, 1.0),
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(format!(
                "weight {weight} in {id:?} must be a positive number"
            ));
        }
        voice_traits(name)?;
        parts.push(BlendPart {
            name: name.to_owned(),
            weight,
        });
    }
    Ok(parts)
}

/// The part that decides a blend's accent and gender: the heaviest, the
/// first of equals.
pub fn leading(parts: &[BlendPart]) -> &BlendPart {
    parts
        .iter()
        .reduce(|best, part| {
            if part.weight > best.weight {
                part
            } else {
                best
            }
        })
        .expect("a blend has at least one part")
}

/// A voice file's style table: [`STYLE_ROWS`] × [`STYLE_WIDTH`] floats.
#[derive(Debug, Clone, PartialEq)]
pub struct StyleTable(Vec<f32>);

impl StyleTable {
    pub fn from_bytes(bytes: &[u8]) -> Result<StyleTable, String> {
        let expected = STYLE_ROWS * STYLE_WIDTH * 4;
        if bytes.len() != expected {
            return Err(format!(
                "{} bytes; a Kokoro voice is {expected} (f32 [{STYLE_ROWS}, 1, {STYLE_WIDTH}])",
                bytes.len()
            ));
        }
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if !values.iter().all(|v| v.is_finite()) {
            return Err("not a Kokoro voice: it holds NaN or infinite values".to_owned());
        }
        Ok(StyleTable(values))
    }

    /// The style for an input of `tokens` phoneme tokens (1 to 510): row
    /// `tokens - 1`.
    pub fn row(&self, tokens: usize) -> &[f32] {
        let row = tokens.clamp(1, STYLE_ROWS) - 1;
        &self.0[row * STYLE_WIDTH..(row + 1) * STYLE_WIDTH]
    }

    /// The weighted mean of `tables`.
    pub fn blend(tables: &[(&StyleTable, f32)]) -> StyleTable {
        let total: f32 = tables.iter().map(|(_, w)| w).sum();
        let mut out = vec![0f32; STYLE_ROWS * STYLE_WIDTH];
        for (table, weight) in tables {
            for (o, v) in out.iter_mut().zip(&table.0) {
                *o += v * weight / total;
            }
        }
        StyleTable(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_accent_and_gender() {
        assert_eq!(
            voice_traits("af_heart"),
            Ok((Accent::American, Gender::Female))
        );
        assert_eq!(
            voice_traits("bm_george"),
            Ok((Accent::British, Gender::Male))
        );
        for bad in [
            "jf_alpha", "ax_heart", "af", "af_", "afheart", "af_Heart", "af_../x",
        ] {
            assert!(voice_traits(bad).is_err(), "{bad}");
        }
        assert_eq!(ENGLISH_VOICES.len(), 28);
        assert!(ENGLISH_VOICES.iter().all(|v| voice_traits(v).is_ok()));
    }

    #[test]
    fn blends_parse_with_weights() {
        assert_eq!(
            parse_blend("af_bella*0.6+af_sky*0.4").unwrap(),
            [
                BlendPart {
                    name: "af_bella".into(),
                    weight: 0.6
                },
                BlendPart {
                    name: "af_sky".into(),
                    weight: 0.4
                }
            ]
        );
        let even = parse_blend("am_adam+bm_lewis").unwrap();
        assert_eq!(
            even.iter().map(|p| p.weight).collect::<Vec<_>>(),
            [1.0, 1.0]
        );
        assert_eq!(leading(&even).name, "am_adam");
        assert_eq!(
            leading(&parse_blend("am_adam+bm_lewis*2").unwrap()).name,
            "bm_lewis"
        );
        let err = parse_blend("af_bella*x").unwrap_err();
        assert!(err.contains("not a weight"), "{err}");
        assert!(parse_blend("af_bella*0").unwrap_err().contains("positive"));
        assert!(parse_blend("af_bella+").is_err());
        assert!(parse_blend("ff_siwis").unwrap_err().contains("English"));
    }

    fn table(value: f32) -> StyleTable {
        StyleTable(vec![value; STYLE_ROWS * STYLE_WIDTH])
    }

    #[test]
    fn style_rows_and_blends() {
        let mut bytes = Vec::new();
        for row in 0..STYLE_ROWS {
            for _ in 0..STYLE_WIDTH {
                bytes.extend((row as f32).to_le_bytes());
            }
        }
        let styles = StyleTable::from_bytes(&bytes).unwrap();
        // n tokens → row n - 1, clamped to the table.
        assert_eq!(styles.row(1)[0], 0.0);
        assert_eq!(styles.row(100)[255], 99.0);
        assert_eq!(styles.row(600)[0], 509.0);
        assert!(StyleTable::from_bytes(&bytes[4..]).is_err());
        let mixed = StyleTable::blend(&[(&table(1.0), 0.6), (&table(2.0), 0.4)]);
        assert!((mixed.row(5)[7] - 1.4).abs() < 1e-6);
    }

    #[test]
    fn the_vocabulary_is_single_characters() {
        let mut json = String::from("{\"vocab\": {");
        for (i, c) in ('a'..='z').chain('A'..='Z').enumerate() {
            json.push_str(&format!("\"{c}\": {i}, "));
        }
        json.push_str("\"ˈ\": 156}}");
        let vocab = parse_vocab(&json).unwrap();
        assert_eq!(vocab[&'ˈ'], 156);
        assert!(parse_vocab("{\"vocab\": {\"ab\": 1}}").is_err());
        assert!(
            parse_vocab("{\"vocab\": {\"a\": 1}}")
                .unwrap_err()
                .contains("only 1")
        );
    }

    #[test]
    fn a_missing_install_names_the_command() {
        let err = Install::open(Path::new("/nonexistent/kokoro")).unwrap_err();
        assert!(
            err.contains("/nonexistent/kokoro/kokoro-v1.0.qconv.onnx"),
            "{err}"
        );
        assert!(err.contains("scripts/setup --kokoro"), "{err}");
    }
}
