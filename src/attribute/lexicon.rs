//! Word lists: speech verbs, titles, pronouns, person nouns and words that
//! are capitalised without being names (general English, compiled for this
//! project). First names and their genders live in `given_names`, built from
//! public data by a script; they are re-exported here.
//!
//! Lists are small and generic on purpose: the same rules run on unseen
//! novels, so nothing here names a character of any particular book.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::core::Gender;

pub use super::given_names::{first_name_gender, is_first_name, same_given_name};
pub use super::never_names::is_never_name;

/// Verbs of saying and manner verbs that introduce or follow a quote, as
/// base forms; past and third-person forms are generated.
const SPEECH_LEMMAS: &[&str] = &[
    "add",
    "admit",
    "agree",
    "announce",
    "answer",
    "argue",
    "ask",
    "assent",
    "assert",
    "assure",
    "bark",
    "bawl",
    "beg",
    "bellow",
    "blurt",
    "boast",
    "breathe",
    "call",
    "caution",
    "chant",
    "chatter",
    "cheer",
    "chide",
    "chirp",
    "chorus",
    "chuckle",
    "coax",
    "command",
    "comment",
    "complain",
    "concede",
    "conclude",
    "confess",
    "confide",
    "continue",
    "croak",
    "crow",
    "declare",
    "demand",
    "deny",
    "drawl",
    "echo",
    "exclaim",
    "explain",
    "falter",
    "fume",
    "gasp",
    "giggle",
    "groan",
    "growl",
    "grumble",
    "grunt",
    "gulp",
    "hiss",
    "holler",
    "howl",
    "implore",
    "inquire",
    "enquire",
    "insist",
    "interject",
    "interpose",
    "interrupt",
    "jeer",
    "joke",
    "laugh",
    "lie",
    "mention",
    "moan",
    "mock",
    "mumble",
    "murmur",
    "muse",
    "mutter",
    "nod",
    "note",
    "object",
    "observe",
    "offer",
    "order",
    "pant",
    "persist",
    "plead",
    "point",
    "pray",
    "proceed",
    "promise",
    "propose",
    "protest",
    "purr",
    "pursue",
    "query",
    "question",
    "rage",
    "rasp",
    "reason",
    "reassure",
    "recall",
    "recite",
    "reflect",
    "reiterate",
    "rejoin",
    "remark",
    "remind",
    "remonstrate",
    "repeat",
    "reply",
    "report",
    "respond",
    "resume",
    "retort",
    "return",
    "roar",
    "sob",
    "scoff",
    "scold",
    "scream",
    "screech",
    "shout",
    "shriek",
    "sigh",
    "smile",
    "smirk",
    "snap",
    "snarl",
    "sneer",
    "snicker",
    "snort",
    "sniff",
    "sniffle",
    "speculate",
    "splutter",
    "sputter",
    "squeak",
    "squeal",
    "stammer",
    "state",
    "stutter",
    "suggest",
    "summon",
    "tease",
    "thunder",
    "urge",
    "utter",
    "venture",
    "vow",
    "wail",
    "warn",
    "weep",
    "whimper",
    "whine",
    "whisper",
    "wonder",
    "yawn",
    "yell",
    "yelp",
    "grin",
    "beam",
    "frown",
    "pout",
    "hum",
    "chime",
    "cry",
    "reply",
    "sing",
    "shrug",
];

/// Irregular and extra forms that the generator does not make.
const SPEECH_EXTRA: &[&str] = &[
    "said", "says", "say", "began", "begins", "told", "tells", "thought", "thinks", "spoke",
    "speaks", "quoth", "wept", "cried", "cries", "replied", "replies", "queried", "queries",
    "sang", "sings", "went", "goes", "broke", "breaks", "put", "puts", "read", "reads", "burst",
    "bursts", "shot", "snapped", "nodded", "sobbed", "grinned", "begged", "hummed", "chimed",
];

/// Verbs that only count as speech verbs with the particle after them
/// ("went on", "broke in", "put in").
pub const PARTICLE_VERBS: &[(&str, &str)] = &[
    ("went", "on"),
    ("goes", "on"),
    ("broke", "in"),
    ("breaks", "in"),
    ("put", "in"),
    ("puts", "in"),
    ("burst", "out"),
    ("bursts", "out"),
    ("shot", "back"),
    ("chimed", "in"),
    ("cut", "in"),
];

static SPEECH_VERBS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut set: HashSet<String> = SPEECH_EXTRA.iter().map(|s| (*s).to_owned()).collect();
    for lemma in SPEECH_LEMMAS {
        for form in verb_forms(lemma) {
            set.insert(form);
        }
    }
    for (verb, _) in PARTICLE_VERBS {
        set.remove(*verb);
    }
    set
});

fn verb_forms(lemma: &str) -> Vec<String> {
    let mut forms = Vec::new();
    let bytes = lemma.as_bytes();
    let last = bytes[bytes.len() - 1];
    let before_last = bytes
        .get(bytes.len().wrapping_sub(2))
        .copied()
        .unwrap_or(b'a');
    let vowel = |b: u8| b"aeiou".contains(&b);
    if last == b'e' {
        forms.push(format!("{lemma}d"));
        forms.push(format!("{lemma}s"));
    } else if last == b'y' && !vowel(before_last) {
        let stem = &lemma[..lemma.len() - 1];
        forms.push(format!("{stem}ied"));
        forms.push(format!("{stem}ies"));
    } else if matches!(last, b's' | b'x' | b'z' | b'h') {
        forms.push(format!("{lemma}ed"));
        forms.push(format!("{lemma}es"));
    } else {
        forms.push(format!("{lemma}ed"));
        forms.push(format!("{lemma}s"));
        // Short consonant-vowel-consonant verbs double the consonant: snap -> snapped.
        if vowel(before_last) && !vowel(last) && !matches!(last, b'w' | b'x' | b'y') {
            forms.push(format!("{lemma}{}ed", last as char));
        }
    }
    forms
}

/// A past or present form of a verb of saying ("said", "snarled", "asks").
pub fn is_speech_verb(word_lower: &str) -> bool {
    SPEECH_VERBS.contains(word_lower)
}

/// The base form of a verb of saying ("ask", "answer"): a verb only after
/// "to" ("she looked up to ask"), where the bare form is no noun.
pub fn is_speech_lemma(word_lower: &str) -> bool {
    SPEECH_LEMMAS.contains(&word_lower)
}

/// Honorifics and titles that precede a name, with the gender they imply.
pub fn title(word: &str) -> Option<Option<Gender>> {
    let lower = word.trim_end_matches('.').to_lowercase();
    let gender = match lower.as_str() {
        "mr" | "mister" | "sir" | "lord" | "monsieur" | "m" | "herr" | "señor" | "senor"
        | "signor" | "uncle" | "brother" | "father" | "king" | "prince" | "duke" | "count"
        | "baron" | "marquis" | "master" | "grandfather" | "grandpa" | "granddad" | "emperor"
        | "tsar" | "czar" | "earl" | "viscount" | "archduke" | "friar" => Some(Gender::Male),
        "mrs" | "miss" | "ms" | "lady" | "madame" | "mme" | "mlle" | "mademoiselle" | "dame"
        | "aunt" | "sister" | "mother" | "queen" | "princess" | "duchess" | "countess"
        | "baroness" | "frau" | "fräulein" | "señora" | "signora" | "mistress" | "grandmother"
        | "grandma" | "granny" | "auntie" | "aunty" | "empress" | "tsarina" | "czarina"
        | "marchioness" | "viscountess" | "archduchess" | "señorita" | "signorina" => {
            Some(Gender::Female)
        }
        "dr" | "doctor" | "professor" | "prof" | "captain" | "capt" | "colonel" | "major"
        | "general" | "lieutenant" | "sergeant" | "inspector" | "constable" | "judge"
        | "reverend" | "rev" | "comrade" | "detective" | "officer" | "agent" | "nurse" => None,
        _ => return None,
    };
    Some(gender)
}

/// Nouns that end the names of places, not people ("Fifth Avenue",
/// "Rhode Island").
pub fn is_place_noun(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "avenue"
            | "street"
            | "road"
            | "square"
            | "island"
            | "isle"
            | "islands"
            | "river"
            | "lake"
            | "bay"
            | "bridge"
            | "station"
            | "terrace"
            | "gardens"
            | "palace"
            | "castle"
            | "church"
            | "cathedral"
            | "abbey"
            | "chapel"
            | "college"
            | "university"
            | "hotel"
            | "county"
            | "ocean"
            | "sea"
            | "mountains"
            | "valley"
            | "canal"
            | "harbour"
            | "harbor"
            | "park"
            | "place"
            | "hospital"
            | "museum"
            | "theatre"
            | "theater"
            | "club"
            | "company"
            | "society"
            | "railway"
            | "railroad"
    )
}

/// Nouns that open the names of places, not people ("Port Said", "Mount
/// Vernon", "Lake Placid"): a name that starts with one is a place even
/// when the book never writes it after "in" or "to".
pub fn is_place_prefix(word_lower: &str) -> bool {
    matches!(
        word_lower,
        "port" | "mount" | "mt" | "fort" | "ft" | "cape" | "lake" | "loch" | "isle" | "point"
    )
}

/// Abbreviated titles whose period does not end a sentence.
pub fn is_abbreviated_title(word: &str) -> bool {
    matches!(
        word.to_lowercase().as_str(),
        "mr" | "mrs"
            | "ms"
            | "dr"
            | "st"
            | "mme"
            | "mlle"
            | "prof"
            | "capt"
            | "rev"
            | "m"
            | "messrs"
    )
}

pub fn pronoun_gender(word_lower: &str) -> Option<Gender> {
    match word_lower {
        "he" | "him" | "his" | "himself" => Some(Gender::Male),
        "she" | "her" | "hers" | "herself" => Some(Gender::Female),
        _ => None,
    }
}

/// Words that can sit between a subject and its speech verb ("Hetty said
/// softly", "he then asked") or after the verb ("said softly Hetty" is rare,
/// but "said, laughing" is not).
pub fn is_adverb(word_lower: &str) -> bool {
    word_lower.ends_with("ly")
        && word_lower.len() > 3
        && !matches!(
            word_lower,
            "ally" | "holly" | "molly" | "lily" | "emily" | "sally"
        )
        || matches!(
            word_lower,
            "then"
                | "again"
                | "now"
                | "also"
                | "at"
                | "once"
                | "still"
                | "too"
                | "presently"
                | "suddenly"
                | "quickly"
                | "slowly"
                | "aloud"
                | "soon"
                | "finally"
                | "only"
                | "just"
                | "all"
                | "both"
                | "first"
                | "last"
                | "almost"
                | "somewhat"
                | "rather"
                | "indeed"
                | "however"
                | "instantly"
        )
}

/// Family relations that single out one person once the relative is
/// known ("her mother", "my dad"), with their gender.
pub fn kin_noun(word_lower: &str) -> Option<Gender> {
    match word_lower {
        "mother" | "mum" | "mom" | "mama" | "mamma" | "mommy" | "mummy" | "ma" | "stepmother"
        | "grandmother" | "grandma" | "granny" | "gran" | "nan" | "aunt" | "auntie" | "aunty"
        | "wife" | "sister" | "daughter" => Some(Gender::Female),
        "father" | "dad" | "daddy" | "papa" | "pa" | "pop" | "stepfather" | "grandfather"
        | "grandpa" | "granddad" | "grandad" | "uncle" | "husband" | "brother" | "son" => {
            Some(Gender::Male)
        }
        _ => None,
    }
}

/// Nouns that can head a descriptive speaker ("the old man"), with gender.
pub fn person_noun(word_lower: &str) -> Option<Option<Gender>> {
    let gender = match word_lower {
        "man" | "gentleman" | "boy" | "lad" | "fellow" | "father" | "son" | "brother"
        | "husband" | "king" | "prince" | "lord" | "uncle" | "grandfather" | "nephew" | "sir"
        | "master" | "waiter" | "butler" | "footman" | "landlord" | "priest" | "monk" | "duke"
        | "count" | "chap" | "youth" | "policeman" | "gentlemen" | "men" | "grandson"
        | "bridegroom" | "boys" | "brothers" | "sons" | "fathers" | "husbands" | "lads"
        | "fellows" | "hero" | "emperor" | "bishop" | "coachman" | "groom" | "postman"
        | "fisherman" | "workman" | "nobleman" | "alderman" | "chairman" => Some(Gender::Male),
        "woman" | "lady" | "girl" | "lass" | "mother" | "daughter" | "sister" | "wife"
        | "queen" | "princess" | "aunt" | "grandmother" | "niece" | "madam" | "maid"
        | "landlady" | "mistress" | "nun" | "duchess" | "countess" | "widow" | "women"
        | "ladies" | "granddaughter" | "matron" | "governess" | "housekeeper" | "actress"
        | "waitress" | "heroine" | "spinster" | "bride" | "laundress" | "washerwoman" | "dame"
        | "girls" | "sisters" | "daughters" | "mothers" | "wives" | "nurserymaid" | "nursemaid"
        | "dairymaid" | "housemaid" | "chambermaid" | "maidservant" => Some(Gender::Female),
        "doctor" | "stranger" | "child" | "visitor" | "voice" | "servant" | "driver"
        | "officer" | "inspector" | "captain" | "colonel" | "professor" | "secretary" | "clerk"
        | "guard" | "soldier" | "sailor" | "porter" | "cook" | "nurse" | "host" | "hostess"
        | "guest" | "boss" | "friend" | "companion" | "other" | "creature" | "detective"
        | "agent" | "student" | "teacher" | "prisoner" | "president" | "judge" | "farmer"
        | "barman" | "bartender" | "shopkeeper" | "clergyman" | "vicar" | "parson" | "sergeant"
        | "constable" | "young" | "old" | "elder" | "younger" | "newcomer" | "speaker"
        | "cousin" | "partner" | "colleague" | "neighbour" | "neighbor" | "employer"
        | "visitor's" | "interlocutor" | "informant" | "acquaintance" | "pupil" | "client" => None,
        _ => return None,
    };
    Some(gender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_verb_forms_are_generated() {
        for w in [
            "said", "asked", "replied", "snapped", "snarled", "cries", "whispers",
        ] {
            assert!(is_speech_verb(w), "{w}");
        }
        for w in ["table", "went", "walked", "looked"] {
            assert!(!is_speech_verb(w), "{w}");
        }
    }

    #[test]
    fn titles_carry_gender() {
        assert_eq!(title("Mrs."), Some(Some(Gender::Female)));
        assert_eq!(title("Mr"), Some(Some(Gender::Male)));
        assert_eq!(title("Captain"), Some(None));
        assert_eq!(title("Table"), None);
    }

    #[test]
    fn person_nouns() {
        assert_eq!(person_noun("woman"), Some(Some(Gender::Female)));
        assert_eq!(person_noun("doctor"), Some(None));
        assert_eq!(person_noun("table"), None);
    }
}
