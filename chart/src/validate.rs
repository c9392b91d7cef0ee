//! Cross-field checks, agreement between sources and plausibility.
//!
//! Each field is validated alone by its type (a real date, a number in range); this module
//! checks fields against each other and against reference data. A failed check sends the
//! fields involved to a reviewer and tells why; two independent readings that agree (an age
//! and a date of birth, an LMP and an EDD, a Khmer name and its Latin spelling) are evidence
//! for both, because OCR rarely makes two mistakes that happen to agree. The evidence goes
//! into the calibrated confidence ([`crate::confidence`]).

use crate::field::{ExtractedField, Verdict};
use crate::normalize::{CalendarDate, FieldType};
use crate::reference::gazetteer::{self, Level};
use crate::reference::icd10;
use crate::template::Template;
use std::collections::BTreeMap;

/// The outcome of one check.
enum Check {
    Agrees,
    Fails(String),
    NotApplicable,
}

fn date(fields: &BTreeMap<String, ExtractedField>, name: &str) -> Option<CalendarDate> {
    fields.get(name)?.text().and_then(|v| CalendarDate::parse(v).ok())
}

fn number(fields: &BTreeMap<String, ExtractedField>, name: &str) -> Option<f64> {
    fields.get(name)?.text()?.parse().ok()
}

/// Records a check's outcome on the fields involved: agreement as evidence, a failure as
/// evidence and as the reason the field needs a reviewer.
fn apply(fields: &mut BTreeMap<String, ExtractedField>, names: &[&str], check: Check) {
    for name in names {
        let Some(f) = fields.get_mut(*name) else { continue };
        match &check {
            Check::Agrees => {
                if f.evidence.cross != Verdict::Fails {
                    f.evidence.cross = Verdict::Agrees;
                }
            }
            Check::Fails(why) => {
                f.evidence.cross = Verdict::Fails;
                add_issue(f, why);
            }
            Check::NotApplicable => {}
        }
    }
}

/// Adds a reason for review to a field, after the ones it has.
pub(crate) fn add_issue(f: &mut ExtractedField, why: &str) {
    f.issue = Some(match f.issue.take() {
        Some(old) if !old.starts_with("low confidence") && !old.contains(why) => format!("{old}; {why}"),
        _ => why.to_string(),
    });
}

/// Runs every cross-field check on a chart's fields, recording agreement and failures.
/// `needs_review` is then recomputed by the caller from the threshold.
pub fn cross_check(fields: &mut BTreeMap<String, ExtractedField>) {
    let reference = ["visit_date", "admission_date"].iter().find_map(|n| date(fields, n).map(|d| (*n, d)));
    let born = date(fields, "date_of_birth");

    // Date of birth before the visit or admission.
    if let (Some(b), Some((rname, r))) = (born, reference) {
        let check = if b >= r { Check::Fails(format!("date of birth {b} is not before the {} {r}", rname.replace('_', " "))) } else { Check::NotApplicable };
        apply(fields, &["date_of_birth", rname], check);
    }
    // Age consistent with the date of birth on the visit date.
    if let (Some(age), Some(b), Some((_, r))) = (number(fields, "age"), born, reference) {
        let expected = b.years_until(&r);
        let check = if (age - f64::from(expected)).abs() <= 1.0 {
            Check::Agrees
        } else {
            Check::Fails(format!("age {age} does not match the date of birth (would be {expected})"))
        };
        apply(fields, &["age", "date_of_birth"], check);
    }
    // EDD = LMP + 280 days (Naegele), give or take a few days of rounding.
    if let (Some(lmp), Some(edd)) = (date(fields, "lmp_date"), date(fields, "edd_date")) {
        let days = edd.days() - lmp.days();
        let check = if (days - 280).abs() <= 3 {
            Check::Agrees
        } else {
            Check::Fails(format!("EDD should be LMP + 280 days ({}), it is {days} days after", lmp.add_days(280).map(|d| d.to_string()).unwrap_or_default()))
        };
        apply(fields, &["lmp_date", "edd_date"], check);
    }
    // Gestational age from the LMP and the visit date.
    if let (Some(ga), Some(lmp), Some(visit)) = (number(fields, "gestational_age_weeks"), date(fields, "lmp_date"), date(fields, "visit_date")) {
        let weeks = (visit.days() - lmp.days()) as f64 / 7.0;
        let check = if (ga - weeks).abs() <= 1.5 {
            Check::Agrees
        } else {
            Check::Fails(format!("gestational age {ga} weeks does not match LMP to visit ({weeks:.0} weeks)"))
        };
        apply(fields, &["gestational_age_weeks", "lmp_date"], check);
    }
    // Discharge on or after admission, within a year.
    if let (Some(a), Some(d)) = (date(fields, "admission_date"), date(fields, "discharge_date")) {
        let days = d.days() - a.days();
        let check = if days < 0 {
            Check::Fails(format!("discharge {d} is before admission {a}"))
        } else if days > 365 {
            Check::Fails(format!("a stay of {days} days is implausible"))
        } else {
            Check::NotApplicable
        };
        apply(fields, &["admission_date", "discharge_date"], check);
    }
    // Para cannot exceed gravida.
    if let (Some(g), Some(p)) = (number(fields, "gravida"), number(fields, "para")) {
        let check = if p > g { Check::Fails(format!("para {p} is more than gravida {g}")) } else { Check::NotApplicable };
        apply(fields, &["gravida", "para"], check);
    }
    // Blood pressure: a pulse pressure (systolic - diastolic) of 10 to 100 mmHg.
    if let Some(bp) = fields.get("blood_pressure").and_then(|f| f.text().map(str::to_string)) {
        if let Some((s, d)) = bp.split_once('/').and_then(|(s, d)| Some((s.parse::<i32>().ok()?, d.parse::<i32>().ok()?))) {
            let check = if (10..=100).contains(&(s - d)) {
                Check::NotApplicable
            } else {
                Check::Fails(format!("blood pressure {bp} is implausible (pulse pressure {})", s - d))
            };
            apply(fields, &["blood_pressure"], check);
        }
    }
    // The Khmer name and its Latin spelling.
    if let (Some(kh), Some(la)) =
        (fields.get("name_khmer").and_then(|f| f.text().map(str::to_string)), fields.get("name_latin").and_then(|f| f.text().map(str::to_string)))
    {
        let similarity = name_similarity(&kh, &la);
        let check = if similarity >= 0.75 {
            Check::Agrees
        } else if similarity < 0.6 {
            Check::Fails(format!("the Khmer name {kh} does not read as {la}"))
        } else {
            Check::NotApplicable
        };
        apply(fields, &["name_khmer", "name_latin"], check);
    }
}

/// How alike a Khmer name and a romanised one are, 0..1: their consonant skeletons compared
/// word by word (the least alike word counts) when both have as many words.
pub fn name_similarity(khmer: &str, latin: &str) -> f32 {
    let (k, l) = (khmer_skeleton(khmer), latin_skeleton(latin));
    let (kw, lw): (Vec<&str>, Vec<&str>) = (k.split(' ').collect(), l.split(' ').collect());
    if kw.len() == lw.len() {
        kw.iter().zip(&lw).map(|(a, b)| if a == b { 1.0 } else { crate::text::similarity(a, b) }).fold(1.0, f32::min)
    } else {
        crate::text::similarity(&k, &l)
    }
}

/// Consonant classes shared by Khmer letters and their usual romanisations (UNGEGN and
/// the spellings on Cambodian ID cards): aspirated and plain, voiced and unvoiced stops fall
/// together, because romanisations disagree on them.
fn class_of_khmer(c: char) -> Option<char> {
    Some(match c {
        'ក' | 'ខ' | 'គ' | 'ឃ' => 'k',
        'ង' => 'N',
        'ច' | 'ឆ' | 'ជ' | 'ឈ' => 'C',
        'ញ' => 'Y',
        'ដ' | 'ឋ' | 'ឌ' | 'ឍ' | 'ត' | 'ថ' | 'ទ' | 'ធ' => 't',
        'ណ' | 'ន' => 'n',
        'ប' => 'b',
        'ផ' | 'ព' | 'ភ' => 'p',
        'ម' | 'ំ' => 'm',
        'យ' => 'y',
        'រ' => 'r',
        'ល' | 'ឡ' => 'l',
        'វ' => 'v',
        'ស' | 'ឝ' | 'ឞ' => 's',
        'ហ' | 'ះ' => 'h',
        _ => return None,
    })
}

/// The consonant skeleton of a Khmer name, word by word (the same class twice in a row,
/// as in a coeng cluster ប្ផ, counts once).
pub fn khmer_skeleton(name: &str) -> String {
    let mut out = String::new();
    for word in name.split_whitespace() {
        let mut last = None;
        for c in word.chars().filter_map(class_of_khmer) {
            if Some(c) != last {
                out.push(c);
            }
            last = Some(c);
        }
        out.push(' ');
    }
    out.trim_end().to_string()
}

/// The consonant skeleton of a romanised name, in the classes of [`khmer_skeleton`].
pub fn latin_skeleton(name: &str) -> String {
    let mut out = String::new();
    for word in name.split_whitespace() {
        let w: Vec<char> = word.to_lowercase().chars().filter(char::is_ascii_alphabetic).collect();
        let mut last = None;
        let mut i = 0;
        while i < w.len() {
            let two: String = w[i..(i + 2).min(w.len())].iter().collect();
            let (class, used) = match (two.as_str(), w[i]) {
                ("ch", _) => (Some('C'), if w.get(i + 2) == Some(&'h') { 3 } else { 2 }),
                ("kh", _) => (Some('k'), 2),
                ("ph", _) => (Some('p'), 2),
                ("th", _) => (Some('t'), 2),
                ("ng", _) => (Some('N'), 2),
                ("nh", _) => (Some('Y'), 2),
                (_, 'k' | 'c' | 'g' | 'q') => (Some('k'), 1),
                (_, 'd' | 't') => (Some('t'), 1),
                (_, 'p') => (Some('p'), 1),
                (_, 'b') => (Some('b'), 1),
                (_, 'm') => (Some('m'), 1),
                (_, 'n') => (Some('n'), 1),
                (_, 'r') => (Some('r'), 1),
                (_, 'l') => (Some('l'), 1),
                (_, 'v' | 'w') => (Some('v'), 1),
                (_, 's' | 'x' | 'z') => (Some('s'), 1),
                (_, 'h') => (Some('h'), 1),
                // y is a consonant only before a vowel (Yean), a vowel otherwise (Sreymom).
                (_, 'y') if w.get(i + 1).is_some_and(|c| "aeiou".contains(*c)) => (Some('y'), 1),
                _ => (None, 1),
            };
            if let Some(c) = class {
                if Some(c) != last {
                    out.push(c);
                }
                last = Some(c);
            }
            i += used;
        }
        out.push(' ');
    }
    out.trim_end().to_string()
}

/// A number read with a 0 before more digits and no point (`088`).
fn leading_zero_without_point(raw: &str) -> bool {
    let ascii = crate::khmer::ascii_digits(raw);
    let num: String = ascii.trim_start_matches(|c: char| !c.is_ascii_digit()).chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num.len() >= 2 && num.starts_with('0') && !num.contains('.')
}

/// A character that is neither a digit, a space nor a separator a number is printed with,
/// between two digits.
fn symbol_among_digits(raw: &str) -> bool {
    let ascii = crate::khmer::ascii_digits(raw);
    let chars: Vec<char> = ascii.chars().collect();
    let is_digit = |c: &char| c.is_ascii_digit();
    chars.iter().enumerate().any(|(i, c)| {
        let odd = !(c.is_ascii_digit() || c.is_whitespace() || matches!(c, '+' | '-' | '.' | ',' | '/' | '(' | ')'));
        odd && chars[..i].iter().rev().find(|c| !c.is_whitespace()).is_some_and(is_digit)
            && chars[i + 1..].iter().find(|c| !c.is_whitespace()).is_some_and(is_digit)
    })
}

/// The Khmer and Latin digits of a raw value are both present: a printed number uses one
/// script, so the engine read some digits wrong (`099 ៧១០ ៩៦៨`).
fn mixed_digit_scripts(raw: &str) -> bool {
    raw.chars().any(|c| c.is_ascii_digit()) && raw.chars().any(|c| crate::khmer::KHMER_DIGITS.contains(&c))
}

/// Whether an ICD-10 code's two digits after its letter were read as letters in a way that
/// makes the repair a guess: both of them, or one that is not the letter O (`A0D`, `J1S`).
fn digits_guessed_from_letters(raw: &str) -> bool {
    let compact: Vec<char> = raw.trim_start_matches(|c: char| !c.is_alphanumeric()).chars().filter(|c| !c.is_whitespace() && *c != '.').collect();
    let letters: Vec<char> = compact.iter().skip(1).take(2).filter(|c| c.is_alphabetic()).flat_map(|c| c.to_uppercase()).collect();
    letters.len() >= 2 || letters.iter().any(|c| *c != 'O')
}

/// Plausibility beyond each value's type, for the values of `template`'s fields: a number
/// whose digits are in two scripts or that starts with a 0 (`01 ឆ្នាំ` read for 61), a phone
/// number no Cambodian operator's numbering allows (libphonenumber's metadata), an ICD-10
/// code that is not in the WHO list, a place not in the gazetteer where the rest of the
/// address puts it. An implausible value needs a reviewer; a value found in reference data
/// counts as evidence for it.
pub fn plausibility(template: &Template, fields: &mut BTreeMap<String, ExtractedField>) {
    // The digits the chart is written in: a short number in the other script is likely a
    // misread (the Khmer ១ read as 9).
    let numeric = |k: FieldType| matches!(k, FieldType::Integer | FieldType::Decimal | FieldType::Date | FieldType::BloodPressure);
    let (mut khmer_values, mut latin_values) = (0, 0);
    for spec in template.fields.iter().filter(|s| numeric(s.kind)) {
        let Some(raw) = fields.get(&spec.name).filter(|f| f.value.is_some()).map(|f| f.raw.as_str()) else { continue };
        khmer_values += usize::from(raw.chars().any(|c| crate::khmer::KHMER_DIGITS.contains(&c)));
        latin_values += usize::from(raw.chars().any(|c| c.is_ascii_digit()));
    }
    for spec in &template.fields {
        let Some(f) = fields.get_mut(&spec.name) else { continue };
        let Some(v) = f.text().map(str::to_string) else { continue };
        let raw = f.raw.clone();
        let mut problem: Option<String> = None;
        let digits = raw.chars().filter(|c| c.is_ascii_digit() || crate::khmer::KHMER_DIGITS.contains(c)).count();
        let latin_only = raw.chars().any(|c| c.is_ascii_digit()) && !raw.chars().any(|c| crate::khmer::KHMER_DIGITS.contains(&c));
        if numeric(spec.kind) && digits <= 3 && latin_only && khmer_values >= 3 && latin_values * 3 <= khmer_values {
            problem = Some(format!("{raw:?} is in Latin digits where the chart writes Khmer ones: a digit may be misread"));
        }
        // And the other way: a Latin 9 read as the Khmer ១ (one) it resembles, whose meaning
        // differs (a Khmer digit that looks like its Latin one, ០ for 0, changes nothing).
        let khmer_only = raw.contains('១') && !raw.chars().any(|c| c.is_ascii_digit());
        if numeric(spec.kind) && digits <= 3 && khmer_only && latin_values >= 3 && khmer_values * 3 <= latin_values {
            problem = Some(format!("{raw:?} is in Khmer digits where the chart writes Latin ones: a digit may be misread"));
        }
        // A mark that is no digit between digits (`010 764 $446`): a digit was misread as it,
        // and dropping it would shorten the number.
        if matches!(spec.kind, FieldType::Phone | FieldType::Integer | FieldType::Decimal | FieldType::BloodPressure) && symbol_among_digits(&raw) {
            problem = Some(format!("{raw:?} has a mark among its digits: a digit may be misread"));
        }
        if matches!(spec.kind, FieldType::Integer | FieldType::Decimal) && raw.trim_end().ends_with(['.', ',']) {
            problem = Some(format!("{raw:?} ends in a point: a digit after it may be lost"));
        }
        match spec.kind {
            FieldType::Integer | FieldType::Decimal | FieldType::Date | FieldType::Phone | FieldType::BloodPressure | FieldType::PatientId
                if mixed_digit_scripts(&raw) =>
            {
                problem = Some(format!("{raw:?} mixes Khmer and Latin digits: some were misread"));
            }
            _ => {}
        }
        match spec.kind {
            FieldType::Integer if v.len() > 1 && crate::khmer::ascii_digits(&raw).trim_start().starts_with('0') => {
                problem = Some(format!("{raw:?} starts with a 0: a digit was probably misread"));
            }
            FieldType::Decimal | FieldType::Result if leading_zero_without_point(&raw) => {
                problem = Some(format!("{raw:?} starts with a 0 and has no point: read as {v}, check it"));
            }
            FieldType::Date if crate::khmer::ascii_digits(&raw).split(|c: char| !c.is_ascii_digit()).any(|run| run.len() >= 8) => {
                problem = Some(format!("{raw:?} was read without separators: check the day, month and year"));
            }
            FieldType::PatientId if raw.trim().contains(char::is_whitespace) => {
                // `PP OPD 2023 004417`: the engine reads a thin dash as a gap.
                problem = Some(format!("{raw:?} has a gap inside: a - or / there may be lost"));
            }
            FieldType::Phone => {
                let ok = phonenumber::parse(Some(phonenumber::country::Id::KH), &v).is_ok_and(|n| phonenumber::is_valid(&n));
                if !ok {
                    problem = Some(format!("{v} is not a number any Cambodian operator uses"));
                } else {
                    f.evidence.known = true;
                }
            }
            FieldType::Icd10 if mixed_digit_scripts(&raw) => {
                problem = Some(format!("{raw:?} mixes Khmer and Latin digits: some were misread"));
            }
            FieldType::Icd10
                if raw
                    .trim_start_matches(|c: char| !c.is_alphanumeric())
                    .starts_with(|c: char| c.is_ascii_digit() || crate::khmer::KHMER_DIGITS.contains(&c)) =>
            {
                // `110` is I10, or a misread of something else: the letter was guessed.
                problem = Some(format!("{raw:?} starts with a digit where a code has its letter: read as {v}"));
            }
            FieldType::Icd10 if digits_guessed_from_letters(&raw) => {
                // `AOD` is A00 only if both letters were zeros: the code was guessed.
                problem = Some(format!("{raw:?} has letters where a code has its digits: read as {v}"));
            }
            FieldType::Icd10 => {
                if icd10::exists(&v) {
                    f.evidence.known = true;
                } else {
                    problem = Some(format!("{v} is not an ICD-10 code"));
                }
            }
            FieldType::Province => f.evidence.known = true,
            _ => {}
        }
        // A diagnosis that is nothing but a code (`B509`) was read from the code's box or
        // row, not the diagnosis's.
        if spec.spelling.as_deref() == Some("icd10") && !v.contains(char::is_whitespace) && FieldType::Icd10.canonicalize(&v).is_ok_and(|c| icd10::exists(&c)) {
            problem = Some(format!("{v:?} is an ICD-10 code, not the diagnosis's words"));
        }
        if let Some(why) = problem {
            f.evidence.plausible = false;
            add_issue(f, &why);
        }
    }
    // Addresses, down the hierarchy of the gazetteer.
    let text = |name: &str| fields.get(name).and_then(|f| f.text()).map(str::to_string);
    let (province, district, commune, village) = (text("province"), text("district"), text("commune"), text("village"));
    if district.is_none() && commune.is_none() && village.is_none() {
        return;
    }
    let check = gazetteer::check_address(province.as_deref(), district.as_deref(), commune.as_deref(), village.as_deref());
    let levels = [(Level::District, "district", &district), (Level::Commune, "commune", &commune), (Level::Village, "village", &village)];
    // The places found so far, down the hierarchy. A reading the gazetteer does not hold is
    // kept as read and reviewed; when it is one slip away from a place of its parent, the
    // reviewer is told which (the value is never overwritten), and that place is the parent
    // the levels below are checked against.
    let mut above: Option<(&str, &'static gazetteer::Place)> = check.at(Level::Province).map(|p| ("province", p));
    for (level, name, value) in levels.iter() {
        let Some(value) = value else { continue };
        let Some(f) = fields.get_mut(*name) else { continue };
        if let Some(p) = check.at(*level).filter(|p| above.is_none_or(|(_, a)| p.within(a))) {
            f.evidence.known = true;
            above = Some((name, p));
            continue;
        }
        let nearest = gazetteer::nearest(*level, value, above.map(|(_, p)| p));
        let mut why = match above {
            Some((parent_name, parent)) => format!("{value:?} is not a {name} of the {parent_name} {} in the gazetteer", parent.english),
            None => format!("{value:?} is not a known {name} in the gazetteer"),
        };
        if let Some((place, _)) = nearest {
            why.push_str(&format!(": did you mean {}?", gazetteer::mend(value, place)));
            above = Some((name, place));
        }
        f.evidence.plausible = false;
        add_issue(f, &why);
    }
    // A level left unread above two places the gazetteer found one within the other (a
    // commune of that district): a district lies in one province, a commune in one district.
    // It is filled from the gazetteer, in the script the address was written in, for a
    // reviewer to confirm. One place alone may be a misread that names another place.
    let khmer = [&district, &commune, &village].into_iter().flatten().any(|v| crate::khmer::is_mostly_khmer(v));
    for (name, level, below, digits) in [
        ("province", Level::Province, &[Level::District, Level::Commune, Level::Village][..], 2),
        ("district", Level::District, &[Level::Commune, Level::Village][..], 4),
    ] {
        let Some(f) = fields.get_mut(name).filter(|f| f.value.is_none()) else { continue };
        if below.iter().filter(|l| check.at(**l).is_some()).count() < 2 {
            continue;
        }
        let Some(place) = below.iter().find_map(|l| check.at(*l)) else { continue };
        let Some(parent) = place.code.get(..digits).and_then(gazetteer::by_code) else { continue };
        let value = match level {
            Level::Province => FieldType::Province.canonicalize(&parent.english).ok(),
            _ => Some(if khmer { parent.khmer.clone() } else { parent.english.clone() }),
        };
        let Some(value) = value else { continue };
        add_issue(f, &format!("not read: the gazetteer puts {} in the {name} {}", place.english, parent.english));
        f.value = Some(value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, ExtractedField> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    ExtractedField {
                        value: Some(v.to_string().into()),
                        raw: v.to_string(),
                        confidence: 0.9,
                        needs_review: false,
                        page: 1,
                        bbox: None,
                        issue: None,
                        evidence: crate::Evidence { plausible: true, ..Default::default() },
                    },
                )
            })
            .collect()
    }

    #[test]
    fn agreeing_fields_gain_and_failing_ones_lose_with_a_reason() {
        let mut f =
            fields(&[("date_of_birth", "1990-03-12"), ("visit_date", "2024-11-25"), ("age", "34"), ("lmp_date", "2024-01-10"), ("edd_date", "2024-10-20")]);
        cross_check(&mut f);
        assert_eq!((f["age"].evidence.cross, f["date_of_birth"].evidence.cross), (Verdict::Agrees, Verdict::Agrees));
        assert_eq!(f["edd_date"].evidence.cross, Verdict::Fails);
        assert!(f["edd_date"].issue.as_deref().unwrap().contains("LMP + 280 days (2024-10-16)"), "{:?}", f["edd_date"].issue);

        let mut f = fields(&[
            ("date_of_birth", "2025-01-01"),
            ("admission_date", "2024-11-25"),
            ("discharge_date", "2024-11-20"),
            ("gravida", "1"),
            ("para", "3"),
            ("blood_pressure", "150/145"),
        ]);
        cross_check(&mut f);
        for (name, needle) in [
            ("date_of_birth", "not before the admission date"),
            ("discharge_date", "before admission"),
            ("para", "more than gravida"),
            ("blood_pressure", "implausible"),
        ] {
            assert!(f[name].issue.as_deref().unwrap_or("").contains(needle), "{name}: {:?}", f[name].issue);
            assert_eq!(f[name].evidence.cross, Verdict::Fails);
        }

        let mut f = fields(&[("age", "50"), ("date_of_birth", "1990-03-12"), ("visit_date", "2024-11-25")]);
        cross_check(&mut f);
        assert!(f["age"].issue.as_deref().unwrap().contains("would be 34"));
    }

    #[test]
    fn implausible_readings_go_to_a_reviewer_with_the_reason() {
        let templates = crate::standard_templates();
        let opd = templates.iter().find(|t| t.form == "opd").unwrap();
        let mut f = fields(&[("patient_id", "PPOPD2023004417"), ("diagnosis_icd10", "I10"), ("phone", "0175499945"), ("age", "61")]);
        f.get_mut("patient_id").unwrap().raw = "PP OPD 2023 004417".into();
        f.get_mut("diagnosis_icd10").unwrap().raw = "110".into();
        plausibility(opd, &mut f);
        assert!(!f["patient_id"].evidence.plausible && f["patient_id"].issue.as_deref().unwrap().contains("gap inside"), "{:?}", f["patient_id"].issue);
        assert!(
            !f["diagnosis_icd10"].evidence.plausible && f["diagnosis_icd10"].issue.as_deref().unwrap().contains("read as I10"),
            "{:?}",
            f["diagnosis_icd10"].issue
        );
        assert!(f["phone"].evidence.plausible && f["phone"].evidence.known, "a number an operator uses: {:?}", f["phone"]);
        assert!(f["age"].evidence.plausible && f["age"].issue.is_none());

        let mut f = fields(&[("patient_id", "PP-0042"), ("diagnosis_icd10", "J06.9"), ("phone", "012 34"), ("age", "01")]);
        f.get_mut("age").unwrap().raw = "01".into();
        plausibility(opd, &mut f);
        assert!(f["patient_id"].evidence.plausible);
        assert!(f["diagnosis_icd10"].evidence.plausible && f["diagnosis_icd10"].evidence.known, "J06.9 is in the WHO list");
        assert!(!f["phone"].evidence.plausible, "no operator's number");
        assert!(!f["age"].evidence.plausible, "a leading zero: 61 read as 01?");

        // A short number in the digits the rest of the chart does not use: the Khmer ១ and the
        // Latin 9 are read for each other.
        let ipd = templates.iter().find(|t| t.form == "ipd").unwrap();
        let mut f = fields(&[("admission_date", "2019-08-14"), ("discharge_date", "2019-08-17"), ("length_of_stay_days", "3"), ("bed", "1")]);
        f.get_mut("admission_date").unwrap().raw = "14/08/2019".into();
        f.get_mut("discharge_date").unwrap().raw = "17/08/2019".into();
        f.get_mut("bed").unwrap().raw = "១".into();
        plausibility(ipd, &mut f);
        assert!(!f["bed"].evidence.plausible, "{:?}", f["bed"].issue);
        assert!(f["length_of_stay_days"].evidence.plausible);
        let mut f = fields(&[("admission_date", "2019-08-14"), ("discharge_date", "2019-08-17"), ("length_of_stay_days", "3"), ("bed", "9")]);
        for (name, raw) in [("admission_date", "១៤/០៨/២០១៩"), ("discharge_date", "១៧/០៨/២០១៩"), ("length_of_stay_days", "៣")]
        {
            f.get_mut(name).unwrap().raw = raw.into();
        }
        plausibility(ipd, &mut f);
        assert!(!f["bed"].evidence.plausible, "a Latin digit on a Khmer chart: {:?}", f["bed"].issue);

        // A diagnosis that is only a code.
        let mut f = fields(&[("diagnosis", "B509")]);
        plausibility(opd, &mut f);
        assert!(!f["diagnosis"].evidence.plausible, "{:?}", f["diagnosis"].issue);
        let mut f = fields(&[("diagnosis", "Falciparum malaria")]);
        plausibility(opd, &mut f);
        assert!(f["diagnosis"].evidence.plausible);

        // Digits guessed from letters: both of them, or one that is not an O.
        for (raw, guessed) in [("AOD", true), ("J1S.9", true), ("AO9", false), ("A09", false)] {
            let mut f = fields(&[("diagnosis_icd10", "A00")]);
            f.get_mut("diagnosis_icd10").unwrap().raw = raw.into();
            plausibility(opd, &mut f);
            assert_eq!(!f["diagnosis_icd10"].evidence.plausible, guessed, "{raw}: {:?}", f["diagnosis_icd10"].issue);
        }

        // A valid number once the mark is dropped, one digit short: 0907695446 read so.
        let mut f = fields(&[("phone", "010764446"), ("age", "35")]);
        f.get_mut("phone").unwrap().raw = "010 764 $446".into();
        f.get_mut("age").unwrap().raw = "3 5".into();
        plausibility(opd, &mut f);
        assert!(f["phone"].issue.as_deref().unwrap_or("").contains("mark among its digits"), "{:?}", f["phone"].issue);
        assert!(f["age"].issue.is_none(), "a space is no mark: {:?}", f["age"].issue);
    }

    #[test]
    fn an_unknown_place_is_kept_as_read_and_the_reviewer_told_the_nearest() {
        let templates = crate::standard_templates();
        let opd = templates.iter().find(|t| t.form == "opd").unwrap();
        let mut f =
            fields(&[("province", "Banteay Meanchey"), ("district", "Serei Saophoa1"), ("commune", "Knum Kampong Svay"), ("village", "Nowhere Special")]);
        plausibility(opd, &mut f);
        assert_eq!(f["district"].text(), Some("Serei Saophoa1"), "never overwritten with the official name");
        assert!(f["district"].issue.as_deref().unwrap().contains("did you mean Serei Saophoan?"), "{:?}", f["district"].issue);
        assert_eq!(f["commune"].text(), Some("Knum Kampong Svay"));
        assert!(
            f["commune"].issue.as_deref().unwrap().contains("not a commune of the district Serei Saophoan in the gazetteer: did you mean Kampong Svay?"),
            "checked against the likely district: {:?}",
            f["commune"].issue
        );
        for name in ["district", "commune", "village"] {
            assert!(!f[name].evidence.plausible && !f[name].evidence.known, "{name} is reviewed");
        }
        assert!(
            f["village"].issue.as_deref().unwrap().ends_with("not a village of the commune Kampong Svay in the gazetteer"),
            "nothing near: {:?}",
            f["village"].issue
        );
    }

    #[test]
    fn an_unread_level_above_two_places_found_is_taken_from_the_gazetteer_for_review() {
        let templates = crate::standard_templates();
        let opd = templates.iter().find(|t| t.form == "opd").unwrap();
        let mut f = fields(&[("district", "បាណន់"), ("commune", "ភ្នំសំពៅ")]);
        f.insert("province".into(), ExtractedField::missing("not found"));
        plausibility(opd, &mut f);
        assert_eq!(f["province"].text(), Some("Battambang"));
        assert!(f["province"].issue.as_deref().unwrap().contains("the gazetteer puts Banan in the province Battambang"), "{:?}", f["province"].issue);
        // A commune and a village found: the district between them, in the address's script.
        let mut f = fields(&[("province", "Battambang"), ("commune", "ភ្នំសំពៅ"), ("village", "ចែងក្ដារ")]);
        f.insert("district".into(), ExtractedField::missing("not found"));
        plausibility(opd, &mut f);
        assert_eq!(f["district"].text(), Some("បាណន់"));
        // One place alone may be a misread naming another place: nothing is filled.
        let mut f = fields(&[("district", "Banan")]);
        f.insert("province".into(), ExtractedField::missing("not found"));
        plausibility(opd, &mut f);
        assert_eq!(f["province"].value, None);
    }

    #[test]
    fn khmer_and_latin_names_are_compared_by_their_consonants() {
        for (kh, la) in [
            ("ចាន់ បុប្ផា", "CHAN Bopha"),
            ("ម៉ៅ ស្រីមុំ", "MAO Sreymom"),
            ("សុខ សុភាព", "SOK Sopheap"),
            ("ឈឹម ធីតា", "CHHIM Thida"),
            ("ហេង សំណាង", "HENG Samnang"),
            ("នួន វិចិត្រ", "NUON Vichet"),
        ] {
            let s = name_similarity(kh, la);
            assert!(s >= 0.75, "{kh} / {la}: {} vs {} = {s}", khmer_skeleton(kh), latin_skeleton(la));
        }
        for (kh, la) in [("ចាន់ បុប្ជា", "CHAN Bopha"), ("គឹម ug", "KIM Bopha"), ("សេង វណ្ណា", "HENG Dara")] {
            let s = name_similarity(kh, la);
            assert!(s < 0.75, "{kh} / {la}: {s}");
        }
    }
}
