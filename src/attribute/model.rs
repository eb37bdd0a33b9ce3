//! The model: a conditional logit. A candidate's score is the weighted sum
//! of its features; a quote's candidates compete through a softmax.
//!
//! The weights are learned from annotated stories (`scripts/train-attribution`)
//! and stored as text, one `weight NAME VALUE` line per feature, with the
//! decoder to use. The file in the repository is compiled in; a different
//! one can be given to the binary (leave-one-story-out evaluation).

use std::sync::OnceLock;

use super::features;

/// How the quotes of a book are decided in sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Each quote in turn, given the decisions before it.
    Greedy,
    /// The best few histories kept side by side, ranked by their summed
    /// log-probabilities.
    Beam(usize),
    /// The same beam ranked by the summed raw scores (no per-quote
    /// normaliser): for weights trained on whole paths (`learn_seq`).
    GlobalBeam(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// One weight per feature, and per feature and situation (see
    /// `features::weight_name`).
    pub weights: Vec<f32>,
    pub decoder: Decoder,
}

#[derive(Debug, thiserror::Error)]
#[error("attribution model line {line}: {message}")]
pub struct ModelError {
    pub line: usize,
    pub message: String,
}

static EMBEDDED: &[u8] = include_bytes!("attribution-model.txt");

impl Model {
    /// All weights zero.
    pub fn zero() -> Model {
        Model {
            weights: vec![0.0; features::width()],
            decoder: Decoder::Greedy,
        }
    }

    /// The model compiled into castbook.
    pub fn embedded() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| {
            let text = std::str::from_utf8(EMBEDDED).expect("the embedded model is UTF-8");
            Model::parse(text).expect("the embedded model matches the features")
        })
    }

    pub fn score(&self, feats: &[(u16, f32)]) -> f32 {
        feats
            .iter()
            .map(|&(i, v)| self.weights[usize::from(i)] * v)
            .sum()
    }

    /// Reads the text form. Every feature named must exist; a feature the
    /// file leaves out weighs nothing.
    pub fn parse(text: &str) -> Result<Model, ModelError> {
        let mut model = Model::zero();
        let mut seen_format = false;
        for (n, line) in text.lines().enumerate() {
            let err = |message: String| ModelError {
                line: n + 1,
                message,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["format", "1"] => seen_format = true,
                ["format", v] => return Err(err(format!("unknown format {v:?}, expected 1"))),
                ["decoder", "greedy"] => model.decoder = Decoder::Greedy,
                ["decoder", kind @ ("beam" | "beam-global"), w] => {
                    let width = w
                        .parse::<usize>()
                        .ok()
                        .filter(|w| (1..=64).contains(w))
                        .ok_or_else(|| err(format!("beam width {w:?} is not 1 to 64")))?;
                    model.decoder = if *kind == "beam" {
                        Decoder::Beam(width)
                    } else {
                        Decoder::GlobalBeam(width)
                    };
                }
                ["weight", name, value] => {
                    let i = features::index_of(name)
                        .ok_or_else(|| err(format!("no feature called {name:?}")))?;
                    debug_assert_eq!(features::weight_name(i), *name);
                    model.weights[i] = value
                        .parse::<f32>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| err(format!("weight {value:?} is not a number")))?;
                }
                _ => {
                    return Err(err(format!(
                        "expected `format 1`, `decoder greedy|beam N|beam-global N` or `weight NAME VALUE`, got {line:?}"
                    )));
                }
            }
        }
        if !seen_format {
            return Err(ModelError {
                line: 1,
                message: "no `format 1` line: not an attribution model".to_owned(),
            });
        }
        model.fill_person_noun_situation();
        Ok(model)
    }

    /// A model file written before bare person nouns ("said the girl") had
    /// a situation of their own weighs them as it was trained to: with
    /// the pronoun situation's weights. A file with any `@person_noun`
    /// weight is left as it is.
    fn fill_person_noun_situation(&mut self) {
        let n = features::FEATURES.len();
        let at = |s: usize| (1 + s) * n..(2 + s) * n;
        let noun = at(features::PERSON_NOUN_SITUATION);
        if self.weights[noun.clone()].iter().all(|w| *w == 0.0) {
            let pronoun: Vec<f32> = self.weights[at(features::PRONOUN_SITUATION)].to_vec();
            self.weights[noun].copy_from_slice(&pronoun);
        }
    }

    /// The text form, with `comment` lines on top.
    pub fn to_text(&self, comment: &str) -> String {
        let mut out = String::new();
        for line in comment.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("format 1\n");
        match self.decoder {
            Decoder::Greedy => out.push_str("decoder greedy\n"),
            Decoder::Beam(w) => out.push_str(&format!("decoder beam {w}\n")),
            Decoder::GlobalBeam(w) => out.push_str(&format!("decoder beam-global {w}\n")),
        }
        for (i, w) in self.weights.iter().enumerate() {
            if *w != 0.0 {
                out.push_str(&format!("weight {} {w:.5}\n", features::weight_name(i)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_round_trips_and_the_embedded_model_loads() {
        let mut model = Model::zero();
        model.weights[3] = 1.5;
        model.decoder = Decoder::Beam(4);
        let again = Model::parse(&model.to_text("test\nmodel")).unwrap();
        assert_eq!(again, model);
        model.decoder = Decoder::GlobalBeam(2);
        assert_eq!(Model::parse(&model.to_text("")).unwrap(), model);
        assert_eq!(Model::embedded().weights.len(), features::width());
        assert_eq!(features::FEATURES.len() * 8, features::width());
    }

    #[test]
    fn a_model_without_person_noun_weights_weighs_them_as_pronouns() {
        let old = Model::parse("format 1\nweight pron_last@pronoun -1.5\n").unwrap();
        let noun = features::index_of("pron_last@person_noun").unwrap();
        assert_eq!(old.weights[noun], -1.5);
        let new = Model::parse(
            "format 1\nweight pron_last@pronoun -1.5\nweight last_speaker@person_noun 0.5\n",
        )
        .unwrap();
        assert_eq!(new.weights[noun], 0.0);
    }

    #[test]
    fn bad_model_files_name_the_line() {
        let err = Model::parse("format 1\nweight no_such_thing 1.0\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("no_such_thing"));
        assert!(Model::parse("weight tag_names 1\n").is_err());
        assert!(Model::parse("format 1\nweight tag_names x\n").is_err());
        assert!(Model::parse("format 1\ndecoder beam 0\n").is_err());
    }
}
