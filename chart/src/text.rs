//! Fuzzy text matching for labels read by OCR.

use crate::khmer;

/// A key for matching printed labels: cleaned, lower case, without punctuation or spaces.
pub fn label_key(s: &str) -> String {
    // Latin text is only filtered and lower-cased: normalisation changes no ASCII character
    // (every label and word of a page goes through here, many times per page).
    if s.is_ascii() {
        return s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    }
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

/// [`similarity`] of `a` and `b` (characters, or the bytes of ASCII texts) when it is at
/// least `min`; below `min` it may be reported as 0. The edit distance stops counting past
/// what `min` allows, which makes matching a page against a vocabulary of labels several
/// times faster.
pub fn similarity_at_least<T: Copy + PartialEq + rapidfuzz::HashableChar>(a: &[T], b: &[T], min: f32) -> f32 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    // One more than the largest distance `min` allows, so that rounding never drops a match:
    // a distance within it is exact.
    let cutoff = ((1.0 - min).max(0.0) * longest as f32).ceil() as usize + 1;
    let args = rapidfuzz::distance::levenshtein::Args::default().score_cutoff(cutoff);
    match rapidfuzz::distance::levenshtein::distance_with_args(a.iter().copied(), b.iter().copied(), &args) {
        Some(d) => 1.0 - d as f32 / longest as f32,
        None => 0.0,
    }
}

/// A label key ready for many comparisons: its characters, and which of 64 classes (a
/// character's code modulo 64) they fall in. A character class one text has and the other
/// lacks needs an edit of its own, so two keys' classes bound their edit distance from
/// below: most spans of a page are told from most labels by that alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKey {
    /// The key (see [`label_key`]).
    pub text: String,
    /// Its characters.
    pub chars: Vec<char>,
    mask: u64,
}

impl MatchKey {
    /// The key of a printed label or of words read.
    pub fn of(text: &str) -> Self {
        Self::from_key(label_key(text))
    }

    /// A text already made a key by [`label_key`].
    pub fn from_key(text: String) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mask = char_mask(&chars);
        MatchKey { text, chars, mask }
    }

    /// How many characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Its [`char_mask`].
    pub fn mask(&self) -> u64 {
        self.mask
    }

    /// Whether it has no characters.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// [`similarity`] with `other` when it is at least `min` (below `min`, possibly 0).
    pub fn similarity_at_least(&self, other: &MatchKey, min: f32) -> f32 {
        similarity_at_least_masked(&self.chars, self.mask, &other.chars, other.mask, min)
    }
}

/// Which of 64 classes the characters fall in (see [`MatchKey`]).
pub fn char_mask(chars: &[char]) -> u64 {
    chars.iter().fold(0, |m, &c| m | 1 << (c as u32 % 64))
}

/// [`similarity_at_least`], first bounding the distance from the texts' [`char_mask`]s: a
/// substitution removes at most one missing class from each side, so the distance is at
/// least the larger count of classes one text has and the other lacks.
pub fn similarity_at_least_masked(a: &[char], a_mask: u64, b: &[char], b_mask: u64, min: f32) -> f32 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    let apart = (a_mask & !b_mask).count_ones().max((b_mask & !a_mask).count_ones());
    if 1.0 - apart as f32 / (longest as f32) < min {
        return 0.0;
    }
    similarity_at_least(a, b, min)
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
                    let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                    let fast = similarity_at_least(&ac, &bc, min);
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
