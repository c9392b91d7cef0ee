//! Fuzzy text matching for labels read by OCR.

use crate::khmer;

/// A key for matching printed labels: cleaned, lower case, without punctuation or spaces.
pub fn label_key(s: &str) -> String {
    khmer::comparison_key(s)
        .chars()
        .filter(|c| !khmer::is_khmer_punctuation(*c) && (c.is_alphanumeric() || khmer::is_khmer(*c)))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Levenshtein distance counted in characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Similarity 0..1 of two label keys: 1 minus the edit distance over the longer length.
pub fn similarity(a: &str, b: &str) -> f32 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 0.0;
    }
    1.0 - levenshtein(a, b) as f32 / longest as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_punctuation() {
        assert_eq!(label_key("Date of birth:"), "dateofbirth");
        assert_eq!(label_key("ICD-10"), "icd10");
    }

    #[test]
    fn similarity_tolerates_one_error_in_long_labels() {
        assert!(similarity("dateofbirth", "dateofbirtb") > 0.9);
        assert!(similarity("name", "age") < 0.6);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
