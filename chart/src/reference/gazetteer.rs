//! Cambodia's gazetteer: provinces, districts (ស្រុក, ខណ្ឌ, ក្រុង), communes (ឃុំ, សង្កាត់) and
//! villages, in Khmer and English, with their codes (Ministry of Economy and Finance, 2025
//! lists; see `chart/reference/README.md`). Compiled in and indexed on first use.
//!
//! Codes nest: a province has 2 digits, its districts 4, their communes 6, their villages 8,
//! each starting with its parent's code, so "a village of that commune" is a prefix test.
//! Names are looked up in either script: Khmer as printed (coeng DA and TA alike, without
//! spaces), Latin after folding the ways Khmer names are romanised (`Doun Penh` and
//! `Daun Penh`, `Saen Sokh` and `Sen Sok`, `Kampong` and `Kompong`).

use crate::khmer;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A level of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// One of the 24 provinces or the capital.
    Province,
    /// A district (ស្រុក), a khan (ខណ្ឌ) or a municipality (ក្រុង).
    District,
    /// A commune (ឃុំ) or a sangkat (សង្កាត់).
    Commune,
    /// A village (ភូមិ).
    Village,
}

impl Level {
    /// All four, largest first.
    pub const ALL: [Level; 4] = [Level::Province, Level::District, Level::Commune, Level::Village];

    /// The length of this level's codes.
    pub fn code_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::District => 4,
            Level::Commune => 6,
            Level::Village => 8,
        }
    }
}

/// One place of the gazetteer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Its level.
    pub level: Level,
    /// Its code (2, 4, 6 or 8 digits).
    pub code: String,
    /// Its name in Khmer.
    pub khmer: String,
    /// Its name in the gazetteer's romanisation.
    pub english: String,
}

impl Place {
    /// Whether this place lies within `ancestor` (or is it).
    pub fn within(&self, ancestor: &Place) -> bool {
        self.code.starts_with(&ancestor.code)
    }
}

struct Index {
    places: Vec<Place>,
    /// Each place's lookup keys, Khmer and Latin, in the order of `places`.
    keys: Vec<(String, String)>,
    by_name: HashMap<(Level, String), Vec<usize>>,
}

const FILES: [(Level, &str); 4] = [
    (Level::Province, include_str!("../../reference/gazetteer/CambodiaProvinceList2025.csv")),
    (Level::District, include_str!("../../reference/gazetteer/CambodiaDistrictList2025.csv")),
    (Level::Commune, include_str!("../../reference/gazetteer/CambodiaCommuneList2025.csv")),
    (Level::Village, include_str!("../../reference/gazetteer/CambodiaVillagesList2025.csv")),
];

/// The key a Khmer name is looked up by: cleaned, coeng DA as TA, no spaces, no quotes.
pub fn khmer_key(name: &str) -> String {
    khmer::comparison_key(name).chars().filter(|c| khmer::is_khmer(*c) && !khmer::is_khmer_punctuation(*c)).collect()
}

/// The key a romanised name is looked up by: lower case, letters only, with the variants of
/// romanisation folded together (aspirates, vowel spellings, doubled letters, a final h).
pub fn latin_key(name: &str) -> String {
    let mut w: String = name.to_lowercase().chars().filter(char::is_ascii_alphabetic).collect();
    for (from, to) in [
        ("chh", "c"),
        ("ch", "c"),
        ("kh", "k"),
        ("ph", "p"),
        ("th", "t"),
        ("sh", "s"),
        ("gn", "n"),
        ("ny", "n"),
        ("aeu", "e"),
        ("oeu", "e"),
        ("ae", "e"),
        ("ea", "e"),
        ("ie", "e"),
        ("ei", "e"),
        ("ey", "e"),
        ("ay", "e"),
        ("ao", "o"),
        ("au", "o"),
        ("ou", "o"),
        ("uo", "o"),
        ("oa", "o"),
        ("oe", "o"),
        ("ue", "u"),
        ("uy", "u"),
        ("ee", "i"),
        ("y", "i"),
        ("w", "v"),
        ("b", "p"),
        ("q", "k"),
        ("c", "k"),
    ] {
        w = w.replace(from, to);
    }
    // Kampong / Kompong, Prek / Preaek: vowels are the least stable part of a romanisation.
    let mut out = String::new();
    for c in w.chars() {
        let c = if "aeiou".contains(c) { 'a' } else { c };
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    if out.len() > 2 && out.ends_with('h') {
        out.pop();
    }
    out
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut places = Vec::new();
        for (level, text) in FILES {
            let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            for record in reader.records() {
                let r = record.expect("the bundled gazetteer is valid CSV (checked by tests)");
                // The code is the last code column; the names are the last two columns.
                let n = r.len();
                let code = r.get(n - 3).unwrap_or_default().to_string();
                places.push(Place { level, code, khmer: r.get(n - 2).unwrap_or_default().to_string(), english: r.get(n - 1).unwrap_or_default().to_string() });
            }
        }
        let keys: Vec<(String, String)> = places.iter().map(|p| (khmer_key(&p.khmer), latin_key(&p.english))).collect();
        let mut by_name: HashMap<(Level, String), Vec<usize>> = HashMap::new();
        for (i, p) in places.iter().enumerate() {
            for key in [keys[i].0.clone(), keys[i].1.clone()] {
                if !key.is_empty() {
                    let list = by_name.entry((p.level, key)).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
        Index { places, keys, by_name }
    })
}

/// Every place of a level.
pub fn places(level: Level) -> impl Iterator<Item = &'static Place> {
    keyed(level).map(|(p, _)| p)
}

/// Every place of a level with its lookup keys (Khmer, Latin), computed once.
fn keyed(level: Level) -> impl Iterator<Item = (&'static Place, &'static (String, String))> {
    let idx = index();
    idx.places.iter().zip(&idx.keys).filter(move |(p, _)| p.level == level)
}

/// The place with this code.
pub fn by_code(code: &str) -> Option<&'static Place> {
    index().places.iter().find(|p| p.code == code)
}

/// The places of `level` named `name` (Khmer or Latin, as printed; prefixes such as
/// `ភូមិ`, `Khum` or `Province` are not part of a name and must be removed first).
pub fn lookup(level: Level, name: &str) -> Vec<&'static Place> {
    let key = if khmer::is_mostly_khmer(name) { khmer_key(name) } else { latin_key(name) };
    if key.is_empty() {
        return Vec::new();
    }
    let idx = index();
    idx.by_name.get(&(level, key)).map(|ids| ids.iter().map(|&i| &idx.places[i]).collect()).unwrap_or_default()
}

/// The place of `level` within `parent` whose name is nearest to a reading the gazetteer
/// does not hold (an OCR slip: `Kompong Svsy`, `អង្គធំ`), with the similarity of the
/// two lookup keys (0..1). Only a clear winner counts: a near name, at least 0.75 alike,
/// better by a margin than the next one. Without a parent only districts are looked for
/// (communes and villages repeat their names across the country). A Latin reading whose
/// first word is a misread prefix (`Knum Leang Dai`) is also tried without it.
pub fn nearest(level: Level, reading: &str, parent: Option<&Place>) -> Option<(&'static Place, f32)> {
    if parent.is_none() && level > Level::District {
        return None;
    }
    let khmer_reading = khmer::is_mostly_khmer(reading);
    let mut readings = vec![reading.trim().to_string()];
    if !khmer_reading {
        if let Some((_, rest)) = reading.trim().split_once(' ') {
            readings.push(rest.to_string());
        }
    }
    let mut scored: Vec<(f32, &'static Place)> = Vec::new();
    for r in &readings {
        let key = if khmer_reading { khmer_key(r) } else { latin_key(r) };
        if key.chars().count() < 2 {
            continue;
        }
        for (p, keys) in keyed(level).filter(|(p, _)| parent.is_none_or(|a| p.within(a))) {
            let k = if khmer_reading { &keys.0 } else { &keys.1 };
            let longest = key.chars().count().max(k.chars().count()) as f32;
            let sim = 1.0 - crate::text::levenshtein(&key, k) as f32 / longest;
            match scored.iter_mut().find(|(_, q)| q.code == p.code) {
                Some(entry) => entry.0 = entry.0.max(sim),
                None => scored.push((sim, p)),
            }
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best, place) = *scored.first()?;
    let second = scored.get(1).map_or(0.0, |s| s.0);
    (best >= 0.75 && best - second >= 0.15).then_some((place, best))
}

/// A reading mended to `place`'s name, as a suggestion to a reviewer: in Khmer, the
/// gazetteer's spelling; in Latin, word by word, the printed word where it is the
/// gazetteer's word in another romanisation (`Kompong` for `Kampong`) and the gazetteer's word
/// where the reading slipped (`Svsy`), so that what the reviewer is offered keeps the
/// printed spelling wherever it was read.
pub fn mend(reading: &str, place: &Place) -> String {
    if khmer::is_mostly_khmer(reading) {
        return place.khmer.clone();
    }
    let read: Vec<&str> = reading.split_whitespace().collect();
    let official: Vec<&str> = place.english.split_whitespace().collect();
    // A misread prefix before the name (`Knum Leang Dai`) is dropped.
    let read = if read.len() == official.len() + 1 { &read[1..] } else { &read[..] };
    if read.len() != official.len() {
        return place.english.clone();
    }
    read.iter().zip(&official).map(|(r, o)| if latin_key(r) == latin_key(o) { *r } else { *o }).collect::<Vec<_>>().join(" ")
}

/// What the gazetteer says of an address read from a chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressCheck {
    /// For each level (province, district, commune, village), the place it names, when that
    /// name is a place of that level within the places named above it.
    pub places: [Option<&'static Place>; 4],
}

impl AddressCheck {
    /// The place found for a level.
    pub fn at(&self, level: Level) -> Option<&'static Place> {
        self.places[level as usize]
    }
}

/// Checks an address down the hierarchy: a district of that province, a commune of that
/// district, a village of that commune. A name that is a place of its level but not within
/// the places above it counts as not found (the address is not consistent); a level left
/// empty does not stop the levels below from being checked against the ones above it.
pub fn check_address(province: Option<&str>, district: Option<&str>, commune: Option<&str>, village: Option<&str>) -> AddressCheck {
    let names = [province, district, commune, village];
    let mut out = AddressCheck::default();
    let mut parent: Option<&'static Place> = None;
    for (i, level) in Level::ALL.iter().enumerate() {
        let Some(name) = names[i].filter(|n| !n.trim().is_empty()) else { continue };
        let mut found = lookup(*level, name);
        if *level == Level::Province && found.is_empty() {
            if let Some(canonical) = super::super::province::canonical_province(name) {
                found = super::super::province::gazetteer_province(canonical).into_iter().collect();
            }
        }
        let within: Vec<&'static Place> = found.into_iter().filter(|p| parent.is_none_or(|a| p.within(a))).collect();
        // Ambiguous without a parent (the same village name in many communes): not found.
        if within.len() == 1 {
            out.places[i] = Some(within[0]);
            parent = Some(within[0]);
        }
    }
    out
}

/// Places of `level` whose name (in either script) starts with `prefix`, within `parent`
/// when given, best first: for the review page's suggestions.
pub fn suggest(level: Level, prefix: &str, parent: Option<&str>, limit: usize) -> Vec<&'static Place> {
    let lower = prefix.trim().to_lowercase();
    if lower.is_empty() {
        return Vec::new();
    }
    let kh = khmer_key(prefix);
    let mut out: Vec<&'static Place> = keyed(level)
        .filter(|(p, _)| parent.is_none_or(|code| p.code.starts_with(code)))
        .filter(|(p, keys)| if kh.is_empty() { p.english.to_lowercase().starts_with(&lower) } else { keys.0.starts_with(&kh) })
        .map(|(p, _)| p)
        .collect();
    out.sort_by(|a, b| a.english.cmp(&b.english));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_complete_and_nested() {
        let counts: Vec<usize> = Level::ALL.iter().map(|l| places(*l).count()).collect();
        assert_eq!(counts, [25, 210, 1661, 14576]);
        for p in index().places.iter() {
            assert_eq!(p.code.len(), p.level.code_len(), "{p:?}");
            assert!(!p.khmer.is_empty() && !p.english.is_empty(), "{p:?}");
        }
        // Quoted names survive ("Ka" / "Kha" variants of one village name).
        assert!(places(Level::Village).any(|p| p.english == "Prasout \"Ka\""));
    }

    #[test]
    fn names_are_found_in_either_script_and_across_romanisations() {
        let doun_penh = lookup(Level::District, "Daun Penh");
        assert_eq!(doun_penh.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["1202"]);
        assert_eq!(lookup(Level::District, "ដូនពេញ")[0].code, "1202");
        assert!(lookup(Level::District, "Sen Sok").iter().any(|p| p.code == "1208"));
        assert!(lookup(Level::Province, "កណ្តាល").iter().any(|p| p.code == "08"), "coeng TA for DA");
        assert_eq!(latin_key("Kompong Cham"), latin_key("Kampong Cham"));
    }

    #[test]
    fn an_address_is_checked_down_the_hierarchy() {
        let ok = check_address(Some("Banteay Meanchey"), Some("Serei Saophoan"), Some("Kampong Svay"), None);
        assert_eq!(ok.at(Level::Commune).map(|p| p.code.as_str()), Some("010602"));
        // A real district of another province is not a district of this one.
        let wrong = check_address(Some("Kampot"), Some("Serei Saophoan"), None, None);
        assert!(wrong.at(Level::Province).is_some() && wrong.at(Level::District).is_none());
        // Readings one slip away from a place of the parent are pointed to it.
        let serei_saophoan = ok.at(Level::District).unwrap();
        let (place, _) = nearest(Level::Commune, "Kompong Svsy", Some(serei_saophoan)).unwrap();
        assert_eq!(place.english, "Kampong Svay");
        assert_eq!(mend("Kompong Svsy", place), "Kompong Svay", "the printed romanisation kept, the slip mended");
        let banteay_meanchey = ok.at(Level::Province).unwrap();
        assert_eq!(nearest(Level::District, "អង្គធំ", Some(banteay_meanchey)), None, "Angkor Thum is Siem Reap's, not Banteay Meanchey's");
        let siem_reap = check_address(Some("Siem Reap"), None, None, None).at(Level::Province).unwrap();
        let (angkor_thum, _) = nearest(Level::District, "អង្គធំ", Some(siem_reap)).unwrap();
        assert_eq!((angkor_thum.english.as_str(), mend("អង្គធំ", angkor_thum).as_str()), ("Angkor Thum", "អង្គរធំ"));
        let (leang_dai, _) = nearest(Level::Commune, "Knum Leang Dai", Some(angkor_thum)).unwrap();
        assert_eq!(mend("Knum Leang Dai", leang_dai), "Leang Dai", "a misread prefix dropped");
        assert_eq!(nearest(Level::Commune, "Xylophone", Some(angkor_thum)), None, "nothing near");
        assert_eq!(nearest(Level::Village, "Daun Ox", None), None, "villages only within their commune");
        let suggestions = suggest(Level::District, "Sere", Some("01"), 5);
        assert_eq!(suggestions.iter().map(|p| p.english.as_str()).collect::<Vec<_>>(), ["Serei Saophoan"]);
    }
}
