//! Cambodia's 24 provinces and the capital, with Khmer and common Latin spellings.

use crate::{khmer, text};

/// (English name, Khmer name, other Latin spellings seen on forms).
pub const PROVINCES: &[(&str, &str, &[&str])] = &[
    ("Phnom Penh", "ភ្នំពេញ", &["Phnum Penh", "PP", "Phnom Phen"]),
    ("Banteay Meanchey", "បន្ទាយមានជ័យ", &["Banteay Mean Chey", "Banteay Meanchay"]),
    ("Battambang", "បាត់ដំបង", &["Batdambang", "Battambong", "Batambang"]),
    ("Kampong Cham", "កំពង់ចាម", &["Kompong Cham", "Kg Cham"]),
    ("Kampong Chhnang", "កំពង់ឆ្នាំង", &["Kompong Chhnang", "Kampong Chnang"]),
    ("Kampong Speu", "កំពង់ស្ពឺ", &["Kompong Speu", "Kompong Spueu"]),
    ("Kampong Thom", "កំពង់ធំ", &["Kompong Thom", "Kg Thom"]),
    ("Kampot", "កំពត", &["Kompot"]),
    ("Kandal", "កណ្ដាល", &["Kandaal"]),
    ("Kep", "កែប", &["Kaeb", "Krong Kep"]),
    ("Koh Kong", "កោះកុង", &["Kaoh Kong"]),
    ("Kratie", "ក្រចេះ", &["Kracheh", "Kratié"]),
    ("Mondulkiri", "មណ្ឌលគិរី", &["Mondul Kiri", "Mondolkiri"]),
    ("Oddar Meanchey", "ឧត្ដរមានជ័យ", &["Otdar Meanchey", "Oddor Meanchey"]),
    ("Pailin", "ប៉ៃលិន", &["Pailen"]),
    ("Preah Sihanouk", "ព្រះសីហនុ", &["Sihanoukville", "Kampong Som", "Preah Sihanoukville"]),
    ("Preah Vihear", "ព្រះវិហារ", &["Preah Vihea"]),
    ("Prey Veng", "ព្រៃវែង", &["Prey Veang"]),
    ("Pursat", "ពោធិ៍សាត់", &["Pouthisat", "Posat"]),
    ("Ratanakiri", "រតនគិរី", &["Ratanak Kiri", "Rattanakiri", "Rotanah Kiri"]),
    ("Siem Reap", "សៀមរាប", &["Siemreap", "Siem Riep", "Siem Reab"]),
    ("Stung Treng", "ស្ទឹងត្រែង", &["Stoeng Treng", "Steung Treng"]),
    ("Svay Rieng", "ស្វាយរៀង", &["Svay Rien"]),
    ("Takeo", "តាកែវ", &["Takev", "Takaev"]),
    ("Tbong Khmum", "ត្បូងឃ្មុំ", &["Tboung Khmum", "Tbaung Khmum"]),
];

/// The English name of the province written `s` (Khmer or Latin, misspellings tolerated),
/// or `None` when it is not close enough to any.
pub fn canonical_province(s: &str) -> Option<&'static str> {
    let s = s.trim();
    let s = s
        .trim_start_matches("ខេត្ត")
        .trim_start_matches("រាជធានី")
        .trim_start_matches("Province of")
        .trim();
    let mut key = text::label_key(s);
    for suffix in ["province", "capital", "city"] {
        if key.len() > suffix.len() && key.ends_with(suffix) {
            key.truncate(key.len() - suffix.len());
        }
    }
    if key.is_empty() {
        return None;
    }
    let mut best: Option<(&'static str, f32)> = None;
    for (english, khmer_name, others) in PROVINCES {
        let names = std::iter::once(*english).chain(std::iter::once(*khmer_name)).chain(others.iter().copied());
        for name in names {
            let sim = text::similarity(&key, &text::label_key(name));
            if best.map_or(true, |(_, b)| sim > b) {
                best = Some((english, sim));
            }
        }
    }
    let threshold = if khmer::is_mostly_khmer(s) { 0.7 } else { 0.8 };
    best.filter(|(_, sim)| *sim >= threshold).map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_five_provinces() {
        assert_eq!(PROVINCES.len(), 25);
    }

    #[test]
    fn khmer_latin_and_misspelt() {
        assert_eq!(canonical_province("ភ្នំពេញ"), Some("Phnom Penh"));
        assert_eq!(canonical_province("ខេត្តសៀមរាប"), Some("Siem Reap"));
        assert_eq!(canonical_province("kompong cham"), Some("Kampong Cham"));
        assert_eq!(canonical_province("Battambong"), Some("Battambang"));
        assert_eq!(canonical_province("Kandal Province"), Some("Kandal"));
        assert_eq!(canonical_province("កណ្តាល"), Some("Kandal"));
        assert_eq!(canonical_province("Paris"), None);
    }
}
