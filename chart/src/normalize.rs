//! Field types and their normalisers: raw OCR (or reviewer) text in, canonical value out,
//! as docs/CONTRACT.md defines the canonical values.

use crate::{khmer, province};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// The type of a field; decides how raw text becomes a canonical value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text as printed, single spaces.
    Text,
    /// Text in Khmer script, NFC, single spaces.
    KhmerText,
    /// Text in Latin script, single spaces.
    LatinText,
    /// A person's name (a doctor, a midwife, a husband) in either script, as printed: no
    /// digits; a title the engine misread (`Or`, `De.` for `Dr.`) is put back.
    Person,
    /// A patient number: ASCII digits and upper-case letters.
    PatientId,
    /// `M` or `F`.
    Sex,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A whole number in ASCII digits.
    Integer,
    /// A decimal number with `.`.
    Decimal,
    /// A Cambodian phone number in national form with leading 0.
    Phone,
    /// The English name of one of Cambodia's 25 provinces.
    Province,
    /// An ICD-10 code, upper case with dot.
    Icd10,
    /// `SYS/DIA` in mmHg.
    BloodPressure,
    /// Outcome of an admission.
    Outcome,
    /// A test result: a decimal number with `.`, or the printed word (`Negative`).
    Result,
    /// Repeated rows (a visits table, lab results): its value is a list of rows, each
    /// canonicalised by its column's type.
    Table,
    /// A whole address on one line, split into the template's address fields.
    Address,
}

/// Why a text is not a valid value of a field type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(msg.into()))
}

impl FieldType {
    /// Turns raw text into the canonical value of this type, or says why it cannot.
    pub fn canonicalize(&self, raw: &str) -> Result<String, ValueError> {
        let cleaned = khmer::clean(raw);
        let cleaned = cleaned.trim_matches(|c: char| {
            matches!(c, ':' | ';' | ',' | '|' | '_' | '—' | '-' | '.' | '‘' | '’' | '“' | '”' | '\'' | '"' | '`' | '°' | '«' | '»' | '*' | '•')
                || c.is_whitespace()
        });
        // A parenthesis left open or closed at an end is a speck or a rule's stub, not text.
        let cleaned = if cleaned.starts_with('(') && !cleaned.contains(')') { cleaned[1..].trim_start() } else { cleaned };
        let cleaned = if cleaned.ends_with(')') && !cleaned.contains('(') { cleaned[..cleaned.len() - 1].trim_end() } else { cleaned };
        if cleaned.is_empty() {
            return err("empty");
        }
        match self {
            FieldType::Text => Ok(cleaned.to_string()),
            FieldType::KhmerText => {
                if khmer::is_mostly_khmer(cleaned) {
                    // Words without a Khmer letter at either end are label residue or specks
                    // (`(Khmer ញឹក ដាលីន`), not part of a Khmer text.
                    let words: Vec<&str> = cleaned.split_whitespace().collect();
                    let has_khmer = |w: &&str| w.chars().any(khmer::is_khmer);
                    let start = words.iter().position(has_khmer).unwrap_or(0);
                    let end = words.iter().rposition(has_khmer).map_or(words.len(), |e| e + 1);
                    Ok(words[start..end].join(" "))
                } else {
                    err("expected Khmer script")
                }
            }
            FieldType::LatinText => {
                if khmer::is_mostly_khmer(cleaned) {
                    err("expected Latin script")
                } else {
                    Ok(without_accents(cleaned))
                }
            }
            FieldType::Person => person(&without_accents(cleaned)),
            FieldType::PatientId => patient_id(cleaned),
            FieldType::Sex => sex(cleaned),
            FieldType::Date => date(cleaned).map(|d| d.to_string()),
            FieldType::Integer => integer(cleaned).map(|n| n.to_string()),
            FieldType::Decimal => decimal(cleaned),
            FieldType::Phone => phone(cleaned),
            FieldType::Province => {
                province::canonical_province(cleaned).map(str::to_string).ok_or_else(|| ValueError(format!("{cleaned:?} is not a province of Cambodia")))
            }
            FieldType::Icd10 => icd10(cleaned),
            FieldType::BloodPressure => blood_pressure(cleaned),
            FieldType::Outcome => outcome(cleaned),
            FieldType::Address => Ok(cleaned.to_string()),
            FieldType::Result => result(cleaned),
            FieldType::Table => err("a table's value is a list of rows, not text"),
        }
    }
}

/// Latin letters without accents: Khmer names are romanised without them (UNGEGN, the
/// ministry's lists), so an accent on a name (`Héng`) is a speck the engine took for one.
/// Khmer signs, also combining marks, are kept.
fn without_accents(s: &str) -> String {
    let accent = |c: &char| ('\u{0300}'..='\u{036F}').contains(c);
    if !s.nfd().any(|c| accent(&c)) {
        return s.to_string();
    }
    s.nfd().filter(|c| !accent(c)).nfc().collect()
}

fn person(s: &str) -> Result<String, ValueError> {
    if s.chars().any(|c| c.is_ascii_digit() || khmer::KHMER_DIGITS.contains(&c)) {
        return err(format!("{s:?} has digits: not a person's name"));
    }
    let mut words: Vec<String> = s
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !matches!(c, '“' | '”' | '„' | '"' | '«' | '»')).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    // `Dr.` before a name of two or more words, read as `Or`, `De.`, `DOr` or `r`: the
    // title is put back rather than left as a word of the name.
    let title: String = words.first().map(|w| w.trim_end_matches('.').to_lowercase()).unwrap_or_default();
    let named = words.len() >= 3 && words[1..].iter().all(|w| w.chars().next().is_some_and(char::is_alphabetic));
    // `Dy` is also a family name; `Dy.` with its point is the title.
    let dotted = words.first().is_some_and(|w| w.ends_with('.'));
    if named
        && title != "dr"
        && (title != "dy" || dotted)
        && title.chars().all(|c| c.is_ascii_alphabetic())
        && (1..=3).contains(&title.len())
        && crate::text::levenshtein(&title, "dr") == 1
    {
        words[0] = "Dr.".into();
    }
    if words.is_empty() {
        return err("empty");
    }
    // A name has letters: three Latin ones (`Ly Da`), or two Khmer syllables. `if` or `ស`
    // is a speck or a misread piece of a label.
    let latin = s.chars().filter(char::is_ascii_alphabetic).count();
    let consonants = s.chars().filter(|c| ('\u{1780}'..='\u{17A2}').contains(c)).count();
    if latin < 3 && consonants < 2 {
        return err(format!("{s:?} is too short for a person's name"));
    }
    Ok(words.join(" "))
}

fn patient_id(s: &str) -> Result<String, ValueError> {
    let id: String = khmer::ascii_digits(s).chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    if !id.chars().any(|c| c.is_ascii_digit()) {
        return err("a patient ID has digits");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/') {
        return err("a patient ID has only letters, digits, - and /");
    }
    Ok(id)
}

fn sex(s: &str) -> Result<String, ValueError> {
    let lower = s.to_lowercase();
    let key: String = lower.chars().filter(|c| c.is_alphanumeric() || khmer::is_khmer(*c)).collect();
    let male = ["m", "male", "man", "ប្រុស", "ប"];
    let female = ["f", "female", "woman", "ស្រី", "ស"];
    if male.contains(&key.as_str()) {
        return Ok("M".into());
    }
    if female.contains(&key.as_str()) {
        return Ok("F".into());
    }
    // A ticked box: "[x] Male [ ] Female" or "☑ ប្រុស ☐ ស្រី".
    let ticked = ["[x]", "[X]", "☑", "☒", "✓", "✔"];
    for t in ticked {
        if let Some(pos) = s.find(t) {
            return sex(s[pos + t.len()..].split_whitespace().next().unwrap_or(""));
        }
    }
    // One OCR slip in the English words ("Femaie", "Mal3") is still the word.
    let near = |w: &str, target: &str| w == target || (w.len() >= 4 && crate::text::levenshtein(w, target) <= 1);
    // A Khmer word with a sign lost (ប្រស for ប្រុស, ស្រ for ស្រី).
    let khmer_near = |target: &str| {
        s.split(|c: char| c.is_whitespace() || c == '/').any(|w| {
            let k = khmer::comparison_key(w);
            !k.is_empty() && k.chars().all(khmer::is_khmer) && k.chars().count() >= 2 && crate::text::similarity(&k, target) >= 0.74
        })
    };
    // Printed in both languages (`ស្រី / F`), one side misread (`G/F`): the side that reads
    // as a sex. Sides that disagree are read on as below (`ប្រុស/ស`, the `M` misread).
    let sides: Vec<&str> = s.split(['/', '|']).map(str::trim).filter(|p| !p.is_empty()).collect();
    if sides.len() == 2 {
        let read: Vec<Option<String>> = sides.iter().map(|p| sex(p).ok()).collect();
        match (&read[0], &read[1]) {
            (Some(a), None) | (None, Some(a)) => return Ok(a.clone()),
            (Some(a), Some(b)) if a == b => return Ok(a.clone()),
            _ => {}
        }
    }
    let has_m = key.contains("ប្រុស") || lower.split_whitespace().any(|w| near(w, "male")) || khmer_near("ប្រុស");
    let has_f = key.contains("ស្រី") || lower.split_whitespace().any(|w| near(w, "female") && !near(w, "male")) || khmer_near("ស្រី");
    match (has_m, has_f) {
        (true, false) => Ok("M".into()),
        (false, true) => Ok("F".into()),
        _ => err(format!("{s:?} is not a sex (M/F, Male/Female, ប្រុស/ស្រី)")),
    }
}

/// A real calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalendarDate {
    /// Year (Gregorian).
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day, 1..=31.
    pub day: u32,
}

impl CalendarDate {
    /// A date when it exists in the Gregorian calendar between 1900 and 2100.
    pub fn new(year: i32, month: u32, day: u32) -> Result<Self, ValueError> {
        if !(1900..=2100).contains(&year) {
            return err(format!("year {year} is out of range"));
        }
        if !(1..=12).contains(&month) {
            return err(format!("month {month} does not exist"));
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
        if day == 0 || day > days {
            return err(format!("day {day} does not exist in {year}-{month:02}"));
        }
        Ok(Self { year, month, day })
    }

    /// Parses a date as written on charts (see [`date`]).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        date(s)
    }

    /// Days since 1970-01-01 (negative before), by Howard Hinnant's civil-days algorithm.
    pub fn days(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (the inverse of [`CalendarDate::days`]), when it is
    /// within the supported years.
    pub fn from_days(days: i64) -> Result<Self, ValueError> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self::new(year, month, day)
    }

    /// This date plus `n` days.
    pub fn add_days(&self, n: i64) -> Result<Self, ValueError> {
        Self::from_days(self.days() + n)
    }

    /// Whole years from `self` to `later` (an age on that day).
    pub fn years_until(&self, later: &CalendarDate) -> i32 {
        later.year - self.year - i32::from((later.month, later.day) < (self.month, self.day))
    }
}

impl std::fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

const KHMER_MONTHS: [&str; 12] = ["មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"];
const ENGLISH_MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn month_from_word(w: &str) -> Option<u32> {
    let lower = w.to_lowercase();
    let lower = lower.trim_matches(|c: char| !c.is_alphanumeric() && !khmer::is_khmer(c));
    if lower.len() >= 3 {
        if let Some(i) = ENGLISH_MONTHS.iter().position(|m| lower.starts_with(m)) {
            return Some(i as u32 + 1);
        }
    }
    let key = khmer::comparison_key(lower);
    if let Some(i) = KHMER_MONTHS.iter().position(|m| key.contains(&khmer::comparison_key(m))) {
        return Some(i as u32 + 1);
    }
    // A Khmer month name with an OCR slip (a lost vowel sign: ធ្ន for ធ្នូ), when one name
    // is clearly the closest.
    if !key.chars().any(khmer::is_khmer) {
        return None;
    }
    let mut scored: Vec<(f32, usize)> = KHMER_MONTHS.iter().enumerate().map(|(i, m)| (crate::text::similarity(&key, &khmer::comparison_key(m)), i)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    (scored[0].0 >= 0.7 && scored[0].0 - scored[1].0 >= 0.2).then(|| scored[0].1 as u32 + 1)
}

fn expand_year(y: i32, digits: usize) -> i32 {
    if digits <= 2 {
        if y <= 40 {
            2000 + y
        } else {
            1900 + y
        }
    } else {
        y
    }
}

/// Parses `DD/MM/YYYY`, `D-M-YY`, `D.M.YYYY`, `YYYY-MM-DD`, `25 Nov 2024`, `Nov 25, 2024`,
/// Khmer digits and month names, and Buddhist-Era years (marked ព.ស. or BE, 543 ahead).
pub fn date(s: &str) -> Result<CalendarDate, ValueError> {
    let ascii = khmer::ascii_digits(s);
    let buddhist =
        ascii.contains("ព.ស") || ascii.contains("ពស") || ascii.to_uppercase().contains("B.E") || ascii.split_whitespace().any(|w| w.eq_ignore_ascii_case("be"));
    let cleaned = ascii.replace("ព.ស.", " ").replace("ព.ស", " ").replace("ថ្ងៃទី", " ").replace("ខែ", " ").replace("ឆ្នាំ", " ");
    // Tokens: runs of digits, runs of letters.
    let mut numbers: Vec<(i32, usize)> = Vec::new();
    let mut month_word: Option<(u32, usize)> = None;
    let mut token = String::new();
    let flush = |token: &mut String, numbers: &mut Vec<(i32, usize)>, month_word: &mut Option<(u32, usize)>| {
        if token.is_empty() {
            return;
        }
        if token.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(n) = token.parse::<i32>() {
                numbers.push((n, token.len()));
            }
        } else if month_word.is_none() {
            if let Some(m) = month_from_word(token) {
                *month_word = Some((m, numbers.len()));
            }
        }
        token.clear();
    };
    let mut last_digit = None;
    for c in cleaned.chars() {
        let is_digit = c.is_ascii_digit();
        let is_word = c.is_alphabetic() || khmer::is_khmer(c);
        if is_digit || is_word {
            if last_digit.is_some_and(|d| d != is_digit) {
                flush(&mut token, &mut numbers, &mut month_word);
            }
            token.push(c);
            last_digit = Some(is_digit);
        } else {
            flush(&mut token, &mut numbers, &mut month_word);
            last_digit = None;
        }
    }
    flush(&mut token, &mut numbers, &mut month_word);

    let (year, month, day) = match (month_word, numbers.as_slice()) {
        (Some((m, _)), [(a, _), (y, yd)]) => (expand_year(*y, *yd), m, *a as u32),
        (None, [(y, 4), (m, _), (d, _)]) if *y > 31 => (*y, *m as u32, *d as u32),
        (None, [(d, _), (m, _), (y, yd)]) => (expand_year(*y, *yd), *m as u32, *d as u32),
        // Eight digits whose separators were lost (`31102022`): the day first, or the year
        // first, whichever alone is a date.
        (None, [(n, 8)]) => {
            let day_first = CalendarDate::new(n % 10_000, (n / 10_000 % 100) as u32, (n / 1_000_000) as u32).ok();
            let year_first = CalendarDate::new(n / 10_000, (n / 100 % 100) as u32, (n % 100) as u32).ok();
            return match (day_first, year_first) {
                (Some(d), None) | (None, Some(d)) => Ok(d),
                _ => err(format!("{s:?} is not a date (expected DD/MM/YYYY)")),
            };
        }
        _ => return err(format!("{s:?} is not a date (expected DD/MM/YYYY)")),
    };
    let year = if buddhist { year - 543 } else { year };
    CalendarDate::new(year, month, day)
}

fn integer(s: &str) -> Result<i64, ValueError> {
    let ascii = khmer::ascii_digits(s.trim_start_matches(['=', '~', '*']));
    let digits: String = ascii.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = ascii.trim()[digits.len()..].trim_matches(|c: char| !c.is_alphanumeric() && !khmer::is_khmer(c)).to_lowercase();
    const UNITS: [&str; 22] =
        ["y", "yr", "yrs", "years", "year", "ឆ្នាំ", "w", "wk", "wks", "weeks", "សប្តាហ៍", "សប្ដាហ៍", "min", "bpm", "cm", "d", "day", "days", "ថ្ងៃ", "ដង", "times", "x"];
    let units_ok = rest.is_empty() || UNITS.contains(&rest.as_str());
    if digits.is_empty() || !units_ok {
        return err(format!("{s:?} is not a whole number"));
    }
    digits.parse::<i64>().map_err(|e| ValueError(e.to_string()))
}

fn decimal(s: &str) -> Result<String, ValueError> {
    // "៧៦ . ៩" and "83,5": spaces around the point go, a comma is a point; a rule's stub
    // read as = or ~ before the number goes.
    let ascii = khmer::ascii_digits(s.trim_start_matches(['=', '~', '*'])).replace(',', ".");
    let ascii = ascii.split('.').map(str::trim).collect::<Vec<_>>().join(".");
    let mut num: String = ascii.trim().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    // A number is not written with a leading 0 before more digits: `088` is 0.88 whose
    // point was lost (plausibility sends such a reading to a reviewer).
    if num.len() >= 2 && num.starts_with('0') && !num.contains('.') {
        num.insert(1, '.');
    }
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            let text = num.trim_end_matches('.').to_string();
            Ok(if text.starts_with('.') { format!("0{text}") } else { text })
        }
        _ => err(format!("{s:?} is not a number")),
    }
}

fn result(s: &str) -> Result<String, ValueError> {
    if s.chars().next().is_some_and(|c| c.is_ascii_digit() || khmer::KHMER_DIGITS.contains(&c) || c == '.') {
        return decimal(s);
    }
    let word: String = s.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    if word.chars().count() >= 3 && word.chars().all(|c| c.is_alphabetic() || khmer::is_khmer(c)) {
        let mut chars = word.chars();
        let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
        Ok(first + &chars.as_str().to_lowercase())
    } else {
        err(format!("{s:?} is not a result (a number, or a word such as Negative)"))
    }
}

fn phone(s: &str) -> Result<String, ValueError> {
    let ascii = khmer::ascii_digits(s);
    let plus = ascii.trim_start().starts_with('+');
    let mut digits: String = ascii.chars().filter(char::is_ascii_digit).collect();
    // OCR slips: "+855" read as "4855"; the leading 0 of a 10-digit number read as 9, 6 or 8.
    if (12..=13).contains(&digits.len()) && digits[1..].starts_with("855") && matches!(&digits[..1], "4" | "1" | "7") {
        digits.remove(0);
    }
    if digits.len() == 10 && matches!(&digits[..1], "9" | "6" | "8") && matches!(&digits[1..2], "1" | "6" | "7" | "8" | "9") {
        digits.replace_range(..1, "0");
    }
    let national = if (plus || digits.len() >= 11) && digits.starts_with("855") {
        format!("0{}", &digits[3..])
    } else if digits.starts_with('0') {
        digits
    } else if digits.len() == 8 || digits.len() == 9 {
        format!("0{digits}")
    } else {
        digits
    };
    let national = national.replacen("00", "0", usize::from(national.starts_with("00")));
    if national.starts_with('0') && (9..=10).contains(&national.len()) {
        Ok(national)
    } else {
        err(format!("{s:?} is not a Cambodian phone number"))
    }
}

fn icd10(s: &str) -> Result<String, ValueError> {
    let compact: String = khmer::ascii_digits(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if matches!(c, '£' | '€') { 'E' } else { c })
        .flat_map(char::to_uppercase)
        .collect();
    // The Khmer full stop ។ is how the eng+khm engine reads a J at the start of a code.
    let compact = match compact.strip_prefix('។') {
        Some(rest) => format!("J{rest}"),
        None => compact,
    };
    // Anything but letters, digits and the point is not part of a code: a code with a dash
    // or a stray mark inside is left for a person rather than repaired.
    if compact.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '.')) {
        return err(format!("{s:?} is not an ICD-10 code (like J06.9)"));
    }
    let mut chars: Vec<char> = compact.chars().collect();
    if chars.is_empty() {
        return err("empty ICD-10 code");
    }
    // OCR confusions: a letter comes first, then two digits.
    chars[0] = match chars[0] {
        '1' => 'I',
        '0' => 'O',
        '5' => 'S',
        '8' => 'B',
        '2' => 'Z',
        other => other,
    };
    for c in chars.iter_mut().skip(1).take(2) {
        *c = match *c {
            'O' | 'Q' | 'D' => '0',
            'I' | 'L' => '1',
            'S' => '5',
            'B' => '8',
            other => other,
        };
    }
    let code: String = chars.iter().filter(|c| **c != '.').collect();
    let valid = code.len() >= 3
        && code.len() <= 7
        && code.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && code.chars().skip(1).take(2).all(|c| c.is_ascii_digit());
    if !valid {
        return err(format!("{s:?} is not an ICD-10 code (like J06.9)"));
    }
    Ok(if code.len() > 3 { format!("{}.{}", &code[..3], &code[3..]) } else { code })
}

fn blood_pressure(s: &str) -> Result<String, ValueError> {
    let ascii = khmer::ascii_digits(s);
    let nums: Vec<u32> = ascii.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect();
    match nums.as_slice() {
        [sys, dia, ..] if (50..=260).contains(sys) && (30..=160).contains(dia) && dia < sys => Ok(format!("{sys}/{dia}")),
        _ => err(format!("{s:?} is not a blood pressure (like 110/70)")),
    }
}

fn outcome(s: &str) -> Result<String, ValueError> {
    let lower = s.to_lowercase().replace('_', " ");
    let table: [(&str, &[&str]); 5] = [
        ("recovered", &["recovered", "cured", "ជាសះស្បើយ"]),
        ("improved", &["improved", "ធូរស្បើយ"]),
        ("referred", &["referred", "transferred", "បញ្ជូន"]),
        ("died", &["died", "dead", "death", "ស្លាប់"]),
        ("left_against_advice", &["left against", "against advice", "lama", "ចាកចេញ"]),
    ];
    if let Some((canon, _)) = table.iter().find(|(_, words)| words.iter().any(|w| lower.contains(w))) {
        return Ok(canon.to_string());
    }
    // A word with a letter lost or misread (`mproved` after a ticked box): the one outcome
    // whose word it is close to.
    let close: Vec<&str> = table
        .iter()
        .filter(|(_, words)| {
            words.iter().filter(|w| w.chars().count() >= 5 && !w.contains(' ')).any(|w| lower.split_whitespace().any(|x| crate::text::similarity(x, w) >= 0.8))
        })
        .map(|(canon, _)| *canon)
        .collect();
    match close.as_slice() {
        [one] => Ok(one.to_string()),
        _ => err(format!("{s:?} is not an outcome")),
    }
}

#[cfg(test)]
mod tests {
    use super::FieldType::*;
    use super::*;

    fn c(t: FieldType, s: &str) -> String {
        t.canonicalize(s).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn a_persons_name_keeps_its_title_puts_back_a_misread_one_and_has_no_digits() {
        assert_eq!(c(Person, "Dr. Sok Vannak"), "Dr. Sok Vannak");
        assert_eq!(c(Person, "Dy. CHHUN Kanha"), "Dr. CHHUN Kanha");
        assert_eq!(c(Person, "Dr. Héng Sophea"), "Dr. Heng Sophea", "no accents in romanised names");
        assert_eq!(c(LatinText, "SÒK Dara"), "SOK Dara");
        assert_eq!(c(Person, "ស៊ិន រចនា"), "ស៊ិន រចនា", "Khmer signs are kept");
        assert_eq!(c(Person, "Dy Sok Heng"), "Dy Sok Heng", "a family name");
        assert!(c(Person, "if").starts_with("ERR"), "a speck");
        assert!(c(Person, "ស").starts_with("ERR"), "one Khmer letter");
        assert_eq!(c(Person, "Ly Da"), "Ly Da");
        assert_eq!(c(Person, "ហ៊ុល សុធា"), "ហ៊ុល សុធា");
        assert_eq!(c(Person, "Or Tep Sothea"), "Dr. Tep Sothea");
        assert_eq!(c(Person, "De. “Touch Rithy"), "Dr. Touch Rithy");
        assert_eq!(c(Person, "r Ros Vanna"), "Dr. Ros Vanna");
        assert_eq!(c(Person, "Or Tep"), "Or Tep", "two words are a name, not a title and a name");
        assert_eq!(c(Person, "Dy Sok Dara"), "Dy Sok Dara", "Dy is a family name");
        assert_eq!(c(Person, "ពៅ វិជ្ជា"), "ពៅ វិជ្ជា");
        assert!(c(Person, "ANC-01").starts_with("ERR"));
        assert!(c(Person, "៦០ ០").starts_with("ERR"));
    }

    #[test]
    fn dates_in_every_written_form() {
        assert_eq!(c(Date, "25/11/2024"), "2024-11-25");
        assert_eq!(c(Date, "31102022"), "2022-10-31", "separators lost");
        assert_eq!(c(Date, "20221031"), "2022-10-31");
        assert!(c(Date, "12345678").starts_with("ERR"));
        assert_eq!(c(Date, "២៥/១១/២០២៤"), "2024-11-25");
        assert_eq!(c(Date, "5-3-85"), "1985-03-05");
        assert_eq!(c(Date, "25 Nov 2024"), "2024-11-25");
        assert_eq!(c(Date, "November 25, 2024"), "2024-11-25");
        assert_eq!(c(Date, "២៥ វិច្ឆិកា ២០២៤"), "2024-11-25");
        assert_eq!(c(Date, "ថ្ងៃទី២៥ ខែវិច្ឆិកា ឆ្នាំ២០២៤"), "2024-11-25");
        assert_eq!(c(Date, "២៥/១១/២៥៦៧ ព.ស."), "2024-11-25");
        assert_eq!(c(Date, "2024-11-25"), "2024-11-25");
        assert_eq!(c(Date, "5 ធ្ន 1953"), "1953-12-05");
        assert!(c(Date, "31/02/2024").starts_with("ERR"));
        assert!(c(Date, "hello").starts_with("ERR"));
    }

    #[test]
    fn calendar_arithmetic() {
        let d = CalendarDate::new(2024, 2, 28).unwrap();
        assert_eq!(d.days(), 19_781);
        assert_eq!(d.add_days(1).unwrap(), CalendarDate::new(2024, 2, 29).unwrap());
        assert_eq!(d.add_days(2).unwrap(), CalendarDate::new(2024, 3, 1).unwrap());
        assert_eq!(CalendarDate::new(1970, 1, 1).unwrap().days(), 0);
        assert_eq!(CalendarDate::new(1969, 12, 31).unwrap().days(), -1);
        // Naegele: LMP 2024-01-10 + 280 days.
        assert_eq!(CalendarDate::new(2024, 1, 10).unwrap().add_days(280).unwrap(), CalendarDate::new(2024, 10, 16).unwrap());
        for n in [-25_000_i64, -1, 0, 59, 60, 10_956, 47_000] {
            assert_eq!(CalendarDate::from_days(n).unwrap().days(), n);
        }
        let born = CalendarDate::new(1990, 11, 26).unwrap();
        assert_eq!(born.years_until(&CalendarDate::new(2024, 11, 25).unwrap()), 33);
        assert_eq!(born.years_until(&CalendarDate::new(2024, 11, 26).unwrap()), 34);
    }

    #[test]
    fn phones() {
        assert_eq!(c(Phone, "+855 12 345 678"), "012345678");
        assert_eq!(c(Phone, "012 345 678"), "012345678");
        assert_eq!(c(Phone, "០១២ ៣៤៥ ៦៧៨"), "012345678");
        assert_eq!(c(Phone, "855-97-123-4567"), "0971234567");
        assert_eq!(c(Phone, "12 345 678"), "012345678");
        assert!(c(Phone, "12").starts_with("ERR"));
        // What OCR makes of "+855 88 756 9910" and "017 582 3106".
        assert_eq!(c(Phone, "4855 88 756 9910"), "0887569910");
        assert_eq!(c(Phone, "917 582 3106"), "0175823106");
    }

    #[test]
    fn sexes() {
        assert_eq!(c(Sex, "ប្រុស"), "M");
        assert_eq!(c(Sex, "ស្រី"), "F");
        assert_eq!(c(Sex, "Female"), "F");
        assert_eq!(c(Sex, "m"), "M");
        assert_eq!(c(Sex, "[x] Male [ ] Female"), "M");
        assert!(c(Sex, "X").starts_with("ERR"));
        assert_eq!(c(Sex, "Femaie"), "F");
        assert_eq!(c(Sex, "☒ Male ☐ Female"), "M");
        assert_eq!(c(Sex, "ប្រស"), "M", "a lost vowel sign");
        assert_eq!(c(Sex, "ស្រី / F"), "F", "printed in both languages");
        assert_eq!(c(Sex, "G/F"), "F", "one side misread");
        assert!(c(Sex, "M / F").starts_with("ERR"), "both options printed, none marked");
        assert_eq!(c(Sex, "ស្រ"), "F");
        assert_eq!(c(Sex, "ស្រី / F"), "F");
    }

    #[test]
    fn other_types() {
        assert_eq!(c(PatientId, " op-00123 "), "OP-00123");
        assert_eq!(c(PatientId, "០០១២៣"), "00123");
        assert_eq!(c(Integer, "៣៤"), "34");
        assert_eq!(c(Integer, "34 yrs"), "34");
        assert_eq!(c(Icd10, "j06.9"), "J06.9");
        assert_eq!(c(Icd10, "។18.9"), "J18.9", "a J read as the Khmer full stop");
        assert_eq!(c(Icd10, "JO69"), "J06.9");
        assert_eq!(c(Icd10, "A09"), "A09");
        assert_eq!(c(Icd10, "110"), "I10");
        assert_eq!(c(Icd10, "£11.9"), "E11.9");
        assert_eq!(c(Icd10, "K25.9)"), "K25.9");
        for bad in ["0០-10", "I6-4", "J0/6"] {
            assert!(Icd10.canonicalize(bad).is_err(), "{bad} is left for a person, not repaired into a code");
        }
        assert_eq!(c(Integer, "20°"), "20");
        assert_eq!(c(Text, "‘Trapeang Thom"), "Trapeang Thom");
        assert_eq!(c(BloodPressure, "110 / 70"), "110/70");
        assert_eq!(c(Decimal, "52,5"), "52.5");
        assert_eq!(c(Decimal, "៧៦ . ៩"), "76.9");
        assert_eq!(c(Decimal, "088"), "0.88", "a point lost after a leading 0");
        assert_eq!(c(Decimal, "0"), "0");
        assert_eq!(c(Text, "* Platelets"), "Platelets", "a bullet or flag before text goes");
        assert_eq!(c(Outcome, "Recovered"), "recovered");
        assert_eq!(c(Outcome, "mproved"), "improved", "a letter lost");
        assert!(c(Outcome, "moved").starts_with("ERR"));
        assert_eq!(c(KhmerText, "  សុខ  ចាន់ "), "សុខ ចាន់");
        assert!(c(KhmerText, "Sok Chan").starts_with("ERR"));
        assert_eq!(c(KhmerText, "(Khmer ញឹក ដាលីន"), "ញឹក ដាលីន", "label residue before a Khmer name goes");
        assert_eq!(c(KhmerText, "fin នារី"), "នារី");
        assert_eq!(c(Province, "ភ្នំពេញ"), "Phnom Penh");
    }
}
