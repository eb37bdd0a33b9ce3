//! Relatives named by a possessive ("— He'll be back, said her mother.",
//! "said my dad"). A speech tag like that usually points at someone already
//! in the scene, and the features treat it so (`TagKind::Related`). But
//! short stories and fan fiction often bring in a parent who is never
//! named: when nobody in the scene fits the relation (the relation's
//! gender, not the possessor), the relative becomes a character of her own
//! ("Kit's mother", or "Mother" for the first-person narrator's), reused
//! for later tags with the same relation to the same person, so her lines
//! get her own voice instead of the daughter's; a character the book has
//! under the relation's title and the possessor's family name ("Mrs.
//! Bumble" for Mr. Bumble's wife) is taken first. Only with no user cast:
//! a user's cast says who exists.

use super::characters::CharInfo;
use super::context::{Context, TagKind};
use super::lexicon;
use super::tags::{Subject, Tag};
use crate::core::Gender;

/// Paragraphs before and after a quote that make up its scene.
const SCENE_BEFORE: usize = 20;
const SCENE_AFTER: usize = 3;

/// Relatives made into characters: (possessor, relation) and the character.
pub type Relatives = Vec<((usize, &'static str), usize)>;

/// Turns kin tags with no fitting relative in the scene into tags naming a
/// new character, and returns the relatives made.
pub fn name_relatives(ctx: &mut Context<'_>, raw_tags: &[Option<Tag>]) -> Relatives {
    let mut made: Relatives = Vec::new();
    if ctx.roster.closed {
        return made;
    }
    for q in ctx.quotes.clone() {
        let Some(Tag {
            subject:
                Subject::Kin {
                    possessive,
                    noun,
                    gender,
                },
            at,
        }) = &raw_tags[q.seg]
        else {
            continue;
        };
        let Some(owner) = possessor(ctx, possessive, *at, q.para) else {
            continue;
        };
        let relation = (owner, relation_of(noun));
        let id = match made.iter().find(|(r, _)| *r == relation) {
            Some(&(_, id)) => id,
            None => {
                if scene_has_fit(ctx, q.para, owner, *gender) {
                    continue;
                }
                if let Some(id) = titled_relative(ctx, owner, relation.1, *gender) {
                    made.push((relation, id));
                    if let Some(tag) = &mut ctx.tags[q.seg] {
                        tag.kind = TagKind::Names(id);
                        tag.descriptive = false;
                    }
                    continue;
                }
                let name = if ctx.is_narrator(owner) {
                    capitalised(noun)
                } else {
                    format!("{}'s {noun}", ctx.roster.chars[owner].name)
                };
                // Not `Roster::lookup`: it would find the possessor herself
                // by her first name in "Kit's mother".
                let id = ctx.roster.add(
                    CharInfo {
                        name: name.clone(),
                        aliases: Vec::new(),
                        gender: Some(*gender),
                        is_narrator: false,
                        described: false,
                    },
                    &[name],
                );
                made.push((relation, id));
                id
            }
        };
        if let Some(tag) = &mut ctx.tags[q.seg] {
            // Resolved, the tag is as good as a name.
            tag.kind = TagKind::Names(id);
            tag.descriptive = false;
        }
    }
    made
}

/// Narration that names a made relative the same way ("Her mother
/// stirred the soup.") mentions her, as a name would.
pub fn add_mentions(ctx: &mut Context<'_>, made: &Relatives) {
    if made.is_empty() {
        return;
    }
    let mut para_of = vec![None; ctx.segments.len()];
    for (p, para) in ctx.paras.iter().enumerate() {
        for &s in &para.segments {
            para_of[s] = Some(p);
        }
    }
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (seg, toks) in ctx.toks.iter().enumerate() {
        let Some(para) = para_of[seg] else {
            continue;
        };
        for pair in toks.windows(2) {
            let possessive = pair[0].lower();
            let noun = pair[1].lower();
            if !pair[0].word || !pair[1].word || lexicon::kin_noun(&noun).is_none() {
                continue;
            }
            let Some(owner) = possessor(ctx, &possessive, pair[0].start(), para) else {
                continue;
            };
            let relation = (owner, relation_of(&noun));
            if let Some(&(_, id)) = made.iter().find(|(r, _)| *r == relation) {
                found.push((seg, pair[0].start(), id));
            }
        }
    }
    for (seg, at, id) in found {
        if !ctx.mentions[seg].iter().any(|&(m, _)| m == at) {
            ctx.mentions[seg].push((at, id));
            ctx.mentions[seg].sort_unstable();
            ctx.mention_count[id] += 1;
        }
    }
    ctx.all_mentions = ctx.mentions.iter().flatten().copied().collect();
}

/// A character the book already has under the family name with the
/// relation's title: "Mrs. Bumble" for "Mr. Bumble's wife" or "his mother"
/// said of Joe Hamilton ("Mrs. Hamilton"), "Mr. Hamilton" for her father.
fn titled_relative(
    ctx: &Context<'_>,
    owner: usize,
    relation: &str,
    gender: Gender,
) -> Option<usize> {
    let title = match relation {
        "wife" | "mother" | "grandmother" => "Mrs.",
        "husband" | "father" | "grandfather" => "Mr.",
        _ => return None,
    };
    let name = &ctx.roster.chars[owner].name;
    let mut words = name.split_whitespace();
    let surname = words.next_back()?;
    if words.next().is_none() || !surname.starts_with(char::is_uppercase) {
        return None;
    }
    ctx.roster
        .lookup(&format!("{title} {surname}"))
        .filter(|&id| id != owner && ctx.gender(id).is_none_or(|g| g == gender))
}

/// Whose relative the tag names: the narrator for "my", else the latest
/// character mentioned in the scene before it whose gender does not clash
/// with the possessive (names both sexes share have none).
fn possessor(ctx: &Context<'_>, possessive: &str, at: usize, para: usize) -> Option<usize> {
    let gender = match possessive {
        "my" => return ctx.narrator,
        "his" => Gender::Male,
        "her" => Gender::Female,
        _ => return None,
    };
    let from = scene_start(ctx, para);
    ctx.all_mentions[..ctx.mention_index(at)]
        .iter()
        .rev()
        .take_while(|&&(m, _)| m >= from)
        .map(|&(_, id)| id)
        .find(|&id| ctx.gender(id).is_none_or(|g| g == gender) && !ctx.is_narrator(id))
}

/// Whether someone mentioned in the scene could be the relative: of the
/// relation's gender or of no known gender, and neither the possessor nor
/// the first-person narrator (the narration never calls "I" "her mother").
fn scene_has_fit(ctx: &Context<'_>, para: usize, owner: usize, gender: Gender) -> bool {
    let (from, to) = (scene_start(ctx, para), scene_end(ctx, para));
    ctx.all_mentions
        .iter()
        .filter(|&&(m, _)| m >= from && m < to)
        .any(|&(_, id)| {
            id != owner && !ctx.is_narrator(id) && ctx.gender(id).is_none_or(|g| g == gender)
        })
}

fn scene_start(ctx: &Context<'_>, para: usize) -> usize {
    let chapter = ctx.paras[para].chapter;
    let first = (para.saturating_sub(SCENE_BEFORE)..=para)
        .find(|&p| ctx.paras[p].chapter == chapter)
        .unwrap_or(para);
    para_bytes(ctx, first).0
}

fn scene_end(ctx: &Context<'_>, para: usize) -> usize {
    let chapter = ctx.paras[para].chapter;
    let last = (para..=(para + SCENE_AFTER).min(ctx.paras.len() - 1))
        .rev()
        .find(|&p| ctx.paras[p].chapter == chapter)
        .unwrap_or(para);
    para_bytes(ctx, last).1
}

fn para_bytes(ctx: &Context<'_>, p: usize) -> (usize, usize) {
    let segs = &ctx.paras[p].segments;
    let start = segs.first().map_or(0, |&s| ctx.segments[s].range.start);
    let end = segs.last().map_or(start, |&s| ctx.segments[s].range.end);
    (start, end)
}

/// Familiar and formal words for one relation ("mum", "mother") are one
/// relative.
fn relation_of(noun: &str) -> &'static str {
    match noun {
        "mother" | "mum" | "mom" | "mama" | "mamma" | "mommy" | "mummy" | "ma" => "mother",
        "father" | "dad" | "daddy" | "papa" | "pa" | "pop" => "father",
        "grandmother" | "grandma" | "granny" | "gran" | "nan" => "grandmother",
        "grandfather" | "grandpa" | "granddad" | "grandad" => "grandfather",
        "aunt" | "auntie" | "aunty" => "aunt",
        "stepmother" => "stepmother",
        "stepfather" => "stepfather",
        "uncle" => "uncle",
        "wife" => "wife",
        "husband" => "husband",
        "sister" => "sister",
        "brother" => "brother",
        "daughter" => "daughter",
        "son" => "son",
        _ => "relative",
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::context::{Context, TagKind};
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    /// Who each quote's tag names, by name ("?" for a tag that names no one).
    fn tag_names(text: &str) -> Vec<String> {
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let ctx = Context::build(&book, &segments, &[]);
        ctx.quotes
            .iter()
            .filter_map(|q| ctx.tags[q.seg])
            .map(|t| match t.kind {
                TagKind::Names(id) => ctx.roster.chars[id].name.clone(),
                _ => "?".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_mother_no_one_in_the_scene_fits_is_a_character_of_her_own() {
        let text = "Chapter 1\n\nKit came in. Kit dropped her bag.\n\n\
                    \"Working late,\" said her mother.\n\n\"Again?\" asked Kit.\n\n\
                    \"Eat up,\" said her mother.\n";
        assert_eq!(tag_names(text), ["Kit's mother", "Kit", "Kit's mother"]);
    }

    #[test]
    fn a_woman_in_the_scene_may_be_the_mother() {
        let text = "Chapter 1\n\nKit came in. Kit dropped her bag. Mrs. Hale was at the stove.\n\n\
                    \"Working late,\" said her mother.\n\n\"Again?\" asked Kit.\n";
        assert_eq!(tag_names(text), ["?", "Kit"]);
    }

    #[test]
    fn the_first_person_narrators_father_is_father() {
        let text = "Chapter 1\n\nI came in late. I dropped my bag and I sat down.\n\n\
                    \"Eat up,\" said my dad.\n\n\"I'm not hungry,\" I said.\n\n\
                    \"Eat anyway,\" said my father.\n";
        assert_eq!(tag_names(text), ["Dad", "?", "Dad"]);
    }
}
