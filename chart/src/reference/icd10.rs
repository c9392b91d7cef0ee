//! The WHO ICD-10 (2019 edition): every category and subcategory with its title (see
//! `chart/reference/README.md`). A code read from a chart must be one of these, not just
//! of the right shape.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

const LIST: &str = include_str!("../../reference/icd10/icd10-2019.tsv");

fn codes() -> &'static BTreeMap<&'static str, &'static str> {
    static CODES: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    CODES.get_or_init(|| LIST.lines().filter_map(|l| l.split_once('\t')).collect())
}

/// The title of a code (`J06.9` → "Acute upper respiratory infection, unspecified").
pub fn title(code: &str) -> Option<&'static str> {
    codes().get(code).copied()
}

/// Whether the code exists in ICD-10.
pub fn exists(code: &str) -> bool {
    codes().contains_key(code)
}

/// How many codes the list holds.
pub fn len() -> usize {
    codes().len()
}

/// The words of the titles, lower case, of five letters or more: the vocabulary of diagnoses.
fn words() -> &'static HashSet<String> {
    static WORDS: OnceLock<HashSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        codes().values().flat_map(|t| t.split(|c: char| !c.is_ascii_alphabetic())).filter(|w| w.len() >= 5).map(str::to_ascii_lowercase).collect()
    })
}

/// The word of the ICD-10 titles a misread word stands for (`faltciparum` → `falciparum`):
/// `None` when the word is one of them, is short, or is not one slip (two in a word of nine
/// letters or more) from exactly one of them.
pub fn correct_word(word: &str) -> Option<&'static str> {
    if word.len() < 5 || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let vocabulary = words();
    if vocabulary.contains(&lower) {
        return None;
    }
    let most = if lower.len() >= 9 { 2 } else { 1 };
    let mut best: Option<(usize, &'static str)> = None;
    let mut tied = false;
    for w in vocabulary {
        if w.len().abs_diff(lower.len()) > most {
            continue;
        }
        let Some(d) = rapidfuzz::distance::levenshtein::distance_with_args(
            lower.chars(),
            w.chars(),
            &rapidfuzz::distance::levenshtein::Args::default().score_cutoff(most),
        ) else {
            continue;
        };
        match best {
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tied = true,
            _ => {
                best = Some((d, w.as_str()));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, w)| w)
}

/// Codes starting with `prefix` (upper-cased), or whose title contains every word of it,
/// in code order: for the review page's suggestions.
pub fn suggest(prefix: &str, limit: usize) -> Vec<(&'static str, &'static str)> {
    let upper = prefix.trim().to_uppercase();
    if upper.is_empty() {
        return Vec::new();
    }
    let by_code: Vec<(&'static str, &'static str)> = codes()
        .iter()
        .skip_while(|(c, _)| **c < upper.as_str())
        .take_while(|(c, _)| c.starts_with(upper.as_str()))
        .take(limit)
        .map(|(c, t)| (*c, *t))
        .collect();
    if !by_code.is_empty() {
        return by_code;
    }
    let words: Vec<String> = prefix.split_whitespace().map(str::to_lowercase).collect();
    codes()
        .iter()
        .filter(|(_, t)| {
            let t = t.to_lowercase();
            words.iter().all(|w| t.contains(w.as_str()))
        })
        .take(limit)
        .map(|(c, t)| (*c, *t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_exist_with_their_titles() {
        assert_eq!(len(), 12_246);
        assert_eq!(title("J06.9"), Some("Acute upper respiratory infection, unspecified"));
        assert!(exists("A09") && exists("E11.9") && !exists("J06.7") && !exists("X99.9"));
        assert_eq!(suggest("E11", 3).iter().map(|(c, _)| *c).collect::<Vec<_>>(), ["E11", "E11.0", "E11.1"]);
        assert!(suggest("falciparum malaria", 10).iter().any(|(c, _)| *c == "B50.9"));
    }

    #[test]
    fn a_word_one_slip_from_exactly_one_word_of_the_titles_is_put_right() {
        assert_eq!(correct_word("Faltciparum"), Some("falciparum"));
        assert_eq!(correct_word("didbetes"), Some("diabetes"));
        assert_eq!(correct_word("opstroenteritis"), Some("gastroenteritis"), "two slips in a long word");
        assert_eq!(correct_word("malaria"), None, "already a word of the titles");
        assert_eq!(correct_word("fever"), None);
        assert_eq!(correct_word("Paracetamol"), None, "no title word is close: left as read");
        assert_eq!(correct_word("dog"), None, "too short to tell");
    }
}
