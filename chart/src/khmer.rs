//! Khmer script helpers: digits, cleaning, comparison keys.

use unicode_normalization::UnicodeNormalization;

/// Khmer digits ០..៩ in order.
pub const KHMER_DIGITS: [char; 10] = ['០', '១', '២', '៣', '៤', '៥', '៦', '៧', '៨', '៩'];

/// Whether `c` is in the Khmer or Khmer Symbols blocks.
pub fn is_khmer(c: char) -> bool {
    matches!(c, '\u{1780}'..='\u{17FF}' | '\u{19E0}'..='\u{19FF}')
}

/// Whether most letters of `s` are Khmer.
pub fn is_mostly_khmer(s: &str) -> bool {
    let letters: Vec<char> = s.chars().filter(|c| c.is_alphanumeric() || is_khmer(*c)).collect();
    !letters.is_empty() && letters.iter().filter(|c| is_khmer(**c)).count() * 2 > letters.len()
}

/// Replaces Khmer digits with ASCII digits, leaving everything else as it is.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match KHMER_DIGITS.iter().position(|d| *d == c) {
            Some(i) => char::from(b'0' + i as u8),
            None => c,
        })
        .collect()
}

/// Renders ASCII digits as Khmer digits (used by the sample generator and tests).
pub fn khmer_digits(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_digit() { KHMER_DIGITS[(c as u8 - b'0') as usize] } else { c }).collect()
}

/// Cleans Khmer (or any) text as OCR returns it: Unicode NFC, zero-width characters
/// removed, runs of whitespace collapsed to one space, trimmed.
pub fn clean(s: &str) -> String {
    let no_zw: String = s.chars().filter(|c| !matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}')).collect();
    let nfc: String = no_zw.nfc().collect();
    // Split vowels OCR engines emit as two signs: េ + ា is ោ, េ + ី is ើ, េ + ឿ/ៀ as one.
    let joined = nfc.replace("\u{17C1}\u{17B6}", "\u{17C4}").replace("\u{17C1}\u{17B8}", "\u{17BE}");
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Khmer signs that work as punctuation: the colon-like ៈ and ។ ៕ ៖ ៗ ៘ ៙ ៚.
pub fn is_khmer_punctuation(c: char) -> bool {
    c == '\u{17C8}' || ('\u{17D4}'..='\u{17DA}').contains(&c)
}

/// A key for comparing Khmer text as a reader would: cleaned, and the subscripts
/// coeng DA (្ដ) and coeng TA (្ត), which print alike, treated as the same.
pub fn comparison_key(s: &str) -> String {
    clean(s).replace("\u{17D2}\u{178A}", "\u{17D2}\u{178F}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip() {
        assert_eq!(ascii_digits("២៥/១១/២០២៤"), "25/11/2024");
        assert_eq!(khmer_digits("25/11/2024"), "២៥/១១/២០២៤");
    }

    #[test]
    fn split_vowels_are_joined() {
        assert_eq!(clean("\u{1798}\u{17C1}\u{17B6}"), "\u{1798}\u{17C4}");
        assert_eq!(crate::text::label_key("ភេទៈ"), crate::text::label_key("ភេទ"));
    }

    #[test]
    fn clean_removes_zero_width_and_spaces() {
        assert_eq!(clean("  សុខ\u{200B}  ចាន់ "), "សុខ ចាន់");
    }

    #[test]
    fn coeng_da_equals_coeng_ta() {
        assert_eq!(comparison_key("កណ្ដាល"), comparison_key("កណ្តាល"));
        assert!(is_mostly_khmer("កណ្ដាល 12"));
        assert!(!is_mostly_khmer("Kandal"));
    }
}
