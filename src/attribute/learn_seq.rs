//! Sequence-level training: teaching the weights what the beam decoder
//! does with them, not only what each quote's softmax does under the
//! annotated history. Used by the trainer (`--seq-rounds`), off by default.
//!
//! The training stories are decoded with the decoder's own beam, beside
//! the annotated path (each quote's annotated speaker, or the model's best
//! named candidate where the annotation names none of them). Where the
//! annotated path drops out of the beam, the paths that pushed it out and
//! the annotated path, from where they part, make a *violation*; decoding
//! then starts again from the annotated path (early update, Collins &
//! Roark 2004; LaSO, Daumé & Marcu 2005). A violation's loss is
//! `log(1 + Σ exp(S(rival) − S(annotated)))`, where `S` is a path's summed
//! log-probability: the beam's own score, so the loss is small exactly
//! when the beam keeps the annotated path ahead (the beam-approximated
//! normaliser of Andor et al. 2016, over the decoder's local scores). The
//! trainer adds it to the per-quote log-likelihood and runs L-BFGS again
//! from the per-quote solution.
//!
//! Along a fixed path the features are fixed (the history is the path's
//! own decisions), so the loss is smooth in the weights; new rounds decode
//! again with the new weights and add their violations to the pool.

use super::KnownCharacter;
use super::context::Context;
use super::cues::{self, Cues};
use super::decoder::Options;
use super::history::History;
use super::learn::{Label, labels};
use super::model::{Decoder, Model};
use crate::ingest::Book;
use crate::segment::Segment;

/// One decision along a path: the features of the quote's candidates
/// under that path's history, and which one the path took.
#[derive(Debug, Clone)]
pub struct Step {
    pub feats: Vec<Vec<(u16, f32)>>,
    pub chosen: usize,
}

/// Where the annotated path fell behind: for every path that beat it, that
/// path's steps and the annotated path's, from where the two part.
#[derive(Debug, Clone, Default)]
pub struct Violation {
    pub rivals: Vec<(Vec<Step>, Vec<Step>)>,
    /// Paths are scored by their raw scores (`Decoder::GlobalBeam`), not
    /// their log-probabilities.
    pub global: bool,
}

/// Which beam paths a violation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rivals {
    /// The beam's best path only (the structured perceptron's update).
    Best,
    /// Every path of the beam that scores above the annotated one.
    Beam,
}

/// A decision in the tree of paths: its parent, the speaker recorded, and
/// (when the decision was scored) the options it chose among and which.
struct Node {
    parent: usize,
    speaker: Option<usize>,
    step: Option<(usize, usize)>,
}

#[derive(Clone)]
struct Path {
    hist: History,
    log_p: f32,
    at: usize,
    /// Every decision so far is the annotated path's.
    annotated: bool,
}

/// The violations of one book under `model`'s beam.
pub fn violations(
    book: &Book,
    segments: &[Segment],
    known: &[KnownCharacter],
    label: Label<'_>,
    model: &Model,
    rivals: Rivals,
) -> Vec<Violation> {
    let (width, global) = match model.decoder {
        Decoder::Greedy => (1, false),
        Decoder::Beam(w) => (w.max(1), false),
        Decoder::GlobalBeam(w) => (w.max(1), true),
    };
    // A decision's score, as the decoder adds it up.
    let gains = |options: &Options| {
        if global {
            options.scores.clone()
        } else {
            options.log_probs()
        }
    };
    let ctx = Context::build(book, segments, known);
    let cues: Vec<Cues> = ctx.quotes.iter().map(|q| cues::cues(&ctx, q)).collect();
    let root = || Node {
        parent: usize::MAX,
        speaker: None,
        step: None,
    };
    let mut arena = vec![root()];
    let mut store: Vec<Vec<Vec<(u16, f32)>>> = Vec::new();
    let mut gold = Path {
        hist: History::default(),
        log_p: 0.0,
        at: 0,
        annotated: true,
    };
    let mut beam = vec![gold.clone()];
    let mut out = Vec::new();
    for (q, c) in ctx.quotes.iter().zip(&cues) {
        // The annotated path's decision.
        gold.hist.enter(&ctx, q);
        let options = Options::new(&ctx, c, &gold.hist, Some(model));
        let ranked = options.ranked();
        let gold_speaker = if ranked.is_empty() || options.best(c).is_none() {
            arena.push(Node {
                parent: gold.at,
                speaker: None,
                step: None,
            });
            None
        } else {
            let right = labels(&ctx, q.seg, &options, label);
            let pick = ranked
                .iter()
                .copied()
                .find(|&i| right[i] == Some(true))
                .unwrap_or(ranked[0]);
            gold.log_p += gains(&options)[pick];
            store.push(options.feats.clone());
            arena.push(Node {
                parent: gold.at,
                speaker: options.cands[pick].id(),
                step: Some((store.len() - 1, pick)),
            });
            options.cands[pick].id()
        };
        gold.at = arena.len() - 1;
        gold.hist.record(gold_speaker);

        // The beam, as the decoder runs it.
        let mut next: Vec<Path> = Vec::with_capacity(beam.len() * width);
        for mut h in beam {
            h.hist.enter(&ctx, q);
            let options = Options::new(&ctx, c, &h.hist, Some(model));
            let ranked = options.ranked();
            if ranked.is_empty() || options.best(c).is_none() {
                arena.push(Node {
                    parent: h.at,
                    speaker: None,
                    step: None,
                });
                h.hist.record(None);
                next.push(Path {
                    at: arena.len() - 1,
                    annotated: h.annotated && gold_speaker.is_none(),
                    ..h
                });
                continue;
            }
            let log_probs = gains(&options);
            store.push(options.feats);
            let opts = store.len() - 1;
            for &i in ranked.iter().take(width) {
                let speaker = options.cands[i].id();
                let mut hist = h.hist.clone();
                hist.record(speaker);
                arena.push(Node {
                    parent: h.at,
                    speaker,
                    step: Some((opts, i)),
                });
                next.push(Path {
                    hist,
                    log_p: h.log_p + log_probs[i],
                    at: arena.len() - 1,
                    annotated: h.annotated && speaker == gold_speaker,
                });
            }
        }
        next.sort_by(|a, b| b.log_p.total_cmp(&a.log_p));
        next.truncate(width);
        if next.iter().any(|h| h.annotated) {
            beam = next;
            continue;
        }
        out.push(violation(&arena, &store, &next, &gold, rivals, global));
        // Start again from the annotated path.
        arena = vec![root()];
        store.clear();
        gold.at = 0;
        gold.log_p = 0.0;
        beam = vec![gold.clone()];
    }
    // The annotated path kept in the beam but not on top.
    if beam.first().is_some_and(|h| !h.annotated) {
        let ahead: Vec<Path> = beam
            .iter()
            .take_while(|h| !h.annotated && h.log_p > gold.log_p)
            .cloned()
            .collect();
        if !ahead.is_empty() {
            out.push(violation(&arena, &store, &ahead, &gold, rivals, global));
        }
    }
    out
}

fn violation(
    arena: &[Node],
    store: &[Vec<Vec<(u16, f32)>>],
    beam: &[Path],
    gold: &Path,
    rivals: Rivals,
    global: bool,
) -> Violation {
    let walk = |mut at: usize| {
        let mut nodes = Vec::new();
        while at != 0 {
            nodes.push(at);
            at = arena[at].parent;
        }
        nodes.reverse();
        nodes
    };
    let steps = |nodes: &[usize]| -> Vec<Step> {
        nodes
            .iter()
            .filter_map(|&n| arena[n].step)
            .map(|(opts, chosen)| Step {
                feats: store[opts].clone(),
                chosen,
            })
            .collect()
    };
    let gold_nodes = walk(gold.at);
    let take = match rivals {
        Rivals::Best => 1,
        Rivals::Beam => beam.len(),
    };
    let rivals = beam
        .iter()
        .take(take)
        .map(|h| {
            let nodes = walk(h.at);
            // Both paths start from the same state; up to the first
            // decision where they differ their histories, and so their
            // steps, are the same and cancel.
            let shared = nodes
                .iter()
                .zip(&gold_nodes)
                .take_while(|&(&a, &b)| arena[a].speaker == arena[b].speaker)
                .count();
            (steps(&nodes[shared..]), steps(&gold_nodes[shared..]))
        })
        .collect();
    Violation { rivals, global }
}

/// A path's summed log-probability (`global`: summed raw score); with
/// `grad`, also adds `coef` times its gradient.
fn path_score(steps: &[Step], global: bool, w: &[f64], grad: Option<(&mut [f64], f64)>) -> f64 {
    let mut total = 0.0;
    let mut grad = grad;
    let mut scores: Vec<f64> = Vec::new();
    for step in steps {
        scores.clear();
        scores.extend(step.feats.iter().map(|f| {
            f.iter()
                .map(|&(i, x)| w[usize::from(i)] * f64::from(x))
                .sum::<f64>()
        }));
        if global {
            total += scores[step.chosen];
            if let Some((g, coef)) = grad.as_mut() {
                for &(i, x) in &step.feats[step.chosen] {
                    g[usize::from(i)] += *coef * f64::from(x);
                }
            }
            continue;
        }
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
        total += scores[step.chosen] - max - z.ln();
        if let Some((g, coef)) = grad.as_mut() {
            for (j, (f, s)) in step.feats.iter().zip(&scores).enumerate() {
                let d = f64::from(u8::from(j == step.chosen)) - (s - max).exp() / z;
                if d != 0.0 {
                    for &(i, x) in f {
                        g[usize::from(i)] += *coef * d * f64::from(x);
                    }
                }
            }
        }
    }
    total
}

/// `Σ log(1 + Σ exp(S(rival) − S(annotated)))` over the violations, and
/// its gradient added to `grad`.
pub fn loss_and_gradient(violations: &[Violation], w: &[f64], grad: &mut [f64]) -> f64 {
    let mut loss = 0.0;
    for v in violations {
        let margins: Vec<f64> = v
            .rivals
            .iter()
            .map(|(rival, gold)| {
                path_score(rival, v.global, w, None) - path_score(gold, v.global, w, None)
            })
            .collect();
        let top = margins.iter().copied().fold(0.0f64, f64::max);
        let z = (-top).exp() + margins.iter().map(|m| (m - top).exp()).sum::<f64>();
        loss += top + z.ln();
        for ((rival, gold), m) in v.rivals.iter().zip(&margins) {
            let share = (m - top).exp() / z;
            path_score(rival, v.global, w, Some((grad, share)));
            path_score(gold, v.global, w, Some((grad, -share)));
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(chosen: usize) -> Step {
        Step {
            feats: vec![vec![(0, 1.0), (2, 0.5)], vec![(1, 1.0)], vec![(2, 1.0)]],
            chosen,
        }
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        for global in [false, true] {
            check_gradient(global);
        }
    }

    fn check_gradient(global: bool) {
        let v = Violation {
            rivals: vec![
                (vec![step(1), step(2)], vec![step(0), step(0)]),
                (vec![step(2)], vec![step(0)]),
            ],
            global,
        };
        let width = crate::attribute::features::width();
        let mut w = vec![0.0; width];
        w[..3].copy_from_slice(&[0.3, -0.2, 0.1]);
        let mut grad = vec![0.0; width];
        loss_and_gradient(std::slice::from_ref(&v), &w, &mut grad);
        for i in 0..3 {
            let at = |d: f64| {
                let mut x = w.clone();
                x[i] += d;
                loss_and_gradient(std::slice::from_ref(&v), &x, &mut vec![0.0; width])
            };
            let numeric = (at(1e-5) - at(-1e-5)) / 2e-5;
            assert!(
                (numeric - grad[i]).abs() < 1e-6,
                "{global} {i}: {numeric} {}",
                grad[i]
            );
        }
    }

    #[test]
    fn the_loss_falls_as_the_annotated_path_pulls_ahead() {
        let v = Violation {
            rivals: vec![(vec![step(1)], vec![step(0)])],
            global: false,
        };
        let width = crate::attribute::features::width();
        let mut behind = vec![0.0; width];
        behind[1] = 2.0;
        let mut ahead = vec![0.0; width];
        ahead[0] = 2.0;
        let loss =
            |w: &[f64]| loss_and_gradient(std::slice::from_ref(&v), w, &mut vec![0.0; width]);
        assert!(loss(&ahead) < loss(&behind));
        assert!(loss(&ahead) > 0.0);
    }
}
