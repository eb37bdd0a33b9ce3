//! Style: how much a quote sounds like each character.
//!
//! Characters have an idiolect: the words they favour ("my dear",
//! "ma'am", "I say"), dialect spellings, the people they address, their
//! punctuation. Every character whose lines are tagged with their name
//! ("said Ida") gets a profile from those lines; an untagged quote is then
//! compared with each profile. The tagged lines are read from the book
//! being attributed, before any decision, so the evidence is the book's
//! own and needs no training data of its own; the model learns how much
//! to trust it.
//!
//! Words are weighed tf-idf over the book's quotes (a word every character
//! says tells nothing), and a quote is never compared with a profile that
//! includes its own paragraph (its own tag would make it look like its
//! speaker's, and the model would learn to trust style where it should
//! trust the tag).

use std::collections::{BTreeMap, HashMap};

use super::context::{Context, TagKind, segment_tokens};

/// Profiles built from fewer tagged lines than this are not used.
const MIN_LINES: usize = 3;

/// Words said in fewer quotes of the book than this are left out.
const MIN_DF: u32 = 3;

/// A sparse vector: (term, weight), sorted by term.
type Vector = Vec<(u32, f32)>;

/// A quote's similarity to one character's profile: the raw cosine and
/// its standard score among all the profiles it was compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Likeness {
    pub id: usize,
    pub cosine: f32,
    pub z: f32,
}

/// For every segment (empty for narration and where fewer than two
/// profiles exist): how much it sounds like each profiled character.
pub fn likeness(ctx: &Context<'_>) -> Vec<Vec<Likeness>> {
    let mut out = vec![Vec::new(); ctx.segments.len()];
    let mut terms: HashMap<String, u32> = HashMap::new();
    let mut counts: Vec<Vec<(u32, f32)>> = vec![Vec::new(); ctx.segments.len()];
    let mut df: Vec<u32> = Vec::new();
    for q in &ctx.quotes {
        let toks = segment_tokens(ctx.segments, ctx.text, q.seg);
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for t in &toks {
            let text = t.text();
            if !t.word && !matches!(text, "!" | "?" | ";" | "—" | "--" | "…") {
                continue;
            }
            let next = terms.len() as u32;
            let id = *terms.entry(t.lower()).or_insert(next);
            *tf.entry(id).or_default() += 1.0;
        }
        df.resize(terms.len(), 0);
        for &id in tf.keys() {
            df[id as usize] += 1;
        }
        let mut v: Vector = tf.into_iter().collect();
        v.sort_unstable_by_key(|&(id, _)| id);
        counts[q.seg] = v;
    }
    let n = ctx.quotes.len().max(1) as f32;
    // A word said in fewer than [`MIN_DF`] quotes cannot be shared by a
    // quote and a profile that leaves the quote's paragraph out often
    // enough to be evidence; it only adds noise to the norms.
    let idf: Vec<f32> = df
        .iter()
        .map(|&d| {
            if d >= MIN_DF {
                (n / d as f32).ln()
            } else {
                0.0
            }
        })
        .collect();
    let vectors: Vec<Vector> = counts
        .into_iter()
        .map(|v| {
            let mut v: Vector = v
                .into_iter()
                .map(|(id, c)| (id, (1.0 + c.ln()) * idf[id as usize]))
                .filter(|&(_, w)| w > 0.0)
                .collect();
            let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (_, w) in &mut v {
                    *w /= norm;
                }
            }
            v
        })
        .collect();

    // Who a line is known to be by: its own tag names them, or it has no
    // tag and its paragraph's tags name them and no one else.
    let tagged = |seg: usize, para: usize| -> Option<usize> {
        match ctx.tags[seg] {
            Some(t) => match t.kind {
                TagKind::Names(id) if !t.descriptive => Some(id),
                _ => None,
            },
            None => {
                let mut who = None;
                for &o in &ctx.paras[para].quotes {
                    let t = ctx.tags[ctx.quotes[o].seg]?;
                    match t.kind {
                        TagKind::Names(id) if !t.descriptive && who.is_none_or(|w| w == id) => {
                            who = Some(id);
                        }
                        _ => return None,
                    }
                }
                who
            }
        }
    };
    // Profiles (dense over the book's words, so that every sum runs in one
    // fixed order and training stays deterministic), and what each
    // paragraph put into them.
    let mut profiles: BTreeMap<usize, (Vec<f32>, usize)> = BTreeMap::new();
    let mut by_para: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for q in &ctx.quotes {
        let Some(id) = tagged(q.seg, q.para) else {
            continue;
        };
        let (profile, lines) = profiles
            .entry(id)
            .or_insert_with(|| (vec![0.0; terms.len()], 0));
        for &(t, w) in &vectors[q.seg] {
            profile[t as usize] += w;
        }
        *lines += 1;
        by_para.entry(q.para).or_default().push((id, q.seg));
    }
    let norms: BTreeMap<usize, f32> = profiles
        .iter()
        .map(|(&id, (p, _))| (id, p.iter().map(|w| w * w).sum::<f32>()))
        .collect();

    for q in &ctx.quotes {
        let v = &vectors[q.seg];
        if v.is_empty() {
            continue;
        }
        let own = by_para.get(&q.para).map_or(&[][..], Vec::as_slice);
        let mut sims: Vec<Likeness> = Vec::with_capacity(profiles.len());
        for (&id, (profile, lines)) in &profiles {
            // The profile without this paragraph's lines.
            let mut removed: BTreeMap<u32, f32> = BTreeMap::new();
            let mut own_lines = 0;
            for &(who, seg) in own {
                if who == id {
                    own_lines += 1;
                    for &(t, w) in &vectors[seg] {
                        *removed.entry(t).or_default() += w;
                    }
                }
            }
            if lines - own_lines < MIN_LINES {
                continue;
            }
            let weight = |t: u32| profile[t as usize] - removed.get(&t).copied().unwrap_or(0.0);
            let dot: f32 = v.iter().map(|&(t, w)| w * weight(t)).sum();
            let mut norm2 = norms[&id];
            for (&t, &r) in &removed {
                let p = profile[t as usize];
                norm2 += (p - r) * (p - r) - p * p;
            }
            if norm2 <= 1e-9 {
                continue;
            }
            sims.push(Likeness {
                id,
                cosine: dot / norm2.sqrt(),
                z: 0.0,
            });
        }
        if sims.len() < 2 {
            continue;
        }
        let mean = sims.iter().map(|s| s.cosine).sum::<f32>() / sims.len() as f32;
        let var = sims
            .iter()
            .map(|s| (s.cosine - mean) * (s.cosine - mean))
            .sum::<f32>()
            / sims.len() as f32;
        let sd = var.sqrt().max(1e-6);
        for s in &mut sims {
            s.z = ((s.cosine - mean) / sd).clamp(-3.0, 3.0);
        }
        out[q.seg] = sims;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::attribute::cast_of;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    #[test]
    fn an_untagged_line_sounds_like_whoever_says_its_words_and_never_like_itself() {
        let text = "Title\n\n\"My dear, it rains,\" said Ida.\n\n\"Old chap, it pours,\" said Bob.\n\n\
                    \"My dear, it is cold,\" said Ida.\n\n\"Old chap, go home,\" said Bob.\n\n\
                    \"My dear, no,\" said Ida.\n\n\"Old chap, yes,\" said Bob.\n\n\
                    \"Oh, my dear, my dear.\"\n";
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let cast = cast_of(&["Ida", "Bob"]);
        let ctx = Context::build(&book, &segments, &cast);
        let (ida, bob) = (
            ctx.roster.lookup("Ida").unwrap(),
            ctx.roster.lookup("Bob").unwrap(),
        );
        let last = &ctx.style[ctx.quotes[6].seg];
        let of = |id: usize| last.iter().find(|l| l.id == id).unwrap();
        assert!(of(ida).cosine > 0.5, "{last:?}");
        assert_eq!(of(bob).cosine, 0.0);
        assert!(of(ida).z > 0.0 && of(bob).z < 0.0);
        // Ida's first line, left out of her profile, leaves two lines:
        // too few for a profile, and one profile is nothing to compare.
        assert!(ctx.style[ctx.quotes[0].seg].is_empty());
    }
}
