//! Patient matching: is the person on this chart someone the store already knows?
//!
//! A chart names its patient in Khmer script, in a romanisation (Sok or Sokh, Sopheap or
//! Sophea, family name first or last, any case), with a date of birth or only an age, a
//! sex, perhaps a phone and the facility's patient number. [`score`] weighs each piece of
//! evidence for or against "same person" (log-odds, in the manner of Fellegi and Sunter) and
//! turns the sum into a probability; [`decide`] links clear matches, asks the reviewer about
//! uncertain ones and creates a new patient otherwise. [`blocking_keys`] names the few
//! stored patients worth scoring, so matching does not compare against everyone.
//!
//! Invariant: pure; the same two people always get the same score.

use crate::normalize::CalendarDate;
use crate::record::PatientFacts;
use crate::text::similarity;
use crate::validate::{khmer_skeleton, latin_skeleton, name_similarity};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Score at or above which a match is linked without asking.
pub const AUTO_LINK: f32 = 0.95;
/// Score at or above which the reviewer is asked (below: a new patient).
pub const ASK: f32 = 0.2;

/// A person as matching sees them: a chart's patient, or a stored patient with every name,
/// number and phone seen on their charts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Person {
    /// (facility, patient number) pairs.
    pub identifiers: Vec<(String, String)>,
    /// Names in Khmer script.
    pub names_khmer: Vec<String>,
    /// Romanised names.
    pub names_latin: Vec<String>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// `YYYY-MM-DD`, or `YYYY` when estimated from an age.
    pub birth_date: Option<String>,
    /// Whether `birth_date` is only estimated.
    pub birth_estimated: bool,
    /// Phone numbers, national form.
    pub phones: Vec<String>,
}

impl Person {
    /// The person a chart from `facility` describes.
    pub fn from_facts(facility: &str, p: &PatientFacts) -> Person {
        Person {
            identifiers: p.patient_no.iter().map(|n| (facility.to_string(), n.clone())).collect(),
            names_khmer: p.name_khmer.iter().cloned().collect(),
            names_latin: p.name_latin.iter().cloned().collect(),
            sex: p.sex.clone(),
            birth_date: p.birth_date.clone(),
            birth_estimated: p.birth_estimated,
            phones: p.phone.iter().cloned().collect(),
        }
    }

    /// Adds what `other` knows and `self` does not (a new name variant, number or phone; an
    /// exact birth date in place of an estimated one).
    pub fn absorb(&mut self, other: &Person) {
        fn add<T: PartialEq + Clone>(to: &mut Vec<T>, from: &[T]) {
            for x in from {
                if !to.contains(x) {
                    to.push(x.clone());
                }
            }
        }
        add(&mut self.identifiers, &other.identifiers);
        add(&mut self.names_khmer, &other.names_khmer);
        add(&mut self.names_latin, &other.names_latin);
        add(&mut self.phones, &other.phones);
        if self.sex.is_none() {
            self.sex.clone_from(&other.sex);
        }
        if other.birth_date.is_some() && (self.birth_date.is_none() || (self.birth_estimated && !other.birth_estimated)) {
            self.birth_date.clone_from(&other.birth_date);
            self.birth_estimated = other.birth_estimated;
        }
    }
}

/// How alike two people are, with the evidence in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Probability-like score, 0..1.
    pub score: f32,
    /// The evidence, e.g. `same date of birth`, `names differ`.
    pub reasons: Vec<String>,
}

/// A romanised name word reduced so that its usual spellings meet: lower case, aspiration
/// marks (`kh`, `ph`, `th`, `chh`) and doubled letters dropped, a final `h` dropped, `y`
/// and `ee` read as `i`, `ou` as `o`.
pub fn fold_latin_word(word: &str) -> String {
    let w: String = word.to_lowercase().chars().filter(char::is_ascii_alphabetic).collect();
    let w = w
        .replace("chh", "c")
        .replace("ch", "c")
        .replace("kh", "k")
        .replace("ph", "p")
        .replace("th", "t")
        .replace("sh", "s")
        .replace("ee", "i")
        .replace("ou", "o");
    let chars: Vec<char> = w.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1);
        let c = if c == 'y' && i > 0 && !next.is_some_and(|n| "aeiou".contains(*n)) { 'i' } else { c };
        if out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    if out.len() > 2 && out.ends_with('h') {
        out.pop();
    }
    out
}

fn latin_words(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || c == ',' || c == '-').filter(|w| !w.is_empty()).map(fold_latin_word).filter(|w| !w.is_empty()).collect()
}

fn khmer_words(name: &str) -> Vec<String> {
    name.nfc().filter(|c| !matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}')).collect::<String>().split_whitespace().map(str::to_string).collect()
}

/// Words compared in both orders (family name first or last) and with or without spaces
/// (`Srey Mom`, `Sreymom`); the best agreement counts.
fn words_similarity(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let joined = |w: &[String]| w.concat();
    let reversed = |w: &[String]| w.iter().rev().cloned().collect::<Vec<_>>().concat();
    let straight = similarity(&joined(a), &joined(b));
    let crossed = similarity(&joined(a), &reversed(b));
    // Sorted words meet whatever the order when there are more than two.
    let mut sa = a.to_vec();
    let mut sb = b.to_vec();
    sa.sort();
    sb.sort();
    straight.max(crossed).max(similarity(&sa.concat(), &sb.concat()))
}

/// How alike two people's names are, 0..1, or `None` when they cannot be compared. Names in
/// the same script are compared first (the best pair counts); a Khmer name is compared with
/// a romanised one by consonant skeleton only when no same-script pair exists.
pub fn names_similarity(a: &Person, b: &Person) -> Option<f32> {
    let best = |pairs: Vec<f32>| pairs.into_iter().reduce(f32::max);
    let mut same = Vec::new();
    for x in &a.names_latin {
        for y in &b.names_latin {
            same.push(words_similarity(&latin_words(x), &latin_words(y)));
        }
    }
    for x in &a.names_khmer {
        for y in &b.names_khmer {
            same.push(words_similarity(&khmer_words(x), &khmer_words(y)));
        }
    }
    if !same.is_empty() {
        return best(same);
    }
    let cross = a
        .names_khmer
        .iter()
        .flat_map(|k| b.names_latin.iter().map(move |l| (k, l)))
        .chain(b.names_khmer.iter().flat_map(|k| a.names_latin.iter().map(move |l| (k, l))));
    best(cross.map(|(k, l)| 0.9 * name_similarity(k, l)).collect())
}

/// A birth date as compared: year, (month, day) when known, and whether it is estimated.
type Birth = (i32, Option<(u32, u32)>, bool);

/// Year, and month and day when known.
fn birth(p: &Person) -> Option<Birth> {
    let d = p.birth_date.as_deref()?;
    if let Ok(date) = CalendarDate::parse(d) {
        return Some((date.year, Some((date.month, date.day)), p.birth_estimated));
    }
    d.get(..4).and_then(|y| y.parse().ok()).map(|y| (y, None, true))
}

/// Scores two people: the log-odds of each piece of evidence added up and squashed to 0..1.
pub fn score(a: &Person, b: &Person) -> Score {
    let mut w = 0.0f32;
    let mut reasons = Vec::new();
    let mut note = |dw: f32, why: String| {
        w += dw;
        reasons.push(why);
    };
    let shared_id = a.identifiers.iter().find(|i| b.identifiers.contains(i));
    if let Some((fac, no)) = shared_id {
        note(9.0, format!("same patient number {no} at {fac}"));
    } else if a.identifiers.iter().any(|(fa, _)| b.identifiers.iter().any(|(fb, _)| fa == fb)) {
        note(-3.0, "different patient numbers at the same facility".into());
    }
    match names_similarity(a, b) {
        Some(s) if s >= 0.95 => note(4.5, "same name".into()),
        Some(s) if s >= 0.85 => note(3.5, format!("names alike ({:.0}%)", s * 100.0)),
        Some(s) if s >= 0.75 => note(1.5, format!("names somewhat alike ({:.0}%)", s * 100.0)),
        Some(s) if s >= 0.6 => note(-1.0, format!("names differ ({:.0}%)", s * 100.0)),
        Some(s) => note(-6.0, format!("different names ({:.0}%)", s * 100.0)),
        None => {}
    }
    match (birth(a), birth(b)) {
        (Some((ya, Some(da), false)), Some((yb, Some(db), false))) => {
            if ya == yb && da == db {
                note(4.0, "same date of birth".into());
            } else if ya == yb || (da == db && (ya - yb).abs() <= 1) {
                note(-2.0, "dates of birth differ slightly".into());
            } else {
                note(-5.0, "different dates of birth".into());
            }
        }
        (Some((ya, _, _)), Some((yb, _, _))) => {
            if ya == yb {
                note(2.0, "birth year agrees with an estimated age".into());
            } else if (ya - yb).abs() == 1 {
                note(1.0, "birth year one off an estimated age".into());
            } else if (ya - yb).abs() <= 2 {
                note(-1.5, "estimated birth years differ by 2".into());
            } else {
                note(-5.0, "different birth years".into());
            }
        }
        _ => {}
    }
    match (&a.sex, &b.sex) {
        (Some(x), Some(y)) if x == y => note(0.5, "same sex".into()),
        (Some(_), Some(_)) => note(-8.0, "different sex".into()),
        _ => {}
    }
    if let Some(p) = a.phones.iter().find(|p| b.phones.contains(p)) {
        note(4.0, format!("same phone {p}"));
    } else if !a.phones.is_empty() && !b.phones.is_empty() {
        note(-0.5, "different phones".into());
    }
    Score { score: 1.0 / (1.0 + (-(w - 6.0)).exp()), reasons }
}

/// What to do with a chart's patient.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Link to the candidate at this index, with its score.
    Link(usize, Score),
    /// Ask the reviewer: these candidates (index, score), best first.
    Ask(Vec<(usize, Score)>),
    /// Nobody alike: a new patient.
    New,
}

/// Decides from the scores of the candidates. A match is clear when it scores at least
/// [`AUTO_LINK`] and no other candidate reaches even odds.
pub fn decide(scores: Vec<Score>) -> Decision {
    let mut ranked: Vec<(usize, Score)> = scores.into_iter().enumerate().filter(|(_, s)| s.score >= ASK).collect();
    ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    match ranked.as_slice() {
        [] => Decision::New,
        [(_, s), rest @ ..] if s.score >= AUTO_LINK && rest.iter().all(|(_, r)| r.score < 0.5) => Decision::Link(ranked[0].0, ranked.remove(0).1),
        _ => {
            ranked.truncate(5);
            Decision::Ask(ranked)
        }
    }
}

/// Keys under which a person is filed, so that a new chart's patient is scored only against
/// people sharing one: the patient number, the phone, the name's consonant skeleton in any
/// word order (the same in both scripts), and each name word's skeleton with the birth year.
/// With `widen`, birth-year keys are also filed under the neighbouring years (for stored
/// patients, so that an estimated year one off still meets them).
pub fn blocking_keys(p: &Person, widen: bool) -> Vec<String> {
    let mut keys = Vec::new();
    for (fac, no) in &p.identifiers {
        keys.push(format!("id:{fac}:{no}"));
    }
    for ph in &p.phones {
        keys.push(format!("ph:{ph}"));
    }
    let year = birth(p).map(|(y, _, _)| y);
    let skeletons = p.names_khmer.iter().map(|n| khmer_skeleton(n)).chain(p.names_latin.iter().map(|n| latin_skeleton(n)));
    for sk in skeletons {
        let mut words: Vec<&str> = sk.split(' ').filter(|w| !w.is_empty()).collect();
        words.sort();
        if words.is_empty() {
            continue;
        }
        keys.push(format!("nm:{}", words.join(" ")));
        if let Some(y) = year {
            for w in &words {
                let years = if widen { vec![y - 1, y, y + 1] } else { vec![y] };
                for y in years {
                    keys.push(format!("ny:{w}:{y}"));
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(kh: &str, la: &str, sex: &str, dob: &str, est: bool) -> Person {
        Person {
            names_khmer: (!kh.is_empty()).then(|| kh.to_string()).into_iter().collect(),
            names_latin: (!la.is_empty()).then(|| la.to_string()).into_iter().collect(),
            sex: Some(sex.into()),
            birth_date: (!dob.is_empty()).then(|| dob.to_string()),
            birth_estimated: est,
            ..Person::default()
        }
    }

    #[test]
    fn romanisation_variants_fold_together() {
        for (a, b) in [("Sok", "SOKH"), ("Chhim", "chim"), ("Vanna", "Vana"), ("Pisey", "Pisei"), ("Ly", "Lee"), ("Dara", "Darah")] {
            assert_eq!(fold_latin_word(a), fold_latin_word(b), "{a} / {b}");
        }
        let s = |a: &str, b: &str| names_similarity(&person("", a, "F", "", false), &person("", b, "F", "", false)).unwrap();
        assert!(s("SOK Sopheap", "Sopheap Sokh") >= 0.95, "order and spelling");
        assert!(s("SOK Sopheap", "sok sophea") >= 0.85);
        assert!(s("MAO Sreymom", "Mao Srey Mom") >= 0.95, "words run together");
        assert!(s("SOK Sopheap", "SOK Dara") < 0.6);
    }

    #[test]
    fn the_same_patient_in_two_scripts_and_spellings_links_and_namesakes_do_not() {
        let a = person("សុខ សុភាព", "SOK Sopheap", "F", "1990-03-04", false);
        let b = person("សុខ សុភាព", "Sophea Sokh", "F", "1990-03-04", false);
        let s = score(&a, &b);
        assert!(s.score >= AUTO_LINK, "{s:?}");
        assert!(matches!(decide(vec![s]), Decision::Link(0, _)));

        let namesake = person("សុខ សុភាព", "SOK Sopheap", "F", "1984-07-21", false);
        let s = score(&a, &namesake);
        assert!(s.score < ASK, "{s:?}");
        assert_eq!(decide(vec![s]), Decision::New);

        let brother = person("សុខ សុភាព", "SOK Sopheap", "M", "1990-03-04", false);
        assert!(score(&a, &brother).score < ASK);
    }

    #[test]
    fn an_estimated_birth_year_is_uncertain_until_something_else_agrees() {
        let a = person("ចាន់ ដារ៉ា", "CHAN Dara", "M", "1975-05-01", false);
        let b = person("ចាន់ ដារ៉ា", "Dara Chan", "M", "1976", true);
        let s = score(&a, &b);
        assert!((ASK..AUTO_LINK).contains(&s.score), "{s:?}");
        assert!(matches!(decide(vec![s]), Decision::Ask(_)));
        let mut b2 = b.clone();
        b2.phones.push("012345678".into());
        let mut a2 = a.clone();
        a2.phones.push("012345678".into());
        assert!(score(&a2, &b2).score >= AUTO_LINK);
    }

    #[test]
    fn patient_numbers_and_cross_script_names_count() {
        let mut a = person("", "HENG Samnang", "M", "", false);
        a.identifiers.push(("PP01".into(), "000123".into()));
        let mut b = person("ហេង សំណាង", "", "M", "", false);
        b.identifiers.push(("PP01".into(), "000123".into()));
        let s = score(&a, &b);
        assert!(s.score >= AUTO_LINK, "{s:?}");
        assert!(s.reasons.iter().any(|r| r.contains("000123")));
    }

    #[test]
    fn blocking_keys_meet_across_scripts_orders_and_neighbouring_years() {
        let stored = blocking_keys(&person("សុខ សុភាព", "", "F", "1990-03-04", false), true);
        let chart = blocking_keys(&person("", "Sopheap SOKH", "F", "1991", true), false);
        assert!(chart.iter().any(|k| stored.contains(k)), "{stored:?} / {chart:?}");
        let other = blocking_keys(&person("", "CHAN Dara", "F", "1960", true), false);
        assert!(!other.iter().any(|k| stored.contains(k)));
    }

    #[test]
    fn absorbing_keeps_every_variant_and_prefers_exact_birth_dates() {
        let mut a = person("", "SOK Sopheap", "F", "1990", true);
        a.absorb(&person("សុខ សុភាព", "Sokh Sophea", "F", "1990-03-04", false));
        assert_eq!(a.names_latin.len(), 2);
        assert_eq!(a.names_khmer.len(), 1);
        assert_eq!((a.birth_date.as_deref(), a.birth_estimated), (Some("1990-03-04"), false));
    }
}
