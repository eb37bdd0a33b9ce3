//! Names inside quotes: who a quote addresses ("Yes, Greta." / "Greta,
//! come here!"), and the name the other characters call a first-person
//! narrator by ("Pell, come!").
//!
//! A vocative is a name set off by punctuation (or after "dear", "my",
//! "oh"); a name in apposition to a person noun ("His boy, Otto, shaved
//! me") is talked about, not addressed.

use std::collections::{HashMap, HashSet};

use super::characters::{self, Roster};
use super::lexicon;
use super::tokens::Tok;

fn is_boundary(t: Option<&Tok<'_>>) -> bool {
    t.is_none_or(|t| !t.word && t.is_punct(",.!?;:\"“”‘’'—–-"))
}

/// Characters addressed by name inside a quote (its tokens).
pub fn find(roster: &Roster, toks: &[Tok<'_>]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let Some((id, len)) = roster.match_at(toks, k) else {
            k += 1;
            continue;
        };
        let before = k.checked_sub(1).map(|p| &toks[p]);
        let after = toks.get(k + len);
        let before_ok = is_boundary(before)
            || before.is_some_and(|b| matches!(b.lower().as_str(), "dear" | "my" | "oh" | "o"));
        if before_ok && is_boundary(after) && !is_apposition(toks, k, len) && !out.contains(&id) {
            out.push(id);
        }
        k += len;
    }
    out
}

/// Whether the name at `toks[k..k + len]` renames the person noun before
/// it ("His boy, Otto, shaved me"; "the proprietor, Mr. Fenner, said so"):
/// a name set off by commas right after "his/her/the + person noun"
/// says who is talked about, not who is talked to. A vocative follows an
/// interjection or a clause ("Yes, Otto, ..."; "I know the way, Otto, ...").
fn is_apposition(toks: &[Tok<'_>], k: usize, len: usize) -> bool {
    let comma = |i: usize| toks.get(i).is_some_and(|t| t.is_punct(","));
    if k < 3 || !comma(k - 1) || !comma(k + len) {
        return false;
    }
    let noun = &toks[k - 2];
    let det = &toks[k - 3];
    noun.word
        && lexicon::person_noun(&noun.lower()).is_some()
        && det.word
        && matches!(
            det.lower().as_str(),
            "his" | "her" | "their" | "our" | "the"
        )
}

/// The first-person narrator's name, when the text reveals it: the name
/// other characters call out in the lines they say next to the narrator's
/// ("Pell, come here!"). `lines` are the tokens of each quote with its
/// speaker, in order; the name must be clearly the most frequent.
pub fn narrator_name(
    lines: &[(Vec<Tok<'_>>, Option<usize>)],
    narrator: usize,
    common: &HashSet<&str>,
) -> Option<String> {
    let mut counts: HashMap<String, (usize, String)> = HashMap::new();
    for (k, (ts, speaker)) in lines.iter().enumerate() {
        let Some(s) = *speaker else { continue };
        let near_narrator = [k.checked_sub(1), Some(k + 1)]
            .into_iter()
            .flatten()
            .filter_map(|j| lines.get(j))
            .any(|(_, sp)| *sp == Some(narrator));
        if s == narrator || !near_narrator {
            continue;
        }
        for display in called_names(ts, common) {
            let entry = counts
                .entry(characters::key(&display))
                .or_insert((0, display.clone()));
            entry.0 += 1;
            if display.len() > entry.1.len() {
                entry.1 = display;
            }
        }
    }
    dominant(counts)
}

/// The first-person narrator's name read before any line is decided: the
/// name set off in the quotes (`lines`: each quote's tokens, and whether
/// its tag says "I said") that the narration never writes, since a
/// first-person narration says "I", not the narrator's name. A name the narration does write belongs to
/// someone acting in the story, and one the narrator calls out ("I said")
/// is someone else's. It must be called in three quotes or more and at
/// least twice as often as any other such name.
pub fn narrator_called(
    lines: &[(Vec<Tok<'_>>, bool)],
    in_narration: &HashSet<&str>,
    common: &HashSet<&str>,
) -> Option<String> {
    let mut counts: HashMap<String, (usize, String)> = HashMap::new();
    for (ts, by_narrator) in lines {
        if *by_narrator {
            continue;
        }
        let mut seen = HashSet::new();
        for display in called_names(ts, common) {
            let written = display.split(' ').any(|w| in_narration.contains(w));
            if written {
                continue;
            }
            let k = characters::key(&display);
            if seen.insert(k.clone()) {
                counts.entry(k).or_insert((0, display)).0 += 1;
            }
        }
    }
    dominant(counts)
}

/// The name called most, when it is called in three quotes or more and at
/// least twice as often as any other (`counts`: key → (quotes, display)).
fn dominant(counts: HashMap<String, (usize, String)>) -> Option<String> {
    let mut ranked: Vec<(usize, String)> = counts.into_values().collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    match ranked.as_slice() {
        [(n, name)] if *n >= 3 => Some(name.clone()),
        [(n, name), (m, _), ..] if *n >= 3 && *n >= 2 * *m => Some(name.clone()),
        _ => None,
    }
}

/// Capitalised runs set off by punctuation that are not ordinary words.
fn called_names(ts: &[Tok<'_>], common: &HashSet<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ts.len() {
        if !ts[i].is_cap() {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < ts.len() && ts[j + 1].is_cap() {
            j += 1;
        }
        let run = &ts[i..=j];
        let ordinary = run.iter().any(|t| {
            common.contains(t.text().to_lowercase().as_str())
                || lexicon::is_never_name(&t.lower()) && lexicon::title(&t.lower()).is_none()
        });
        if !ordinary && is_boundary(i.checked_sub(1).map(|p| &ts[p])) && is_boundary(ts.get(j + 1))
        {
            out.push(run.iter().map(|t| t.text()).collect::<Vec<_>>().join(" "));
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::cast_of;
    use super::super::tokens::tokenize;
    use super::*;

    fn roster(names: &[&str]) -> Roster {
        Roster::from_known(&cast_of(names))
    }

    #[test]
    fn vocatives_are_names_set_off_by_punctuation() {
        let r = roster(&["Greta", "Otto", "Bob"]);
        let found = |s: &str| find(&r, &tokenize(s, 0, true));
        assert_eq!(found("Yes, Greta."), [0]);
        assert_eq!(found("Greta, come here! My dear Bob!"), [0, 2]);
        assert_eq!(found("I saw Greta today."), Vec::<usize>::new());
        // Apposition: talked about, not addressed.
        assert_eq!(found("His boy, Otto, shaved me."), Vec::<usize>::new());
    }

    #[test]
    fn the_narrator_is_the_name_called_next_to_their_lines() {
        let line = |s: &'static str, who: usize| (tokenize(s, 0, true), Some(who));
        let lines = vec![
            line("Pell, come!", 0),
            line("Why?", 1),
            line("Because, Pell.", 0),
            line("Well.", 1),
            line("Good, Pell.", 0),
            line("Fine.", 1),
        ];
        let common = HashSet::new();
        assert_eq!(narrator_name(&lines, 1, &common).as_deref(), Some("Pell"));
        assert_eq!(narrator_name(&lines[..3], 1, &common), None);
    }

    #[test]
    fn the_narrator_takes_a_name_called_out_three_times_and_never_written() {
        let line = |s: &'static str, by_narrator| (tokenize(s, 0, true), by_narrator);
        let lines = vec![
            line("I know, Sam.", false),
            line("Where were you?", true),
            line("Out, Sam. Go to bed.", false),
            line("Fine, Nell.", true),
            line("You owe me, Sam.", false),
        ];
        let common = HashSet::new();
        let none = HashSet::new();
        assert_eq!(
            narrator_called(&lines, &none, &common).as_deref(),
            Some("Sam")
        );
        // Twice is not enough.
        assert_eq!(narrator_called(&lines[..4], &none, &common), None);
        // A name the narration writes is someone acting in the story.
        let written = HashSet::from(["Sam"]);
        assert_eq!(narrator_called(&lines, &written, &common), None);
        // A name the narrator calls out ("I said") is someone else's.
        let lines: Vec<_> = lines.into_iter().map(|(t, _)| (t, true)).collect();
        assert_eq!(narrator_called(&lines, &none, &common), None);
    }
}
