//! A whole address under one label, split into village, commune, district and province.
//!
//! In Khmer each part carries its prefix: ភូមិ (village), ឃុំ or សង្កាត់ (commune), ស្រុក,
//! ខណ្ឌ or ក្រុង (district), ខេត្ត or រាជធានី (province). In Latin script the parts are
//! separated by commas, smallest first, some with a prefix (`Phum`, `Khum`/`Sangkat`,
//! `Srok`/`Khan`/`Krong`, `Province`); parts without one take the places left in that
//! order, the last one the province when it is one, and where that leaves a choice the
//! gazetteer decides (a sangkat of that krong rather than a village). The parts are kept as
//! printed, without their prefixes.

use crate::province::canonical_province;
use crate::reference::gazetteer::{self, Level};

/// The parts of an address, smallest first: village, commune, district, province.
pub(crate) type Parts = [Option<String>; 4];

const KHMER_PREFIXES: [(&str, usize); 8] = [("ភូមិ", 0), ("ឃុំ", 1), ("សង្កាត់", 1), ("ស្រុក", 2), ("ខណ្ឌ", 2), ("ក្រុង", 2), ("ខេត្ត", 3), ("រាជធានី", 3)];

fn latin_level(word: &str) -> Option<usize> {
    match word.trim_end_matches('.').to_lowercase().as_str() {
        "phum" | "phoum" | "village" | "vill" | "vil" => Some(0),
        "khum" | "sangkat" | "commune" | "sk" => Some(1),
        "srok" | "khan" | "krong" | "district" | "dist" | "municipality" => Some(2),
        "khet" | "province" | "prov" | "capital" => Some(3),
        _ => None,
    }
}

fn trim_part(s: &str) -> String {
    s.trim_matches(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | ';' | ':' | '-' | '/' | '|' | '។')).to_string()
}

/// Splits a Khmer address at its prefixes. Empty when it has fewer than two.
fn split_khmer(text: &str) -> Parts {
    let mut marks: Vec<(usize, usize, usize)> = Vec::new(); // byte position, prefix length, level
    for (prefix, level) in KHMER_PREFIXES {
        // The engine often drops a prefix's last sign (ភូម for ភូមិ, ឃុ for ឃុំ): at the start
        // of a word, the prefix without it counts too.
        let last = prefix.chars().last().expect("a prefix");
        let shorter = if ('\u{17B6}'..='\u{17D3}').contains(&last) { Some(&prefix[..prefix.len() - last.len_utf8()]) } else { None };
        for (form, whole) in [(prefix, true), (shorter.unwrap_or(prefix), false)] {
            for (pos, _) in text.match_indices(form) {
                // (After a space, or a mark that is not a letter: `|ភូម...` at a cell's border.)
                let at_word_start = text[..pos].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || crate::khmer::is_khmer(c)));
                // A long prefix without its last sign is distinctive enough inside a run of
                // words the engine joined (`...ក្តសង្កាតព្រែធំ`); a short one (ភូម, ឃុ) is not.
                let distinctive = form.chars().count() >= 5;
                let overlaps = marks.iter().any(|&(p, l, _)| pos < p + l && p < pos + form.len());
                let next_is_mark = text[pos + form.len()..].chars().next().is_some_and(|c| ('\u{17B6}'..='\u{17D3}').contains(&c));
                if overlaps || next_is_mark || (!whole && !at_word_start && !distinctive) {
                    continue;
                }
                if at_word_start || !marks.iter().any(|&(_, _, lv)| lv == level) {
                    marks.push((pos, form.len(), level));
                }
            }
            if shorter.is_none() {
                break;
            }
        }
    }
    marks.sort_unstable();
    // In order of size: a prefix out of order inside a name is part of the name.
    let mut kept: Vec<(usize, usize, usize)> = Vec::new();
    for m in marks {
        if kept.last().is_none_or(|k| m.2 > k.2) {
            kept.push(m);
        }
    }
    let mut parts: Parts = Default::default();
    if kept.len() < 2 {
        return parts;
    }
    for (i, &(pos, len, level)) in kept.iter().enumerate() {
        let end = kept.get(i + 1).map_or(text.len(), |n| n.0);
        let part = trim_part(&text[pos + len..end]);
        if !part.is_empty() {
            parts[level] = Some(part);
        }
    }
    parts
}

/// Splits a Latin address at its commas (see the module documentation).
fn split_latin(text: &str) -> Parts {
    let pieces: Vec<String> = text.split([',', ';']).map(trim_part).filter(|p| !p.is_empty()).collect();
    let mut parts: Parts = Default::default();
    if pieces.len() < 2 {
        return parts;
    }
    // Each piece: its level from a prefix or suffix word, and the name without it.
    let mut known: Vec<(Option<usize>, String)> = Vec::new();
    for p in &pieces {
        let words: Vec<&str> = p.split_whitespace().collect();
        let mut level = None;
        let mut name: Vec<&str> = words.clone();
        if let Some(l) = words.first().and_then(|w| latin_level(w)) {
            level = Some(l);
            name.remove(0);
        } else if let Some(l) = words.last().and_then(|w| latin_level(w)) {
            if words.len() > 1 {
                level = Some(l);
                name.pop();
            }
        }
        known.push((level, name.join(" ")));
    }
    // The last piece is the province when it names one.
    let last = known.len() - 1;
    if known[last].0.is_none() && canonical_province(&known[last].1).is_some() {
        known[last].0 = Some(3);
    }
    // The others take the places left, in order; where there is a choice, the gazetteer's.
    let free: Vec<usize> = (0..known.len()).filter(|&i| known[i].0.is_none()).collect();
    if !free.is_empty() {
        let mut best: Option<((usize, usize), Vec<usize>)> = None;
        for assignment in assignments(&known, &free) {
            let mut trial = known.clone();
            for (&i, &l) in free.iter().zip(&assignment) {
                trial[i].0 = Some(l);
            }
            let mut names: [Option<&str>; 4] = [None; 4];
            for (l, n) in trial.iter().filter_map(|(l, n)| l.map(|l| (l, n.as_str()))) {
                names[l] = Some(n);
            }
            let check = gazetteer::check_address(names[3], names[2], names[1], names[0]);
            let known = Level::ALL.iter().filter(|l| check.at(**l).is_some()).count();
            // Between equally known readings, the one leaving no level out between the
            // parts (a sangkat of that krong, not a village with the sangkat missing).
            let filled: Vec<usize> = (0..4).filter(|&l| names[l].is_some()).collect();
            let gaps = filled.windows(2).map(|w| w[1] - w[0] - 1).sum::<usize>();
            let score = (known, usize::MAX - gaps);
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, assignment));
            }
        }
        if let Some((_, assignment)) = best {
            for (&i, &l) in free.iter().zip(&assignment) {
                known[i].0 = Some(l);
            }
        }
    }
    for (level, name) in known {
        if let Some(l) = level {
            if parts[l].is_none() && !name.is_empty() {
                parts[l] = Some(name);
            }
        }
    }
    parts
}

/// The order-keeping ways to give the pieces without a level the levels left: each free
/// piece a level above the known piece before it and below the known piece after it,
/// smallest levels first.
fn assignments(known: &[(Option<usize>, String)], free: &[usize]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    fn go(known: &[(Option<usize>, String)], free: &[usize], k: usize, floor: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k == free.len() {
            out.push(current.clone());
            return;
        }
        let i = free[k];
        let ceiling = known[i + 1..].iter().find_map(|(l, _)| *l).unwrap_or(4);
        let floor = floor.max(known[..i].iter().rev().find_map(|(l, _)| l.map(|l| l + 1)).unwrap_or(0));
        for level in floor..ceiling {
            current.push(level);
            go(known, free, k + 1, level + 1, current, out);
            current.pop();
        }
    }
    go(known, free, 0, 0, &mut current, &mut out);
    out
}

/// Splits a one-line address into its parts (empty when it cannot tell them apart).
pub(crate) fn split(text: &str) -> Parts {
    if crate::khmer::is_mostly_khmer(text) {
        split_khmer(text)
    } else {
        split_latin(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<Option<&'static str>> {
        split(text).into_iter().map(|p| p.map(|s| &*s.leak())).collect()
    }

    #[test]
    fn khmer_addresses_split_at_their_prefixes() {
        assert_eq!(parts("ភូមិត្រពាំងឈូក ឃុំព្រែកក្រឹស ស្រុកកំពង់ត្រាច ខេត្តកំពត"), [Some("ត្រពាំងឈូក"), Some("ព្រែកក្រឹស"), Some("កំពង់ត្រាច"), Some("កំពត")]);
        assert_eq!(parts("ភូមិកងវ៉ា សង្កាត់កំពង់ស្វាយ ក្រុងសិរីសោភ័ណ ខេត្តបន្ទាយមានជ័យ"), [Some("កងវ៉ា"), Some("កំពង់ស្វាយ"), Some("សិរីសោភ័ណ"), Some("បន្ទាយមានជ័យ")]);
        // Spaces lost by the engine; the capital's prefix.
        assert_eq!(parts("ភូមិត្រពាំងទាសង្កាត់ពងទឹក ខណ្ឌដង្កោរាជធានីភ្នំពេញ"), [Some("ត្រពាំងទា"), Some("ពងទឹក"), Some("ដង្កោ"), Some("ភ្នំពេញ")]);
        assert_eq!(parts("ត្រពាំងឈូក"), [None, None, None, None], "no prefixes, no parts");
        // A cell border before the first prefix; prefixes without their last sign, one of
        // them inside a run of words the engine joined.
        assert_eq!(parts("|ភូមព្រែក្តសង្កាតព្រែធំ ខេត្តកែប"), [Some("ព្រែក្ត"), Some("ព្រែធំ"), None, Some("កែប")]);
    }

    #[test]
    fn latin_addresses_split_at_commas_with_or_without_prefixes() {
        assert_eq!(
            parts("Phum Trapeang Tea, Sangkat Pong Tuek, Khan Dangkao, Phnom Penh"),
            [Some("Trapeang Tea"), Some("Pong Tuek"), Some("Dangkao"), Some("Phnom Penh")]
        );
        assert_eq!(
            parts("Phum Daun Ov, Khum Leang Dai, Srok Angkor Thum, Siem Reap Province"),
            [Some("Daun Ov"), Some("Leang Dai"), Some("Angkor Thum"), Some("Siem Reap")]
        );
        // Daeum Mien is a sangkat of Ta Khmau: the gazetteer says which place it fills.
        assert_eq!(parts("Daeum Mien, Krong Ta Khmau, Kandal"), [None, Some("Daeum Mien"), Some("Ta Khmau"), Some("Kandal")]);
        // Chbar Ampov is a khan of Phnom Penh: the piece before it takes the place between.
        assert_eq!(parts("Trapeang Thom, Chbar Ampov, Phnom Penh"), [None, Some("Trapeang Thom"), Some("Chbar Ampov"), Some("Phnom Penh")]);
    }
}
