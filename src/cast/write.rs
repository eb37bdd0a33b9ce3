//! What `castbook cast` shows and writes: the cast table, and voices.toml
//! with newly found characters added.
//!
//! voices.toml is edited with toml_edit, so the user's entries, comments,
//! formatting and order survive untouched; new characters are appended to
//! `[characters]` with the voice they were auto-cast, which pins that voice
//! (see the module doc of `cast` for why). Only characters not already in
//! the file are added, so a second run changes nothing.

use toml_edit::{Array, DocumentMut, Item, Table, value};

use super::{Cast, Source, VoicesFile};
use crate::attribute::Character;
use crate::core::Gender;

/// The characters and their voices as an aligned text table, narrator first.
/// `new` names characters found in the text that voices.toml doesn't list
/// (see [`newcomers`]); their FROM is `new`.
pub fn table(
    characters: &[Character],
    cast: &Cast,
    narrator_from_file: bool,
    new: &[String],
) -> String {
    let mut rows: Vec<[String; 7]> = vec![
        [
            "CHARACTER",
            "ALIASES",
            "GENDER",
            "LINES",
            "WORDS",
            "VOICE",
            "FROM",
        ]
        .map(str::to_owned),
        [
            "(narrator)".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            cast.narrator.label(),
            source_name(if narrator_from_file {
                Source::VoicesFile
            } else {
                Source::Auto
            })
            .to_owned(),
        ],
    ];
    for character in characters {
        let (voice, source) =
            cast.characters
                .get(&character.name)
                .map_or((cast.narrator.label(), "narrator"), |m| {
                    let from = if new.contains(&character.name) {
                        "new"
                    } else {
                        source_name(m.source)
                    };
                    (m.voice.label(), from)
                });
        rows.push([
            character.name.clone(),
            character.aliases.join(", "),
            gender_name(character.gender).to_owned(),
            character.lines.to_string(),
            character.words.to_string(),
            voice,
            source.to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            // Numbers right-aligned, text left-aligned.
            let cell = if c == 3 || c == 4 {
                format!("{cell:>w$}", w = widths[c])
            } else {
                format!("{cell:<w$}", w = widths[c])
            };
            line.push_str(&cell);
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::VoicesFile => "voices.toml",
        Source::Auto => "auto",
    }
}

fn gender_name(gender: Option<Gender>) -> &'static str {
    match gender {
        Some(Gender::Female) => "female",
        Some(Gender::Male) => "male",
        Some(Gender::Unknown) | None => "?",
    }
}

/// Whether voices.toml lists `character`, under its name or an alias
/// (either way round, ignoring case).
pub fn listed(file: &VoicesFile, character: &Character) -> bool {
    let names: Vec<String> = std::iter::once(&character.name)
        .chain(&character.aliases)
        .map(|n| n.to_lowercase())
        .collect();
    file.characters.iter().any(|(key, entry)| {
        std::iter::once(key.to_lowercase())
            .chain(entry.aliases.iter().map(|a| a.get_ref().to_lowercase()))
            .any(|n| names.contains(&n))
    })
}

/// Characters that attribution without a cast (`found`) discovers but
/// voices.toml doesn't list and the cast-assisted pass (`roster`) doesn't
/// have. Attribution with a cast file only uses the file's names, so
/// without this `cast --write` could never grow an existing file.
pub fn newcomers(found: &[Character], file: &VoicesFile, roster: &[Character]) -> Vec<Character> {
    found
        .iter()
        .filter(|c| !listed(file, c) && !roster.iter().any(|r| r.name == c.name))
        .cloned()
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not valid TOML")]
    Toml(#[from] toml_edit::TomlError),
    #[error("`characters` is not a table; expected [characters.NAME] tables")]
    NotATable,
}

/// `source` (the current voices.toml, or None to start one) with every
/// auto-cast character that the file doesn't name yet added, each with its
/// gender guess, aliases and voice. Returns the new text and who was added.
pub fn add_characters(
    source: Option<&str>,
    file: &VoicesFile,
    characters: &[Character],
    cast: &Cast,
) -> Result<(String, Vec<String>), WriteError> {
    let mut doc: DocumentMut = match source {
        Some(text) => text.parse()?,
        None => {
            let mut doc: DocumentMut = concat!(
                "# castbook cast file: voices for the narrator and each character.\n",
                "# Voices are ENGINE:ID (see `castbook voices`). Edit freely; `castbook cast --write`\n",
                "# only ever adds characters it has not seen before.\n",
            )
            .parse()?;
            let mut narrator = Table::new();
            narrator["voice"] = value(cast.narrator.label());
            doc.insert("narrator", Item::Table(narrator));
            doc
        }
    };
    let known = |name: &str| {
        file.characters
            .iter()
            .any(|(key, entry)| key == name || entry.aliases.iter().any(|a| a.get_ref() == name))
    };
    let new: Vec<&Character> = characters
        .iter()
        .filter(|c| !known(&c.name))
        .filter(|c| {
            cast.characters
                .get(&c.name)
                .is_some_and(|m| m.source == Source::Auto)
        })
        .collect();
    if new.is_empty() {
        return Ok((doc.to_string(), Vec::new()));
    }
    let table = characters_table(&mut doc)?;
    let mut added = Vec::new();
    for character in new {
        let mut entry = Table::new();
        entry.decor_mut().set_prefix(format!(
            "\n# Found by `castbook cast`: {} line(s), {} word(s).\n",
            character.lines, character.words
        ));
        if !character.aliases.is_empty() {
            entry["aliases"] = value(character.aliases.iter().collect::<Array>());
        }
        if let Some(gender @ (Gender::Female | Gender::Male)) = character.gender {
            entry["gender"] = value(gender_name(Some(gender)));
        }
        entry["voice"] = value(cast.characters[&character.name].reference.clone());
        table.insert(&character.name, Item::Table(entry));
        added.push(character.name.clone());
    }
    Ok((doc.to_string(), added))
}

/// The `[characters]` table of `doc`, made (implicit, so no empty
/// `[characters]` header is written) when the file has none yet.
fn characters_table(doc: &mut DocumentMut) -> Result<&mut Table, WriteError> {
    doc.entry("characters")
        .or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_mut()
        .ok_or(WriteError::NotATable)
}

/// `source` (the current voices.toml, or None to start one) with one
/// entry changed: the narrator's when `name` is None, else the character
/// voices.toml lists under `name` or an alias of it (a new
/// `[characters."NAME"]` table when none does). `voice`: None leaves it,
/// `Some(None)` removes it (auto-cast again), `Some(Some(v))` sets it;
/// `gender` None leaves it (`Gender::Unknown` removes it). Everything
/// else in the file, comments included, is kept as it was.
pub fn set_entry(
    source: Option<&str>,
    file: &VoicesFile,
    name: Option<&str>,
    voice: Option<Option<&str>>,
    gender: Option<Gender>,
) -> Result<String, WriteError> {
    let mut doc: DocumentMut = source.unwrap_or_default().parse()?;
    let entry = match name {
        None => doc
            .entry("narrator")
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or(WriteError::NotATable)?,
        Some(name) => {
            let key = entry_key(file, name).unwrap_or(name).to_owned();
            let characters = characters_table(&mut doc)?;
            characters
                .entry(&key)
                .or_insert_with(|| Item::Table(Table::new()))
                .as_table_mut()
                .ok_or(WriteError::NotATable)?
        }
    };
    match gender {
        Some(Gender::Unknown) => {
            entry.remove("gender");
        }
        Some(gender) => set_keeping_comment(entry, "gender", gender_name(Some(gender))),
        None => {}
    }
    match voice {
        Some(None) => {
            entry.remove("voice");
        }
        Some(Some(voice)) => set_keeping_comment(entry, "voice", voice),
        None => {}
    }
    Ok(doc.to_string())
}

/// Sets `key` to the string `new`, keeping the comment and spacing around
/// the old value, if there was one.
fn set_keeping_comment(table: &mut Table, key: &str, new: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = new.into();
            *old.decor_mut() = decor;
        }
        None => table[key] = value(new),
    }
}

/// The `[characters]` key voices.toml lists `name` under: the key itself
/// or the entry with that alias (exactly, else ignoring case).
pub fn entry_key<'a>(file: &'a VoicesFile, name: &str) -> Option<&'a str> {
    let matches = |key: &str, entry: &super::CharacterEntry, same: &dyn Fn(&str) -> bool| {
        same(key) || entry.aliases.iter().any(|a| same(a.get_ref()))
    };
    let exact = |n: &str| n == name;
    let folded = |n: &str| n.to_lowercase() == name.to_lowercase();
    [&exact as &dyn Fn(&str) -> bool, &folded]
        .into_iter()
        .find_map(|same| {
            file.characters
                .iter()
                .find(|(key, entry)| matches(key, entry, same))
                .map(|(key, _)| key.as_str())
        })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::character;
    use super::*;
    use crate::cast::{cast, parse_voices_file};

    #[test]
    fn keeps_comments_and_order_and_is_idempotent() {
        let source = "# my cast\n[narrator]\nvoice = \"espeak:en-gb-x-rp\"  # calm\n\n[characters.Zoe]\nvoice = \"espeak:en-us+f2\"\n\n[pool]\nfemale = [\"espeak:en-us+f1\", \"espeak:en-us+f3\"]\nmale = [\"espeak:en-us+m1\"]\n";
        let path = Path::new("voices.toml");
        let file = parse_voices_file(path, source).unwrap();
        let people = vec![
            character("Zoe", Some(Gender::Female)),
            character("Ann", Some(Gender::Female)),
            character("Bob", Some(Gender::Male)),
        ];
        let cast1 = cast(&people, &file).unwrap();
        let (text, added) = add_characters(Some(source), &file, &people, &cast1).unwrap();
        assert_eq!(added, ["Ann", "Bob"]);
        assert!(
            text.starts_with(&source[..source.find("[pool]").unwrap()]),
            "{text}"
        );
        assert!(text.contains("voice = \"espeak:en-gb-x-rp\"  # calm"));
        let ann = text.find("[characters.Ann]").unwrap();
        assert!(ann < text.find("[pool]").unwrap(), "{text}");
        // Run again on the result: nothing changes, and voices are pinned.
        let file2 = parse_voices_file(path, &text).unwrap();
        let cast2 = cast(&people, &file2).unwrap();
        let (again, added) = add_characters(Some(&text), &file2, &people, &cast2).unwrap();
        assert!(added.is_empty());
        assert_eq!(again, text);
        for name in ["Zoe", "Ann", "Bob"] {
            assert_eq!(cast1.characters[name].voice, cast2.characters[name].voice);
        }
    }

    #[test]
    fn writes_pool_voices_as_the_file_names_them() {
        let source = "[voices.warm]\nengine = \"espeak\"\nid = \"en-us+f2\"\npitch = 40\n[pool]\nfemale = [\"warm\"]\n";
        let file = parse_voices_file(Path::new("voices.toml"), source).unwrap();
        let people = vec![character("Ann", Some(Gender::Female))];
        let cast = cast(&people, &file).unwrap();
        assert_eq!(cast.characters["Ann"].voice.pitch, 40.0);
        let (text, _) = add_characters(Some(source), &file, &people, &cast).unwrap();
        assert!(text.ends_with("voice = \"warm\"\n"), "{text}");
        let again = parse_voices_file(Path::new("voices.toml"), &text).unwrap();
        assert_eq!(
            super::super::cast(&people, &again).unwrap().characters["Ann"].voice,
            cast.characters["Ann"].voice
        );
    }

    #[test]
    fn one_entry_changes_and_the_rest_is_kept() {
        let source = "# my cast\n[narrator]\nvoice = \"espeak:en-gb-x-rp\"  # calm\n\n[characters.Zoe]\naliases = [\"Zed\"]  # short\nvoice = \"espeak:en-us+f2\"\n";
        let file = parse_voices_file(Path::new("voices.toml"), source).unwrap();
        let voiced = set_entry(
            Some(source),
            &file,
            Some("zed"),
            Some(Some("espeak:en-029+f1")),
            Some(Gender::Female),
        )
        .unwrap();
        assert_eq!(
            voiced,
            source.replace(
                "voice = \"espeak:en-us+f2\"\n",
                "voice = \"espeak:en-029+f1\"\ngender = \"female\"\n"
            )
        );
        let narrator =
            set_entry(Some(source), &file, None, Some(Some("espeak:en-us")), None).unwrap();
        assert!(
            narrator.contains("[narrator]\nvoice = \"espeak:en-us\"  # calm\n"),
            "{narrator}"
        );
        assert!(narrator.contains("# short"), "{narrator}");
        let added = set_entry(
            Some(source),
            &file,
            Some("Ann Lee"),
            None,
            Some(Gender::Male),
        )
        .unwrap();
        let parsed = parse_voices_file(Path::new("voices.toml"), &added).unwrap();
        assert_eq!(parsed.characters["Ann Lee"].gender, Some(Gender::Male));
        let unvoiced = set_entry(Some(&added), &parsed, Some("Zoe"), Some(None), None).unwrap();
        let parsed = parse_voices_file(Path::new("voices.toml"), &unvoiced).unwrap();
        assert!(parsed.characters["Zoe"].voice.is_none());
        assert!(unvoiced.starts_with("# my cast\n"));
    }

    #[test]
    fn starts_a_new_file() {
        let file = VoicesFile::default();
        let people = vec![character("Mr. Ivo", Some(Gender::Male))];
        let cast = cast(&people, &file).unwrap();
        let (text, _) = add_characters(None, &file, &people, &cast).unwrap();
        let parsed = parse_voices_file(Path::new("v.toml"), &text).unwrap();
        assert_eq!(
            parsed.characters["Mr. Ivo"].gender,
            Some(Gender::Male),
            "{text}"
        );
        assert!(parsed.narrator.is_some());
    }
}
