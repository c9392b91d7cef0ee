//! Cambodia's 24 provinces and the capital: the canonical English names of docs/CONTRACT.md,
//! found from Khmer or Latin spellings through the gazetteer.

use crate::reference::gazetteer::{self, Level, Place};
use crate::{khmer, text};

/// The canonical English name of each province, by its gazetteer code. docs/CONTRACT.md fixes
/// these spellings (`Siem Reap`, where the gazetteer romanises `Siemreap`); the Khmer names
/// and the official romanisation come from the gazetteer.
pub const CANONICAL: [(&str, &str); 25] = [
    ("01", "Banteay Meanchey"),
    ("02", "Battambang"),
    ("03", "Kampong Cham"),
    ("04", "Kampong Chhnang"),
    ("05", "Kampong Speu"),
    ("06", "Kampong Thom"),
    ("07", "Kampot"),
    ("08", "Kandal"),
    ("09", "Koh Kong"),
    ("10", "Kratie"),
    ("11", "Mondulkiri"),
    ("12", "Phnom Penh"),
    ("13", "Preah Vihear"),
    ("14", "Prey Veng"),
    ("15", "Pursat"),
    ("16", "Ratanakiri"),
    ("17", "Siem Reap"),
    ("18", "Preah Sihanouk"),
    ("19", "Stung Treng"),
    ("20", "Svay Rieng"),
    ("21", "Takeo"),
    ("22", "Oddar Meanchey"),
    ("23", "Kep"),
    ("24", "Pailin"),
    ("25", "Tbong Khmum"),
];

/// Words around a province's name that are not the name.
const KHMER_PREFIXES: [&str; 2] = ["ខេត្ត", "រាជធានី"];

fn bare_khmer(name: &str) -> String {
    let mut key = gazetteer::khmer_key(name);
    for p in KHMER_PREFIXES {
        let p = gazetteer::khmer_key(p);
        if key.starts_with(&p) && key.chars().count() > p.chars().count() + 1 {
            key = key[p.len()..].to_string();
        }
    }
    key
}

fn bare_latin(name: &str) -> String {
    let mut words: Vec<String> = name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    words.retain(|w| !matches!(w.as_str(), "province" | "capital" | "city" | "khet" | "of" | "krong" | "municipality"));
    gazetteer::latin_key(&words.join(" "))
}

/// The gazetteer's entry for a canonical province name.
pub fn gazetteer_province(canonical: &str) -> Option<&'static Place> {
    let code = CANONICAL.iter().find(|(_, n)| *n == canonical)?.0;
    gazetteer::by_code(code)
}

/// The English name of the province written `s` (Khmer or Latin, misspellings tolerated),
/// or `None` when it is not close enough to any.
pub fn canonical_province(s: &str) -> Option<&'static str> {
    let s = s.trim();
    let khmer = khmer::is_mostly_khmer(s);
    let key = if khmer { bare_khmer(s) } else { bare_latin(s) };
    if key.chars().count() < 2 {
        return None;
    }
    let mut best: Option<(&'static str, f32)> = None;
    for (code, canonical) in CANONICAL {
        let place = gazetteer::by_code(code).expect("every province is in the gazetteer (checked by tests)");
        let names: Vec<String> = if khmer { vec![bare_khmer(&place.khmer)] } else { vec![bare_latin(&place.english), bare_latin(canonical)] };
        for name in names {
            let sim = text::similarity(&key, &name);
            if best.is_none_or(|(_, b)| sim > b) {
                best = Some((canonical, sim));
            }
        }
    }
    let threshold = if khmer { 0.7 } else { 0.75 };
    best.filter(|(_, sim)| *sim >= threshold).map(|(name, _)| name)
}

/// Every province as the gazetteer has it, with its canonical name.
pub fn provinces() -> impl Iterator<Item = (&'static str, &'static Place)> {
    CANONICAL.iter().map(|(code, name)| (*name, gazetteer::by_code(code).expect("every province is in the gazetteer")))
}

/// Whether a level is the province level (re-exported for callers that only know names).
pub fn is_province(level: Level) -> bool {
    level == Level::Province
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_five_provinces_all_in_the_gazetteer() {
        assert_eq!(provinces().count(), 25);
    }

    #[test]
    fn khmer_latin_and_misspelt() {
        assert_eq!(canonical_province("ភ្នំពេញ"), Some("Phnom Penh"));
        assert_eq!(canonical_province("រាជធានីភ្នំពេញ"), Some("Phnom Penh"));
        assert_eq!(canonical_province("ខេត្តសៀមរាប"), Some("Siem Reap"));
        assert_eq!(canonical_province("kompong cham"), Some("Kampong Cham"));
        assert_eq!(canonical_province("Battambong"), Some("Battambang"));
        assert_eq!(canonical_province("Kandal Province"), Some("Kandal"));
        assert_eq!(canonical_province("កណ្តាល"), Some("Kandal"));
        assert_eq!(canonical_province("Siemreap"), Some("Siem Reap"));
        assert_eq!(canonical_province("Sihanoukville"), Some("Preah Sihanouk"));
        assert_eq!(canonical_province("Paris"), None);
        assert_eq!(canonical_province("Kampot"), Some("Kampot"));
        assert_eq!(canonical_province("Kep"), Some("Kep"));
    }
}
