//! Explanations for `castbook script --explain`: for each quote, the
//! best candidates with their probabilities and the features that weighed
//! most for each (weight × value), under the history that was decided.

use super::candidates::Cand;
use super::characters::CharInfo;
use super::decoder::Options;
use super::features;
use super::model::Model;

/// Why a quote went to its speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Index of the quote's segment, and its byte range in the book text.
    pub segment: usize,
    pub range: std::ops::Range<usize>,
    /// The best candidates, most probable first.
    pub candidates: Vec<Ranked>,
    /// Why the quote was decided by rule, when it was (see
    /// `decoder::carried_over`).
    pub rule: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// The character's name, or `None` for someone unnamed.
    pub name: Option<String>,
    pub probability: f32,
    /// Strongest contributions first: (feature, weight × value), the
    /// general and the situation's weight of a feature added together.
    pub features: Vec<(&'static str, f32)>,
}

/// How many candidates and features an explanation lists.
const TOP_CANDIDATES: usize = 3;
const TOP_FEATURES: usize = 4;

pub fn explain_quote(
    (segment, range): (usize, std::ops::Range<usize>),
    options: &Options,
    chars: &[CharInfo],
    model: &Model,
) -> Explanation {
    let log_probs = options.log_probs();
    let mut order: Vec<usize> = (0..options.cands.len()).collect();
    order.sort_by(|&a, &b| options.scores[b].total_cmp(&options.scores[a]));
    let candidates = order
        .into_iter()
        .take(TOP_CANDIDATES)
        .map(|i| {
            let mut features: Vec<(&'static str, f32)> = Vec::new();
            for &(f, v) in &options.feats[i] {
                let name = features::feature_of(usize::from(f)).name;
                let c = model.weights[usize::from(f)] * v;
                match features.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, total)) => *total += c,
                    None => features.push((name, c)),
                }
            }
            features.retain(|(_, c)| *c != 0.0);
            features.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            features.truncate(TOP_FEATURES);
            Ranked {
                name: match options.cands[i] {
                    Cand::Char(id) => Some(chars[id].name.clone()),
                    Cand::Unnamed => None,
                },
                probability: log_probs[i].exp(),
                features,
            }
        })
        .collect();
    Explanation {
        segment,
        range,
        candidates,
        rule: options
            .carried
            .then_some("carries on the quote left open in the paragraph before"),
    }
}
