use super::super::tokens::tokenize;
use super::*;

fn after(text: &str) -> Option<Subject> {
    tag_after(&tokenize(text, 0, false)).map(|t| t.subject)
}

fn before(text: &str) -> Option<Subject> {
    tag_before(&tokenize(text, 0, true)).map(|t| t.subject)
}

fn name(s: &str) -> Option<Subject> {
    Some(Subject::Name(s.to_owned()))
}

#[test]
fn tags_after_a_quote() {
    assert_eq!(after(" said Ines."), name("Ines"));
    assert_eq!(after(" Ines snarled, turning away."), name("Ines"));
    assert_eq!(after(" said Mr. Fowler quietly."), name("Mr. Fowler"));
    assert_eq!(after(" said the Heron."), name("the Heron"));
    assert_eq!(after(" said the Finch sternly."), name("the Finch"));
    assert_eq!(after(" said the gloomy Thornbury."), name("Thornbury"));
    assert_eq!(after(" broke in old Amos Fenner."), name("Amos Fenner"));
    assert_eq!(
        after(" said Pieter van der Berg quietly."),
        name("Pieter van der Berg")
    );
    assert_eq!(after(" said Anna de Vries."), name("Anna de Vries"));
    // A particle with no name after it is not part of the name.
    assert_eq!(after(" said Pieter de la."), name("Pieter"));
    assert_eq!(
        after(" said the man with the black beard."),
        Some(Subject::Described(
            "the man with the black beard".to_owned(),
            Some(Gender::Male)
        ))
    );
    // A name in the complement is not the speaker's.
    assert_eq!(
        after(" replied the landlord of the Lamb; for it was he."),
        Some(Subject::Described(
            "the landlord of the Lamb".to_owned(),
            Some(Gender::Male)
        ))
    );
    assert_eq!(after(" he asked."), Some(Subject::Pronoun(Gender::Male)));
    assert_eq!(after(" said she."), Some(Subject::Pronoun(Gender::Female)));
    assert_eq!(after(" I said."), Some(Subject::FirstPerson));
    assert_eq!(
        after(" asked the old woman."),
        Some(Subject::Described(
            "the old woman".to_owned(),
            Some(Gender::Female)
        ))
    );
    assert_eq!(
        after(" she went on."),
        Some(Subject::Pronoun(Gender::Female))
    );
    assert_eq!(after(" they cried."), Some(Subject::Unknown));
    assert_eq!(after(" replied the other."), Some(Subject::Related(None)));
    let kin = |possessive: &str, noun: &str, gender| {
        Some(Subject::Kin {
            possessive: possessive.to_owned(),
            noun: noun.to_owned(),
            gender,
        })
    };
    assert_eq!(
        after(" said her mother."),
        kin("her", "mother", Gender::Female)
    );
    assert_eq!(after(" his dad said."), kin("his", "dad", Gender::Male));
    assert_eq!(before("My father said:"), kin("my", "father", Gender::Male));
    assert_eq!(after(" said my companion."), Some(Subject::Related(None)));
    assert_eq!(
        after(" said her mother's friend."),
        Some(Subject::Related(None))
    );
    // A clause after the subject is not part of it.
    assert_eq!(
        after(" said her mother when they sat down."),
        kin("her", "mother", Gender::Female)
    );
}

#[test]
fn no_tag_in_plain_narration() {
    assert_eq!(after(" Ines shaded her eyes."), None);
    assert_eq!(after(" He went to the door."), None);
    assert_eq!(
        after(" And she squeezed herself up closer to Greta as she spoke."),
        None
    );
    assert_eq!(
        after(". Then Greta looked at the man who had said it."),
        None
    );
}

#[test]
fn tags_before_a_quote() {
    assert_eq!(before("Greta said:"), name("Greta"));
    assert_eq!(
        before("Pieter van der Berg said:"),
        name("Pieter van der Berg")
    );
    assert_eq!(before("It was late. Then said the King,"), name("the King"));
    assert_eq!(
        before("He turned to Hilda and said,"),
        Some(Subject::Pronoun(Gender::Male))
    );
    assert_eq!(before("Greta said nothing."), None);
    assert_eq!(
        before("It was the Wren, who would only say,"),
        name("the Wren")
    );
    assert_eq!(
        before("And she could only say:"),
        Some(Subject::Pronoun(Gender::Female))
    );
}

/// A verb that shares its subject with the clause before it: the
/// subject opens that clause, even past the start of a long sentence
/// or a fronted phrase.
#[test]
fn tags_before_a_quote_on_a_second_verb() {
    let she = Some(Subject::Pronoun(Gender::Female));
    let he = Some(Subject::Pronoun(Gender::Male));
    assert_eq!(
        before("Feeling that her father waited for her, she sighed and said, shutting her book:"),
        she
    );
    assert_eq!(
        before("Then, whereupon she relaxed all her muscles and said, in her reasonable way:"),
        she
    );
    assert_eq!(before("She sat down near the fire, said:"), she);
    assert_eq!(
        before("She raised a troubled brow from her needlework to ask:"),
        she
    );
    assert_eq!(
        before("like the Ellen of old days; and he laughed as he took her hand, and answered:"),
        he
    );
    assert_eq!(before("A sense of his dignity caused him to answer:"), None);
    // No subject after the nearest comma: the sentence's own.
    assert_eq!(
        before("Greta, turning to him, smiled and said:"),
        name("Greta")
    );
}
