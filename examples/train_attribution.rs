//! Trains castbook's attribution model on the evaluation kit's annotated
//! stories, and optionally runs leave-one-story-out: for every story, a
//! model trained on the others, its predictions for that story, and the
//! model file (for `castbook --attribution-model`).
//!
//! ```text
//! cargo run --release --example train_attribution -- \
//!     --dev ../shared/eval/attribution/dev --voices VOICES_DIR --out MODEL \
//!     [--loso OUT_DIR] [--without GROUP,...] [--decoder greedy|beam:N|global:N]
//!     [--dagger N] [--dagger-histories greedy|decoder] [--steps N] [--l2 X]
//!     [--seq-rounds N] [--seq-rivals best|beam] [--seq-weight X] [--seq-crossfit K]
//! ```
//!
//! `--seq-rounds N` (1 by default) adds N rounds of sequence-level training
//! after the per-quote ones: the training stories are decoded with the
//! beam, and every place the annotated path drops out of it becomes a term
//! of the objective (`castbook::attribute::learn::violations`). The first
//! round decodes each story with a model trained without its group of
//! stories (`--seq-crossfit K`, 7 groups by default), so that the beam errs
//! on it as on a story it never saw; with the decoder ranking paths by raw
//! scores (`global:4`, the default) this is what the committed model uses
//! (`--seq-rounds 0 --decoder beam:4` gives the per-quote training of
//! before).
//!
//! `VOICES_DIR/<story>.toml` is each story's characters.json as a voices
//! file (see `scripts/attribution-voices`): the assisted mode's cast. Both
//! modes, end to end (no cast) and assisted, give training examples.
//! Everything is deterministic: stories in name order, fixed step counts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use castbook::attribute::learn::{
    self, Decoder, Example, FeatureGroup, Rivals, Teacher, TrainOptions, Violation,
};
use castbook::attribute::{self, KnownCharacter, Model};
use castbook::ingest::{self, Book, Reading};
use castbook::segment::{self, Segment, SegmentKind};
use castbook::{cast, script};
use unicode_normalization::UnicodeNormalization;

struct Args {
    dev: PathBuf,
    voices: PathBuf,
    out: Option<PathBuf>,
    loso: Option<PathBuf>,
    opts: TrainOptions,
    dagger: usize,
    /// DAgger rounds follow the decoder's own histories (the beam), not
    /// greedy ones.
    dagger_decoded: bool,
    /// Rounds of sequence-level training (`learn::violations`).
    seq_rounds: usize,
    seq_rivals: Rivals,
    /// The first sequence round decodes each training story with a model
    /// trained without it: the stories split in this many groups (0: the
    /// model being trained decodes its own stories).
    seq_crossfit: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        dev: PathBuf::new(),
        voices: PathBuf::new(),
        out: None,
        loso: None,
        opts: TrainOptions::default(),
        dagger: 1,
        dagger_decoded: false,
        seq_rounds: 1,
        seq_rivals: Rivals::Beam,
        seq_crossfit: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dev" => args.dev = value()?.into(),
            "--voices" => args.voices = value()?.into(),
            "--out" => args.out = Some(value()?.into()),
            "--loso" => args.loso = Some(value()?.into()),
            "--steps" => args.opts.steps = value()?.parse()?,
            "--l2" => args.opts.l2 = value()?.parse()?,
            "--dagger" => args.dagger = value()?.parse()?,
            "--seq-rounds" => args.seq_rounds = value()?.parse()?,
            "--seq-crossfit" => args.seq_crossfit = value()?.parse()?,
            "--seq-weight" => args.opts.seq_weight = value()?.parse()?,
            "--seq-rivals" => {
                args.seq_rivals = match value()?.as_str() {
                    "best" => Rivals::Best,
                    "beam" => Rivals::Beam,
                    v => bail!("--seq-rivals: expected best or beam, got {v:?}"),
                }
            }
            "--dagger-histories" => {
                args.dagger_decoded = match value()?.as_str() {
                    "greedy" => false,
                    "decoder" => true,
                    v => bail!("--dagger-histories: expected greedy or decoder, got {v:?}"),
                }
            }
            "--decoder" => {
                let v = value()?;
                args.opts.decoder = match v.split_once(':') {
                    None if v == "greedy" => Decoder::Greedy,
                    Some(("beam", w)) => Decoder::Beam(w.parse()?),
                    Some(("global", w)) => Decoder::GlobalBeam(w.parse()?),
                    _ => bail!("--decoder: expected greedy, beam:N or global:N, got {v:?}"),
                };
            }
            "--without" => {
                for name in value()?.split(',').filter(|s| !s.is_empty()) {
                    let g = FeatureGroup::parse(name).with_context(|| {
                        let all: Vec<&str> = FeatureGroup::ALL.iter().map(|g| g.name()).collect();
                        format!("--without: no group {name:?}; groups: {}", all.join(", "))
                    })?;
                    args.opts.without.push(g);
                }
            }
            _ => bail!("unknown argument {flag:?}; see the top of examples/train_attribution.rs"),
        }
    }
    if args.dev.as_os_str().is_empty() || args.voices.as_os_str().is_empty() {
        bail!("--dev DIR and --voices DIR are required");
    }
    Ok(args)
}

/// One story in one mode.
struct View {
    known: Vec<KnownCharacter>,
    assisted: bool,
}

struct Story {
    name: String,
    book: Book,
    segments: Vec<Segment>,
    /// Per segment: the annotated speaker's names, normalised.
    gold: Vec<Option<Vec<String>>>,
    views: [View; 2],
}

/// The scorer's name key: NFKC, curly apostrophes straight, whitespace
/// collapsed, case folded.
fn norm(name: &str) -> String {
    let s: String = name.nfkc().collect();
    let s = s.replace(['\u{2019}', '\u{2018}'], "'");
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn load_story(dir: &Path, voices: &Path) -> anyhow::Result<Story> {
    let name = dir
        .file_name()
        .context("story folder name")?
        .to_string_lossy()
        .into_owned();
    let book = ingest::read_book(&dir.join("text.txt"))?;
    let segments = segment::segment_book(&book);
    let gold = align_gold(&book, &segments, &dir.join("gold.jsonl"))?;
    let toml = voices.join(format!("{name}.toml"));
    let file = cast::load_voices_file(&toml).with_context(|| toml.display().to_string())?;
    let views = [
        View {
            known: Vec::new(),
            assisted: false,
        },
        View {
            known: cast::known_characters(&file),
            assisted: true,
        },
    ];
    Ok(Story {
        name,
        book,
        segments,
        gold,
        views,
    })
}

/// For every dialogue segment, the annotated quote it overlaps most
/// (counting characters inside the quote's spans).
fn align_gold(
    book: &Book,
    segments: &[Segment],
    path: &Path,
) -> anyhow::Result<Vec<Option<Vec<String>>>> {
    struct Gold {
        spans: Vec<(usize, usize)>,
        names: Vec<String>,
    }
    let mut golds = Vec::new();
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if v.get("scored").and_then(|s| s.as_bool()) == Some(false) {
            continue;
        }
        let (Some(start), Some(end)) = (v["start"].as_u64(), v["end"].as_u64()) else {
            bail!("{}: a quote without start/end", path.display());
        };
        let spans = match v.get("spans").and_then(|s| s.as_array()) {
            Some(list) => list
                .iter()
                .filter_map(|sp| Some((sp[0].as_u64()? as usize, sp[1].as_u64()? as usize)))
                .collect(),
            None => vec![(start as usize, end as usize)],
        };
        let mut names: Vec<String> = v["speaker"].as_str().map(norm).into_iter().collect();
        if let Some(list) = v.get("aliases").and_then(|a| a.as_array()) {
            names.extend(list.iter().filter_map(|a| a.as_str()).map(norm));
        }
        golds.push(Gold { spans, names });
    }
    let mut out = vec![None; segments.len()];
    let mut chars_before = 0;
    let mut cursor = 0;
    for (i, s) in segments.iter().enumerate() {
        chars_before += book.text[cursor..s.range.start].chars().count();
        let len = s.text(&book.text).chars().count();
        let (a, b) = (chars_before, chars_before + len);
        chars_before += len;
        cursor = s.range.end;
        if s.kind != SegmentKind::Dialogue {
            continue;
        }
        let overlap = |g: &Gold| -> usize {
            g.spans
                .iter()
                .map(|&(x, y)| y.min(b).saturating_sub(x.max(a)))
                .sum()
        };
        let first = golds.partition_point(|g| g.spans.last().is_some_and(|l| l.1 <= a));
        let best = golds[first..]
            .iter()
            .take_while(|g| g.spans[0].0 < b)
            .map(|g| (overlap(g), g))
            .filter(|(o, _)| *o > 0)
            .max_by_key(|(o, _)| *o);
        out[i] = best.map(|(_, g)| g.names.clone());
    }
    Ok(out)
}

fn examples(story: &Story, view: &View, teacher: Teacher<'_>) -> Vec<Example> {
    let label = |seg: usize, forms: &[&str]| {
        story.gold[seg]
            .as_ref()
            .map(|names| forms.iter().any(|f| names.contains(&norm(f))))
    };
    learn::examples(&story.book, &story.segments, &view.known, &label, teacher)
}

/// Trains on `stories`: teacher-forced examples first, then `dagger`
/// rounds adding examples collected under the previous model's decisions.
fn train(
    stories: &[&Story],
    gold_cache: &HashMap<(String, bool), Vec<Example>>,
    args: &Args,
) -> Model {
    let mut pool: Vec<Example> = Vec::new();
    for s in stories {
        for v in &s.views {
            pool.extend(gold_cache[&(s.name.clone(), v.assisted)].iter().cloned());
        }
    }
    let mut model = learn::train(&pool, &args.opts);
    for _ in 0..args.dagger {
        for s in stories {
            for v in &s.views {
                let teacher = if args.dagger_decoded {
                    Teacher::Decoded(&model)
                } else {
                    Teacher::Model(&model)
                };
                pool.extend(examples(s, v, teacher));
            }
        }
        model = learn::train(&pool, &args.opts);
    }
    let mut violations: Vec<Violation> = Vec::new();
    for round in 0..args.seq_rounds {
        let groups = if round == 0 { args.seq_crossfit } else { 0 };
        // Each group of stories decoded by a model trained on the others
        // (annotated histories only), so that it errs on them as a model
        // errs on a story it never saw.
        let fitted: Vec<Model> = (0..groups)
            .filter(|_| groups > 1)
            .map(|g| {
                let mut others: Vec<Example> = Vec::new();
                for (j, o) in stories.iter().enumerate() {
                    if j % groups != g {
                        for v in &o.views {
                            let ex = &gold_cache[&(o.name.clone(), v.assisted)];
                            others.extend(ex.iter().cloned());
                        }
                    }
                }
                learn::train(&others, &args.opts)
            })
            .collect();
        for (k, s) in stories.iter().enumerate() {
            let decoder = fitted.get(k % groups.max(1)).unwrap_or(&model);
            for v in &s.views {
                let label = |seg: usize, forms: &[&str]| {
                    s.gold[seg]
                        .as_ref()
                        .map(|names| forms.iter().any(|f| names.contains(&norm(f))))
                };
                violations.extend(learn::violations(
                    &s.book,
                    &s.segments,
                    &v.known,
                    &label,
                    decoder,
                    args.seq_rivals,
                ));
            }
        }
        if std::env::var_os("TRAIN_VERBOSE").is_some() {
            eprintln!("train_attribution: {} violations", violations.len());
        }
        model = learn::train_with(&pool, &violations, &args.opts, Some(&model));
    }
    if std::env::var_os("TRAIN_VERBOSE").is_some() {
        let w: Vec<f64> = model.weights.iter().map(|&x| f64::from(x)).collect();
        let (loss, _) = learn::loss_and_gradient(&pool, &w);
        eprintln!(
            "train_attribution: {} examples, mean loss {:.4}",
            pool.len(),
            loss / pool.len() as f64
        );
    }
    model
}

fn predict(story: &Story, view: &View, model: &Model, dir: &Path) -> anyhow::Result<()> {
    let attributed =
        attribute::attribute_with(&story.book, story.segments.clone(), &view.known, model);
    let mode = if view.assisted { "assisted" } else { "e2e" };
    std::fs::create_dir_all(dir.join(mode))?;
    let mut jsonl = Vec::new();
    // What `castbook script` writes by default (matter skipped).
    script::write_jsonl(&story.book, &attributed, Reading::default(), &mut jsonl)?;
    std::fs::write(dir.join(mode).join(format!("{}.jsonl", story.name)), jsonl)?;
    let scripts = dir.join(format!("{mode}-scripts"));
    std::fs::create_dir_all(&scripts)?;
    let mut text = Vec::new();
    script::write_text(&story.book, &attributed, Reading::default(), &mut text)?;
    std::fs::write(scripts.join(format!("{}.script", story.name)), text)?;
    Ok(())
}

/// Buckets examples by the kind of evidence they have, counting errors.
fn census(
    examples: &[Example],
    model: &Model,
    out: &mut std::collections::BTreeMap<String, (usize, usize)>,
) {
    let names = learn::feature_names();
    let has = |e: &Example, name: &str| {
        e.feats
            .iter()
            .any(|f| f.iter().any(|&(i, _)| names[usize::from(i)] == name))
    };
    for e in examples {
        let kind = if has(e, "tag_names") {
            "tag names"
        } else if has(e, "tag_names_descr") {
            "tag names a description"
        } else if has(e, "pron_match") || has(e, "pron_clash") {
            "pronoun tag"
        } else if has(e, "fp_tag") {
            "first-person tag"
        } else if has(e, "para_tag_names") || has(e, "para_tag_names_descr") {
            "paragraph tagged"
        } else if has(e, "unnamed_untagged") {
            "untagged"
        } else {
            "other tag"
        };
        let gold_named = e.gold[..e.gold.len() - 1].iter().any(|&g| g);
        let scores: Vec<f32> = e.feats.iter().map(|f| model.score(f)).collect();
        let best =
            (0..scores.len() - 1).max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)));
        let right = best.is_some_and(|b| e.gold[b]);
        let key = format!(
            "{kind}{}",
            if gold_named {
                ""
            } else {
                " (speaker not a candidate)"
            }
        );
        let entry = out.entry(key).or_default();
        entry.0 += 1;
        entry.1 += usize::from(!right);
    }
}

fn describe(args: &Args, stories: &[&Story]) -> String {
    let names: Vec<&str> = stories.iter().map(|s| s.name.as_str()).collect();
    let without: Vec<&str> = args.opts.without.iter().map(|g| g.name()).collect();
    format!(
        "castbook attribution model, trained by scripts/train-attribution\n\
         on {} stories: {}\n\
         options: steps {}, l2 {}, dagger {}{}, without [{}]{}",
        stories.len(),
        names.join(", "),
        args.opts.steps,
        args.opts.l2,
        args.dagger,
        if args.dagger_decoded {
            " (decoder histories)"
        } else {
            ""
        },
        without.join(", "),
        if args.seq_rounds > 0 {
            format!(
                ", sequence rounds {} ({:?} rivals, weight {}, cross-fitted in {})",
                args.seq_rounds, args.seq_rivals, args.opts.seq_weight, args.seq_crossfit
            )
        } else {
            String::new()
        }
    )
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&args.dev)
        .with_context(|| args.dev.display().to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("gold.jsonl").is_file())
        .collect();
    dirs.sort();
    let stories: Vec<Story> = dirs
        .iter()
        .map(|d| load_story(d, &args.voices))
        .collect::<anyhow::Result<_>>()?;
    let mut gold_cache = HashMap::new();
    for s in &stories {
        for v in &s.views {
            let ex = examples(s, v, Teacher::Gold);
            if std::env::var_os("TRAIN_VERBOSE").is_some() {
                let named = ex
                    .iter()
                    .filter(|e| e.gold[..e.gold.len() - 1].iter().any(|&g| g))
                    .count();
                let cands: usize = ex.iter().map(|e| e.gold.len()).sum();
                eprintln!(
                    "{:34} {:8} examples {:5}  right one among the candidates {:.3}  candidates/quote {:.1}",
                    s.name,
                    if v.assisted { "assisted" } else { "e2e" },
                    ex.len(),
                    named as f64 / ex.len().max(1) as f64,
                    cands as f64 / ex.len().max(1) as f64
                );
            }
            gold_cache.insert((s.name.clone(), v.assisted), ex);
        }
    }
    let all: Vec<&Story> = stories.iter().collect();
    if let Some(out) = &args.out {
        let model = train(&all, &gold_cache, &args);
        std::fs::write(out, model.to_text(&describe(&args, &all)))?;
        eprintln!("train_attribution: wrote {}", out.display());
    }
    if let Some(dir) = &args.loso {
        std::fs::create_dir_all(dir.join("models"))?;
        let mut situations: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        for held in &stories {
            let rest: Vec<&Story> = stories.iter().filter(|s| s.name != held.name).collect();
            let model = train(&rest, &gold_cache, &args);
            let path = dir.join("models").join(format!("{}.txt", held.name));
            std::fs::write(&path, model.to_text(&describe(&args, &rest)))?;
            for v in &held.views {
                predict(held, v, &model, dir)?;
                if std::env::var_os("TRAIN_VERBOSE").is_some() {
                    let top1 = |ex: &[Example]| {
                        let right = ex
                            .iter()
                            .filter(|e| {
                                let scores: Vec<f32> =
                                    e.feats.iter().map(|f| model.score(f)).collect();
                                let best = (0..scores.len() - 1).max_by(|&a, &b| {
                                    scores[a].total_cmp(&scores[b]).then(b.cmp(&a))
                                });
                                best.is_some_and(|b| e.gold[b])
                            })
                            .count();
                        right as f64 / ex.len().max(1) as f64
                    };
                    let forced = top1(&gold_cache[&(held.name.clone(), v.assisted)]);
                    let own_ex = examples(held, v, Teacher::Model(&model));
                    let own = top1(&own_ex);
                    census(&own_ex, &model, &mut situations);
                    if v.assisted {
                        for e in own_ex
                            .iter()
                            .filter(|e| !e.gold[..e.gold.len() - 1].contains(&true))
                        {
                            let seg = &held.segments[e.segment];
                            let text: String = seg.text(&held.book.text).chars().take(50).collect();
                            let names = held.gold[e.segment]
                                .as_ref()
                                .map(|n| n[0].clone())
                                .unwrap_or_default();
                            eprintln!(
                                "missing {}: {names:30} | {}",
                                held.name,
                                text.replace('\n', " ")
                            );
                        }
                    }
                    eprintln!(
                        "{:34} {:8} gold history {forced:.3}  own greedy history {own:.3}",
                        held.name,
                        if v.assisted { "assisted" } else { "e2e" }
                    );
                }
            }
            eprintln!("train_attribution: fold {} done", held.name);
        }
        for (k, (n, wrong)) in &situations {
            eprintln!(
                "situation {k:40} {n:6} quotes  {wrong:5} wrong ({:.3})",
                *wrong as f64 / *n as f64
            );
        }
    }
    Ok(())
}
