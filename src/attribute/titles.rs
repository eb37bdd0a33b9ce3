//! Bare titles in tags, in the user's cast: "said the doctor" is the
//! doctor the chapter has named ("Doctor Hale", introduced as "Mr. Hale"
//! a page before), not a separate cast entry "The Doctor" kept for some
//! other doctor of the book. Built on the mentions [`Context`] finds, so
//! it runs once they are known and before anything counts tags.

use super::context::{Context, QuoteTag, TagKind};
use super::lexicon;

/// Gives each tag whose description is a bare title ("the doctor", "the
/// colonel") to the latest cast entry holding that title in one of its
/// names and mentioned earlier in the same chapter. With no such mention
/// the tag keeps what the description matched (an entry, or no one).
pub fn to_named_holders(ctx: &mut Context<'_>) {
    if !ctx.roster.closed {
        return;
    }
    let mut chapter_mentions: Vec<(usize, usize, usize)> = Vec::new();
    for (i, ms) in ctx.mentions.iter().enumerate() {
        let chapter = ctx.segments[i].chapter;
        chapter_mentions.extend(ms.iter().map(|&(at, id)| (chapter, at, id)));
    }
    for seg in 0..ctx.tags.len() {
        let Some(tag) = ctx.tags[seg] else { continue };
        let Some(d) = tag.description else { continue };
        let title = ctx.descriptions[d as usize].as_str();
        if title.contains(' ') || lexicon::title(title).is_none() {
            continue;
        }
        let holders = ctx.roster.title_holders(title);
        if let TagKind::Names(id) = tag.kind
            && holders.contains(&id)
        {
            continue;
        }
        let chapter = ctx.segments[seg].chapter;
        let latest = chapter_mentions
            .iter()
            .filter(|&&(c, at, id)| c == chapter && at < tag.at && holders.contains(&id))
            .max_by_key(|&&(_, at, _)| at);
        if let Some(&(_, _, id)) = latest {
            ctx.tags[seg] = Some(QuoteTag {
                kind: TagKind::Names(id),
                ..tag
            });
            if let TagKind::Names(old) = tag.kind {
                ctx.tag_count[old] -= 1;
            }
            ctx.tag_count[id] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::attribute::context::{Context, TagKind};
    use crate::attribute::{KnownCharacter, known};
    use crate::core::Gender;
    use crate::ingest::book_from_text;
    use crate::segment::segment_book;

    fn entry(name: &str, aliases: &[&str]) -> KnownCharacter {
        known(name, aliases, Some(Gender::Male))
    }

    /// The chapter that named Mr. Hale gives him "said the doctor"; the
    /// chapter that did not keeps the cast's own "The Doctor".
    #[test]
    fn a_bare_title_goes_to_the_holder_the_chapter_named() {
        let text = "Chapter 1\n\nThe boy lay ill.\n\n\"Drink this,\" said the doctor.\n\n\
                    Chapter 2\n\nMr. Hale came to the house at noon.\n\n\
                    \"Rest now,\" said the doctor.\n";
        let known = [
            entry("The Doctor", &["Doctor"]),
            entry("Mr. Hale", &["Doctor Hale"]),
        ];
        let book = book_from_text(Path::new("t.txt"), "UTF-8", text.to_owned());
        let segments = segment_book(&book);
        let ctx = Context::build(&book, &segments, &known);
        let kinds: Vec<TagKind> = ctx
            .quotes
            .iter()
            .map(|q| ctx.tags[q.seg].unwrap().kind)
            .collect();
        let generic = ctx.roster.lookup("The Doctor").unwrap();
        let hale = ctx.roster.lookup("Mr. Hale").unwrap();
        assert_eq!(kinds, [TagKind::Names(generic), TagKind::Names(hale)]);
        assert_eq!((ctx.tag_count[generic], ctx.tag_count[hale]), (1, 1));
    }
}
