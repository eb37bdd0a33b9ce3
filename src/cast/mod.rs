//! Cast: decide which voice speaks for the narrator and each character.
//!
//! voices.toml (see the commented example at the repo root) names voices
//! explicitly; everyone else is auto-cast from a pool.
//!
//! Auto-casting is a pure function of the explicit voices, the pool and the
//! characters in order of first appearance: each character in turn takes
//! the least-used pool voice of its gender or from `[pool] any` (any voice
//! when its gender is unknown or none fits), never the narrator's; ties go
//! to the voice that ranks first in a hash of (name, voice). So voices stay
//! distinct while the pool lasts, runs are repeatable, and a character who
//! appears later can never take an earlier character's voice. A name that
//! voices.toml lists as an alias shares the listed character's voice.
//!
//! Why persistence, not a cleverer hash: distinct voices from a finite pool
//! and "a new character never changes anyone's voice" cannot both hold for
//! a pure function of the names, because a newcomer found *earlier* in the
//! text (say after an attribution fix) must either collide with someone or
//! push them along. Choosing by name alone would collide at random long
//! before the pool is used up. Instead `castbook cast --write` writes each
//! new character's voice into voices.toml; explicit voices are never moved
//! and auto-casting steers around them, so once written a cast is fixed,
//! and newcomers only ever take what is left.

mod config;
pub mod pronounce;
pub mod write;

use std::collections::BTreeMap;

pub use config::{
    CharacterEntry, ConfigError, PoolVoice, Pronounce, VoicesFile, load_voices_file,
    parse_voices_file,
};
pub use pronounce::Lexicon;

use crate::attribute::{Character, KnownCharacter};
use crate::core::{Gender, Voice};

/// Where a character's voice came from, for `castbook cast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    VoicesFile,
    Auto,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CastMember {
    pub voice: Voice,
    pub source: Source,
    /// The voice as voices.toml would name it (`ENGINE:ID` or a `[voices]`
    /// name), for `cast --write`.
    pub reference: String,
}

/// The outcome of casting: one voice for the narrator, one per character.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub narrator: Voice,
    pub characters: BTreeMap<String, CastMember>,
    /// voices.toml `[pronounce]`, applied by `utter` to what engines are given.
    pub lexicon: Lexicon,
}

impl Cast {
    /// The voice for a segment spoken by `speaker` (None: the narrator).
    pub fn voice_for(&self, speaker: Option<&str>) -> &Voice {
        speaker
            .and_then(|name| self.characters.get(name))
            .map_or(&self.narrator, |member| &member.voice)
    }
}

/// The voices auto-casting uses where voices.toml names none: the
/// narrator's, and the pool (`ENGINE:ID`, gender). The built-in defaults
/// are espeak-ng's; the binary switches to Kokoro's when Kokoro is
/// installed and voices.toml names no engine (see
/// [`VoicesFile::names_an_engine`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    pub narrator: String,
    pub pool: Vec<(String, Gender)>,
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            narrator: "espeak:en-us".to_owned(),
            pool: default_pool(),
        }
    }
}

/// The built-in auto-cast pool: distinct espeak voices by gender.
pub fn default_pool() -> Vec<(String, Gender)> {
    let mut pool = Vec::new();
    for base in ["en-us", "en-gb-x-rp", "en-gb-scotland", "en-029"] {
        for n in 1..=5 {
            pool.push((format!("espeak:{base}+f{n}"), Gender::Female));
        }
        for n in 1..=7 {
            pool.push((format!("espeak:{base}+m{n}"), Gender::Male));
        }
    }
    pool
}

/// Characters from voices.toml, for assisted attribution.
pub fn known_characters(file: &VoicesFile) -> Vec<KnownCharacter> {
    file.characters
        .iter()
        .map(|(name, entry)| KnownCharacter {
            name: name.clone(),
            aliases: entry.aliases.iter().map(|a| a.get_ref().clone()).collect(),
            gender: entry.gender,
        })
        .collect()
}

/// Casts the narrator and `characters` (in order of first appearance).
pub fn cast(characters: &[Character], file: &VoicesFile) -> Result<Cast, ConfigError> {
    let narrator = match &file.narrator {
        Some(entry) => file.resolve(
            entry,
            entry
                .voice
                .as_ref()
                .map_or(file.defaults.narrator.as_str(), |v| v.get_ref().as_str()),
        )?,
        None => file.resolve(&CharacterEntry::default(), &file.defaults.narrator)?,
    };
    let pool: Vec<PoolVoice> = file
        .pool()?
        .into_iter()
        .filter(|p| p.label != narrator.label())
        .collect();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    let mut cast = BTreeMap::new();
    // Explicit voices first, so auto-casting avoids them.
    for (name, entry) in &file.characters {
        if let Some(reference) = &entry.voice {
            let voice = file.resolve(entry, reference.get_ref())?;
            *taken.entry(voice.label()).or_default() += 1;
            cast.insert(
                name.clone(),
                CastMember {
                    voice,
                    source: Source::VoicesFile,
                    reference: reference.get_ref().clone(),
                },
            );
        }
    }
    for character in characters {
        if cast.contains_key(&character.name) {
            continue;
        }
        // A name voices.toml lists as an alias speaks with that character's
        // voice, and is cast (once) under the listed name.
        let key = file
            .characters
            .iter()
            .find(|(_, entry)| entry.aliases.iter().any(|a| *a.get_ref() == character.name))
            .map_or(&character.name, |(owner, _)| owner);
        if let Some(member) = cast.get(key) {
            let member = member.clone();
            cast.insert(character.name.clone(), member);
            continue;
        }
        let entry = file.characters.get(key);
        let gender = entry.and_then(|e| e.gender).or(character.gender);
        let chosen = pick(key, gender, &pool, &taken).ok_or_else(|| ConfigError::Unplaced {
            message: format!(
                "the auto-cast pool has no voice besides the narrator's ({}); expected at least one more under [pool]",
                narrator.label()
            ),
        })?;
        *taken.entry(chosen.label.clone()).or_default() += 1;
        let default_entry = CharacterEntry::default();
        let voice = file.resolve(entry.unwrap_or(&default_entry), &chosen.reference)?;
        let member = CastMember {
            voice,
            source: Source::Auto,
            reference: chosen.reference.clone(),
        };
        cast.insert(key.clone(), member.clone());
        cast.insert(character.name.clone(), member);
    }
    Ok(Cast {
        narrator,
        characters: cast,
        lexicon: Lexicon::new(&file.lexicon()?),
    })
}

/// The least-used pool voice of a fitting gender, ties broken by a stable
/// hash of the name and the voice as written. None only for an empty pool.
fn pick<'a>(
    name: &str,
    gender: Option<Gender>,
    pool: &'a [PoolVoice],
    taken: &BTreeMap<String, usize>,
) -> Option<&'a PoolVoice> {
    // `[pool] any` voices suit everyone.
    let fits = |g: Gender| match gender {
        Some(Gender::Female) => matches!(g, Gender::Female | Gender::Unknown),
        Some(Gender::Male) => matches!(g, Gender::Male | Gender::Unknown),
        _ => true,
    };
    let candidates: Vec<&PoolVoice> = {
        let matching: Vec<_> = pool.iter().filter(|p| fits(p.gender)).collect();
        if matching.is_empty() {
            pool.iter().collect()
        } else {
            matching
        }
    };
    candidates.into_iter().min_by_key(|p| {
        let uses = taken.get(&p.label).copied().unwrap_or(0);
        let hash = blake3::hash(format!("{name}\u{0}{}", p.reference).as_bytes());
        (uses, *hash.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A found character with a couple of lines (shared by the cast tests).
    pub(super) fn character(name: &str, gender: Option<Gender>) -> Character {
        Character {
            name: name.to_owned(),
            aliases: vec![],
            gender,
            lines: 2,
            words: 9,
        }
    }

    #[test]
    fn auto_cast_is_distinct_stable_and_never_the_narrator() {
        let file = VoicesFile::default();
        let people = vec![
            character("Ines", Some(Gender::Female)),
            character("Ivo", Some(Gender::Male)),
            character("Greta", Some(Gender::Female)),
            character("Xavier", None),
        ];
        let first = cast(&people, &file).unwrap();
        let again = cast(&people, &file).unwrap();
        assert_eq!(first, again);
        let labels: Vec<String> = first.characters.values().map(|m| m.voice.label()).collect();
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), labels.len(), "{labels:?}");
        assert!(!labels.contains(&first.narrator.label()));
        assert!(first.characters["Ines"].voice.id.contains("+f"));
        assert!(first.characters["Ivo"].voice.id.contains("+m"));
    }

    #[test]
    fn later_characters_never_change_earlier_voices() {
        let file = VoicesFile::default();
        let mut people = vec![
            character("Ann", Some(Gender::Female)),
            character("Bob", Some(Gender::Male)),
        ];
        let before = cast(&people, &file).unwrap();
        people.push(character("Cleo", Some(Gender::Female)));
        let after = cast(&people, &file).unwrap();
        assert_eq!(before.characters["Ann"], after.characters["Ann"]);
        assert_eq!(before.characters["Bob"], after.characters["Bob"]);
    }

    #[test]
    fn written_voices_stay_put_when_a_newcomer_appears_earlier() {
        let people = vec![
            character("Ann", Some(Gender::Female)),
            character("Bea", Some(Gender::Female)),
            character("Cat", Some(Gender::Female)),
        ];
        let pool =
            "[pool]\nfemale = [\"espeak:en-us+f1\", \"espeak:en-us+f2\", \"espeak:en-us+f3\"]\n";
        let path = std::path::Path::new("voices.toml");
        let file = parse_voices_file(path, pool).unwrap();
        let before = cast(&people, &file).unwrap();
        let (text, _) = write::add_characters(Some(pool), &file, &people, &before).unwrap();
        let pinned = parse_voices_file(path, &text).unwrap();
        // Zoe is found first in the text and the pool is exhausted.
        let mut grown = vec![character("Zoe", Some(Gender::Female))];
        grown.extend(people.iter().cloned());
        let after = cast(&grown, &pinned).unwrap();
        for name in ["Ann", "Bea", "Cat"] {
            assert_eq!(before.characters[name].voice, after.characters[name].voice);
            assert_eq!(after.characters[name].source, Source::VoicesFile);
        }
        assert_eq!(after.characters["Zoe"].source, Source::Auto);
    }

    #[test]
    fn an_alias_found_as_a_character_shares_the_listed_voice() {
        let file = parse_voices_file(
            std::path::Path::new("voices.toml"),
            "[characters.\"Maren Holt\"]\naliases = [\"Maren\"]\ngender = \"female\"\n",
        )
        .unwrap();
        let people = vec![
            character("Maren", None),
            character("Bob", Some(Gender::Male)),
            character("Maren Holt", Some(Gender::Female)),
        ];
        let cast = cast(&people, &file).unwrap();
        assert_eq!(cast.characters["Maren"], cast.characters["Maren Holt"]);
        assert!(cast.characters["Maren"].voice.id.contains("+f"));
    }

    #[test]
    fn the_narrators_voice_is_never_auto_cast() {
        let file = parse_voices_file(
            std::path::Path::new("voices.toml"),
            "[narrator]\nvoice = \"espeak:en-us+f1\"\n[pool]\nfemale = [\"espeak:en-us+f1\", \"espeak:en-us+f2\"]\n",
        )
        .unwrap();
        let people: Vec<Character> = (0..4)
            .map(|n| character(&format!("P{n}"), Some(Gender::Female)))
            .collect();
        let cast = cast(&people, &file).unwrap();
        assert!(
            cast.characters
                .values()
                .all(|m| m.voice.label() == "espeak:en-us+f2")
        );
        let only_narrator = parse_voices_file(
            std::path::Path::new("voices.toml"),
            "[narrator]\nvoice = \"espeak:en-us+f1\"\n[pool]\nany = [\"espeak:en-us+f1\"]\n",
        )
        .unwrap();
        let err = super::cast(&people, &only_narrator)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no voice besides the narrator's"), "{err}");
    }

    proptest::proptest! {
        /// Once `cast --write` has run, a newcomer found anywhere in the
        /// text (pool full or not) leaves every written voice alone.
        #[test]
        fn newcomers_never_move_written_voices(
            names in proptest::collection::btree_set("[A-Z][a-z]{1,6}", 1..12),
            newcomer in "[A-Z][a-z]{1,6}X",
            at in 0usize..12,
            genders in proptest::collection::vec(0u8..3, 12),
        ) {
            let gender = |n: usize| match genders[n % genders.len()] {
                0 => Some(Gender::Female),
                1 => Some(Gender::Male),
                _ => None,
            };
            let people: Vec<Character> = names
                .iter()
                .enumerate()
                .map(|(n, name)| character(name, gender(n)))
                .collect();
            let file = VoicesFile::default();
            let before = cast(&people, &file).unwrap();
            let (text, _) = write::add_characters(None, &file, &people, &before).unwrap();
            let pinned = parse_voices_file(std::path::Path::new("v.toml"), &text).unwrap();
            let mut grown = people.clone();
            grown.insert(at.min(people.len()), character(&newcomer, gender(at)));
            let after = cast(&grown, &pinned).unwrap();
            for name in &names {
                proptest::prop_assert_eq!(&before.characters[name].voice, &after.characters[name].voice);
            }
            proptest::prop_assert_ne!(after.characters[&newcomer].voice.label(), after.narrator.label());
        }
    }

    #[test]
    fn a_full_pool_reuses_the_least_used_voice() {
        let file = VoicesFile::default();
        let people: Vec<Character> = (0..60)
            .map(|n| character(&format!("P{n}"), Some(Gender::Female)))
            .collect();
        let cast = cast(&people, &file).unwrap();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for member in cast.characters.values() {
            *counts.entry(member.voice.label()).or_default() += 1;
        }
        let max = counts.values().max().unwrap();
        let min = counts.values().min().unwrap();
        assert!(max - min <= 1, "{counts:?}");
    }
}
