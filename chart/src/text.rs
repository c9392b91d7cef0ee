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

/// Levenshtein distance counted in characters (rapidfuzz's bit-parallel algorithm: label
/// matching compares every word of a page with every label, and this was the hottest
/// function of extraction).
pub fn levenshtein(a: &str, b: &str) -> usize {
    rapidfuzz::distance::levenshtein::distance(a.chars(), b.chars())
}

/// Similarity 0..1 of two label keys: 1 minus the edit distance over the longer length.
pub fn similarity(a: &str, b: &str) -> f32 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 0.0;
    }
    1.0 - levenshtein(a, b) as f32 / longest as f32
}

/// [`similarity`] of `a` and `b` (of `a_chars` and `b_chars` characters) when it is at
/// least `min`; below `min` it may be reported as 0. The edit distance stops counting past
/// what `min` allows, which makes matching a page against a vocabulary of labels several
/// times faster.
pub fn similarity_at_least(a: &str, a_chars: usize, b: &str, b_chars: usize, min: f32) -> f32 {
    let longest = a_chars.max(b_chars);
    if longest == 0 {
        return 0.0;
    }
    // One more than the largest distance `min` allows, so that rounding never drops a match:
    // a distance within it is exact.
    let cutoff = ((1.0 - min).max(0.0) * longest as f32).ceil() as usize + 1;
    let args = rapidfuzz::distance::levenshtein::Args::default().score_cutoff(cutoff);
    match rapidfuzz::distance::levenshtein::distance_with_args(a.chars(), b.chars(), &args) {
        Some(d) => 1.0 - d as f32 / longest as f32,
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_at_least_is_exact_above_its_minimum() {
        let words = ["dateofbirth", "dateofbirt", "dtofbrth", "sex", "សញ្ជាតិ", "សញ្ជាត", "ward", "wart", "", "icd10", "icdl0"];
        for a in words {
            for b in words {
                let exact = similarity(a, b);
                for min in [0.5, 0.74, 0.79, 0.85, 0.99] {
                    let fast = similarity_at_least(a, a.chars().count(), b, b.chars().count(), min);
                    if exact >= min {
                        assert_eq!(fast, exact, "{a} {b} {min}");
                    } else {
                        assert!(fast < min, "{a} {b} {min}: {fast}");
                    }
                }
            }
        }
    }

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
