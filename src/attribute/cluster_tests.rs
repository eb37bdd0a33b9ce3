//! Unit tests of `cluster.rs`.

use super::*;

/// A form as discovery would make it, mentioned `count` times.
fn form(display: &str, count: usize) -> Form {
    let mut f = Form {
        display: display.to_owned(),
        count,
        ..Form::default()
    };
    for w in display.split_whitespace() {
        let lower = w.trim_end_matches('.').to_lowercase();
        if f.core.is_empty()
            && let Some(g) = lexicon::title(&lower)
        {
            f.has_title = true;
            f.title_gender = g;
            f.title = Some(lower);
            continue;
        }
        f.core.push(lower);
    }
    f
}

fn with_pronouns(mut f: Form, she: usize, he: usize) -> Form {
    f.pronouns = [she, he];
    f
}

fn genders(pairs: &[(&str, Gender)]) -> HashMap<String, Gender> {
    pairs.iter().map(|(w, g)| ((*w).to_owned(), *g)).collect()
}

/// Cluster and return, for each display form, the index of its cluster.
fn run(
    forms: Vec<Form>,
    given: &HashMap<String, Gender>,
    together: &Together,
) -> HashMap<String, usize> {
    let ctx = Context::new(&forms, given, together);
    cluster(forms, &ctx)
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.forms.iter().map(move |f| (f.display.clone(), i)))
        .collect()
}

#[test]
fn a_familiar_full_name_is_the_formal_one() {
    let given = genders(&[("margaret", Gender::Female), ("meg", Gender::Female)]);
    let at = run(
        vec![
            form("Margaret Bennet", 20),
            form("Meg Bennet", 2),
            form("Meg", 30),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Meg Bennet"], at["Margaret Bennet"]);
    assert_eq!(at["Meg"], at["Margaret Bennet"]);
}

#[test]
fn one_surname_three_people() {
    let given = genders(&[("margaret", Gender::Female), ("meg", Gender::Female)]);
    // Mother and daughter share scenes.
    let mut together = Together::new();
    for (a, b) in [("mrs bennet", "margaret"), ("margaret", "mrs bennet")] {
        together.insert((a.to_owned(), b.to_owned()), 5);
    }
    let at = run(
        vec![
            form("Margaret Bennet", 20),
            form("Margaret", 50),
            form("Meg", 10),
            form("Mr. Bennet", 30),
            form("Mrs. Bennet", 30),
            form("Miss Bennet", 5),
            form("Bennet", 3),
        ],
        &given,
        &together,
    );
    let liz = at["Margaret Bennet"];
    assert_eq!(at["Margaret"], liz);
    assert_eq!(at["Meg"], liz);
    assert_eq!(at["Miss Bennet"], liz);
    assert_ne!(at["Mr. Bennet"], liz);
    assert_ne!(at["Mrs. Bennet"], liz);
    assert_ne!(at["Mr. Bennet"], at["Mrs. Bennet"]);
    // A bare surname is the man's.
    assert_eq!(at["Bennet"], at["Mr. Bennet"]);
}

#[test]
fn a_wife_is_not_her_husband() {
    // Nothing in the first-name list: pronouns say Oswin is a man.
    let given = genders(&[("oswin", Gender::Male)]);
    let at = run(
        vec![
            form("Mrs. Oswin Pryce", 3),
            with_pronouns(form("Oswin Pryce", 40), 0, 12),
            form("Oswin", 30),
            form("Pryce", 200),
            form("Mr. Pryce", 4),
            form("Mrs. Pryce", 30),
            form("Hetty Pryce", 10),
        ],
        &given,
        &Together::new(),
    );
    let oswin = at["Oswin Pryce"];
    assert_eq!(at["Oswin"], oswin);
    assert_eq!(at["Pryce"], oswin);
    assert_eq!(at["Mr. Pryce"], oswin);
    assert_ne!(at["Mrs. Oswin Pryce"], oswin);
    assert_ne!(at["Mrs. Pryce"], oswin);
    assert_ne!(at["Hetty Pryce"], oswin);
}

#[test]
fn honorifics_in_other_languages_are_one_form_of_address() {
    let given = genders(&[("odile", Gender::Female), ("gaston", Gender::Male)]);
    let at = run(
        vec![
            form("Odile Marchand", 20),
            form("Mrs. Marchand", 200),
            form("Madame Marchand", 10),
            form("Mr. Marchand", 80),
            form("Monsieur Marchand", 5),
            form("Odile", 150),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Mrs. Marchand"], at["Odile Marchand"]);
    assert_eq!(at["Madame Marchand"], at["Odile Marchand"]);
    assert_eq!(at["Monsieur Marchand"], at["Mr. Marchand"]);
    assert_ne!(at["Mr. Marchand"], at["Odile"]);
}

#[test]
fn names_written_together_are_two_people() {
    let given = genders(&[("nora", Gender::Female)]);
    let mut together = Together::new();
    for (a, b) in [("mrs quill", "nora"), ("nora", "mrs quill")] {
        together.insert((a.to_owned(), b.to_owned()), 4);
    }
    let at = run(
        vec![
            form("Nora Quill", 10),
            form("Nora", 100),
            form("Mrs. Quill", 20),
        ],
        &given,
        &together,
    );
    assert_ne!(at["Mrs. Quill"], at["Nora Quill"]);
    // Without the shared sentences she would be Nora.
    let at = run(
        vec![
            form("Nora Quill", 10),
            form("Nora", 100),
            form("Mrs. Quill", 20),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Mrs. Quill"], at["Nora Quill"]);
}

#[test]
fn a_title_with_a_given_name_joins_the_full_name() {
    let given = genders(&[("hetty", Gender::Female), ("amy", Gender::Female)]);
    let at = run(
        vec![
            form("Mrs. Hetty Crewe", 20),
            form("Mrs. Hetty", 15),
            form("Mrs. Crewe", 5),
            form("Miss Amy Dorset", 3),
            form("Miss Amy", 2),
            form("Mr. Dorset", 10),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Mrs. Hetty"], at["Mrs. Hetty Crewe"]);
    assert_eq!(at["Mrs. Crewe"], at["Mrs. Hetty Crewe"]);
    assert_eq!(at["Miss Amy"], at["Miss Amy Dorset"]);
    assert_ne!(at["Mr. Dorset"], at["Miss Amy Dorset"]);
}

#[test]
fn miss_with_a_surname_is_the_miss_of_that_surname() {
    let given = genders(&[("harriet", Gender::Female), ("nora", Gender::Female)]);
    let at = run(
        vec![
            form("Miss Harriet Quill", 5),
            form("Nora Quill", 30),
            form("Miss Quill", 10),
            form("Mrs. Quill", 10),
            form("Mr. Quill", 3),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Miss Quill"], at["Miss Harriet Quill"]);
    assert_ne!(at["Mrs. Quill"], at["Miss Harriet Quill"]);
}

#[test]
fn where_there_is_a_miss_mrs_is_her_mother() {
    let given = genders(&[("lottie", Gender::Female)]);
    let forms = |miss: bool| {
        let mut v = vec![
            form("Lottie Vance", 10),
            form("Lottie", 100),
            form("Mrs. Vance", 30),
        ];
        if miss {
            v.push(form("Miss Vance", 20));
        }
        v
    };
    let at = run(forms(true), &given, &Together::new());
    assert_ne!(at["Mrs. Vance"], at["Lottie Vance"]);
    assert_eq!(at["Miss Vance"], at["Lottie Vance"]);
    // No daughter in sight: the married woman with a given name is she.
    let at = run(forms(false), &given, &Together::new());
    assert_eq!(at["Mrs. Vance"], at["Lottie Vance"]);
}

#[test]
fn a_pet_name_is_not_a_man_called_mister() {
    let given = genders(&[("daniel", Gender::Male), ("dan", Gender::Male)]);
    let at = run(
        vec![
            form("Daniel Blenkin", 20),
            form("Mr. Blenkin", 300),
            form("Dan", 100),
            form("Dan Blenkin", 3),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Mr. Blenkin"], at["Daniel Blenkin"]);
    assert_ne!(at["Dan"], at["Daniel Blenkin"]);
    assert_eq!(at["Dan"], at["Dan Blenkin"]);
    // Known by his given name, the pet name is his.
    let at = run(
        vec![
            form("Daniel Blenkin", 20),
            form("Daniel", 100),
            form("Dan", 30),
        ],
        &given,
        &Together::new(),
    );
    assert_eq!(at["Dan"], at["Daniel Blenkin"]);
}

#[test]
fn parts_of_names() {
    let w = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    assert!(is_part_of(&w("percy alden"), &w("percy alden fitch")));
    assert!(is_part_of(&w("van der berg"), &w("pieter van der berg")));
    assert!(is_familiar_form_of(&w("meg bennet"), &w("margaret bennet")));
    assert!(!is_part_of(&w("meg bennet"), &w("margaret bennet")));
    assert!(!is_part_of(&w("ada crewe"), &w("hilda crewe")));
    assert!(!is_part_of(&w("jane bennet"), &w("margaret bennet")));
}
