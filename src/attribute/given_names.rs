//! Given names: the gender a first name suggests, and which familiar forms
//! belong to which formal name ("Jim" is "James").
//!
//! The gender list is data, not code: `data/first_names.txt`, built by
//! `scripts/build-name-genders` from the US Social Security Administration's
//! national baby-name counts 1880-2024 (public domain): a gender for the
//! names one sex holds clearly in every era, none for the names both sexes
//! share, which still say "a person" (see the file's header for the rules).
//! It is embedded so that attribution needs no files at run time, and it
//! names no character of any book: it is the same list for every story.
//! The familiar forms are a short hand list of common English ones.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::core::Gender;

static FIRST_NAMES_DATA: &str = include_str!("data/first_names.txt");

/// Lower-case ASCII name -> the gender it suggests (`None`: a name for
/// both sexes), parsed once from the embedded list.
static FIRST_NAMES: LazyLock<HashMap<&'static str, Option<Gender>>> = LazyLock::new(|| {
    FIRST_NAMES_DATA
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, gender) = line.split_once(' ')?;
            let gender = match gender {
                "f" => Some(Gender::Female),
                "m" => Some(Gender::Male),
                "u" => None,
                _ => return None,
            };
            Some((name, gender))
        })
        .collect()
});

/// Gender suggested by a first name (any case; accents are ignored, so
/// "Adèle" is looked up as "adele"). `None` for names the list does not
/// hold or holds for both sexes.
pub fn first_name_gender(word: &str) -> Option<Gender> {
    let folded = fold_ascii(word)?;
    FIRST_NAMES.get(folded.as_str()).copied().flatten()
}

/// Whether `word` is a known first name, of either sex or both ("Kit",
/// "Jordan"): evidence of a person where the gender does not matter.
pub fn is_first_name(word: &str) -> bool {
    fold_ascii(word).is_some_and(|folded| FIRST_NAMES.contains_key(folded.as_str()))
}

/// Lower case with Latin accents removed; `None` when a letter has no
/// plain ASCII form (the list holds ASCII names only).
fn fold_ascii(word: &str) -> Option<String> {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            let plain = match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
                'ç' => 'c',
                'è' | 'é' | 'ê' | 'ë' => 'e',
                'ì' | 'í' | 'î' | 'ï' => 'i',
                'ñ' => 'n',
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
                'ù' | 'ú' | 'û' | 'ü' => 'u',
                'ý' | 'ÿ' => 'y',
                c => c,
            };
            plain.is_ascii_lowercase().then_some(plain)
        })
        .collect()
}

/// Common English hypocoristics: (formal given name, its familiar forms).
/// "Jim" in one chapter and "James Morton" in the next are one person.
const NICKNAMES: &[(&str, &[&str])] = &[
    ("abraham", &["abe"]),
    ("albert", &["bert", "bertie"]),
    ("alexander", &["alec", "alex", "sandy"]),
    ("alfred", &["alf", "alfie"]),
    ("anne", &["annie", "nan", "nancy"]),
    ("anna", &["annie", "nan"]),
    ("anthony", &["tony"]),
    ("benjamin", &["ben", "benny"]),
    ("caroline", &["carrie"]),
    ("catherine", &["cathy", "kate", "katie", "kit", "kitty"]),
    ("charles", &["charlie", "charley", "chuck"]),
    ("christopher", &["chris", "kit"]),
    ("daniel", &["dan", "danny"]),
    ("dorothy", &["dolly", "dot", "dottie"]),
    ("edward", &["ed", "eddie", "ned", "ted", "teddy"]),
    ("eleanor", &["nell", "nellie", "nelly"]),
    (
        "elizabeth",
        &[
            "bess", "bessie", "beth", "betsy", "betty", "eliza", "lizzie", "lizzy",
        ],
    ),
    ("frances", &["fanny", "fannie"]),
    ("francis", &["frank", "frankie"]),
    ("frederick", &["fred", "freddie", "freddy"]),
    ("harriet", &["hattie"]),
    ("helen", &["nell", "nellie", "nelly"]),
    ("henry", &["harry", "hal", "hank"]),
    ("isaac", &["ike"]),
    ("james", &["jim", "jimmy", "jimmie", "jamie"]),
    ("jane", &["jenny", "jennie"]),
    ("john", &["jack", "johnny", "johnnie"]),
    ("jonathan", &["jon"]),
    ("joseph", &["joe", "joey"]),
    ("katherine", &["kate", "kathy", "katie", "kit", "kitty"]),
    ("lawrence", &["larry"]),
    ("margaret", &["madge", "maggie", "meg", "peggy"]),
    ("martha", &["mattie", "patty"]),
    ("mary", &["mamie", "molly", "polly"]),
    ("matthew", &["matt"]),
    ("michael", &["mick", "mickey", "mike"]),
    ("nathaniel", &["nat"]),
    ("nicholas", &["nick"]),
    ("patrick", &["paddy", "pat"]),
    ("peter", &["pete"]),
    ("rebecca", &["becky"]),
    ("richard", &["dick", "dickie", "rick"]),
    ("robert", &["bob", "bobby", "rob", "robbie"]),
    ("samuel", &["sam", "sammy"]),
    ("sarah", &["sadie", "sally"]),
    ("susan", &["sue", "susie"]),
    ("theodore", &["ted", "teddy", "theo"]),
    ("thomas", &["tom", "tommy"]),
    ("timothy", &["tim"]),
    ("walter", &["walt", "wat"]),
    ("william", &["bill", "billy", "will", "willie", "willy"]),
];

/// Whether two lower-case given names can be one person's: the same, or a
/// formal name and its familiar form ("james" / "jim"), or two familiar
/// forms of one formal name ("jim" / "jimmy").
pub fn same_given_name(a: &str, b: &str) -> bool {
    a == b
        || NICKNAMES.iter().any(|(formal, familiar)| {
            let is = |w: &str| w == *formal || familiar.contains(&w);
            is(a) && is(b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_forms_of_given_names() {
        assert!(same_given_name("jim", "james"));
        assert!(same_given_name("harry", "henry"));
        assert!(same_given_name("jimmy", "jim"));
        assert!(!same_given_name("jim", "john"));
        assert!(!same_given_name("kitty", "fannie"));
    }

    #[test]
    fn first_names_carry_gender() {
        assert_eq!(first_name_gender("mary"), Some(Gender::Female));
        assert_eq!(first_name_gender("Robert"), Some(Gender::Male));
        assert_eq!(first_name_gender("ADÈLE"), Some(Gender::Female));
        // Not a name, or used for both sexes, or a man's name in the 19th
        // century and a woman's now: no guess.
        assert_eq!(first_name_gender("table"), None);
        assert_eq!(first_name_gender("leslie"), None);
        assert_eq!(first_name_gender("sydney"), None);
        assert_eq!(first_name_gender("jean-luc"), None);
    }

    #[test]
    fn names_for_both_sexes_are_names_without_a_gender() {
        for both in ["kit", "Jordan", "leslie", "sydney"] {
            assert!(is_first_name(both), "{both}");
            assert_eq!(first_name_gender(both), None, "{both}");
        }
        assert!(is_first_name("Mary"));
        assert!(!is_first_name("table"));
        assert!(!is_first_name("jean-luc"));
    }

    #[test]
    fn the_embedded_list_is_well_formed_and_sorted() {
        let rows: Vec<&str> = FIRST_NAMES_DATA
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect();
        assert!(rows.len() > 5000, "{} names", rows.len());
        assert_eq!(rows.len(), FIRST_NAMES.len(), "a malformed or repeated row");
        assert!(rows.windows(2).all(|w| w[0] < w[1]));
    }
}
