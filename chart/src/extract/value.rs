//! From candidate words to a field's value: cleaning the run of words, choosing the ticked
//! option of a row of check boxes, keeping the longest part that is a valid value of the
//! field's type, and canonicalising it.

use super::labels::ends_like_label;
use super::layout::{is_box, is_separator, join_words, value_box, PageLayout, TICKED};
use super::locate::Candidate;
use crate::field::{FieldValue, Found};
use crate::geometry::BBox;
use crate::normalize::FieldType;
use crate::template::FieldSpec;
use crate::text::{label_key, similarity};
use crate::words::Word;

/// A field's value as read from one candidate place.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    /// The canonical value, when the text is valid.
    pub value: Option<FieldValue>,
    /// The text read.
    pub raw: String,
    /// Why the text is not a valid value.
    pub error: Option<String>,
    /// Where the value is.
    pub bbox: Option<BBox>,
    /// Page number (from 1).
    pub page: u32,
    /// Page index.
    pub page_index: usize,
    /// Mean and lowest engine confidence of its words.
    pub ocr_mean: f32,
    pub ocr_min: f32,
    /// How it was found.
    pub found: Found,
    /// Part of the run of words was left out to make a valid value.
    pub trimmed: bool,
}

/// Whether any text is a value of this type (free text), or the type constrains it.
pub fn is_free_text(kind: FieldType) -> bool {
    matches!(kind, FieldType::Text | FieldType::KhmerText | FieldType::LatinText | FieldType::Person | FieldType::Address)
}

/// Whether values of this type are people's names, whose words the engine may run together.
fn is_name(spec: &FieldSpec) -> bool {
    matches!(spec.kind, FieldType::KhmerText | FieldType::LatinText | FieldType::Person)
}

/// How many words at the start of a value are the rest of the field's own label, which OCR
/// misread too badly to match as a label (`Diagnosis on acm...` after `រោគវិនិច្ឆ័យពេលចូល`).
fn label_residue(words: &[&Word], labels: &[String]) -> usize {
    let mut cut = 0;
    let mut key = String::new();
    for (k, w) in words.iter().take(3).enumerate() {
        key.push_str(&label_key(&w.text));
        let n = key.chars().count();
        if n < 4 {
            continue;
        }
        let matches = labels.iter().any(|l| {
            let prefix: String = l.chars().take(n).collect();
            prefix.chars().count() == n && similarity(&key, &prefix) >= 0.85
        });
        if matches {
            cut = k + 1;
        }
    }
    cut
}

/// How many words at the start of a value finish the field's label (`by.` of `Examined
/// by` when only `Examined` was recognised): the label with them matches one of the field's
/// labels clearly better than without.
fn label_tail(words: &[&Word], label: &str, labels: &[String]) -> usize {
    if label.is_empty() {
        return 0;
    }
    let best = |key: &str| labels.iter().map(|l| similarity(key, l)).fold(0.0, f32::max);
    let alone = best(label);
    let mut key = label.to_string();
    let mut cut = 0;
    for (k, w) in words.iter().take(2).enumerate() {
        key.push_str(&label_key(&w.text));
        let with = best(&key);
        if with >= 0.85 && with > alone + 0.05 {
            cut = k + 1;
        }
    }
    cut
}

/// A decimal the engine read without its point (`372` for 37.2, `36 2` for 36.2): the
/// reading with a point before the last one or two digits that falls within the field's
/// range, when exactly one does.
pub(crate) fn restore_decimal_point(spec: &FieldSpec, raw: &str) -> Option<String> {
    let ascii = crate::khmer::ascii_digits(raw);
    let numbers: Vec<&str> = ascii.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).collect();
    let digits: String = match numbers.as_slice() {
        [one] => one.to_string(),
        [whole, tenth] if tenth.len() == 1 && ascii.trim_start().starts_with(whole) => format!("{whole}{tenth}"),
        _ => return None,
    };
    if digits.len() < 2 {
        return None;
    }
    let places = usize::from(spec.decimals.unwrap_or(2)).max(1);
    let options: Vec<String> = (1..=places.min(digits.len() - 1))
        .map(|k| format!("{}.{}", &digits[..digits.len() - k], &digits[digits.len() - k..]))
        .filter(|v| spec.canonicalize(v).is_ok())
        .collect();
    match options.as_slice() {
        [one] => spec.canonicalize(one).ok(),
        _ => None,
    }
}

/// `36 2` (or `៣៦ ២`) read for 36.2: whole digits, a space and one digit, nothing else; the
/// value with the point, when it is valid for the field.
fn point_read_as_space(spec: &FieldSpec, raw: &str) -> Option<String> {
    let ascii = crate::khmer::ascii_digits(raw);
    let parts: Vec<&str> = ascii.split_whitespace().collect();
    match parts.as_slice() {
        [whole, tenth] if whole.chars().all(|c| c.is_ascii_digit()) && tenth.len() == 1 && tenth.chars().all(|c| c.is_ascii_digit()) => {
            spec.canonicalize(&format!("{whole}.{tenth}")).ok()
        }
        _ => None,
    }
}

/// Splits words into columns at gaps wider than three line heights.
fn columns<'a>(words: &[&'a Word]) -> Vec<Vec<&'a Word>> {
    let mut out: Vec<Vec<&Word>> = Vec::new();
    for &w in words {
        let new_column = match out.last().and_then(|c| c.last()) {
            Some(prev) => w.bbox.x.saturating_sub(prev.bbox.right()) > 3 * prev.bbox.h.max(w.bbox.h).max(1),
            None => true,
        };
        if new_column {
            out.push(Vec::new());
        }
        out.last_mut().expect("a column").push(w);
    }
    out
}

/// Letters and digits of a text, a Khmer letter with its signs counted once.
fn letters(s: &str) -> usize {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || ('\u{1780}'..='\u{17B3}').contains(c) || crate::khmer::KHMER_DIGITS.contains(c)).count()
}

fn ocr_figures(words: &[&Word]) -> (f32, f32) {
    if words.is_empty() {
        return (0.0, 0.0);
    }
    let mean = words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32;
    (mean, words.iter().map(|w| w.confidence).fold(1.0, f32::min))
}

/// Reads a field's value from a candidate place (see the module documentation).
pub(crate) fn read(spec: &FieldSpec, candidate: &Candidate<'_>, page: &PageLayout<'_>, own_labels: &[String]) -> Option<Reading> {
    let mut words: Vec<&Word> = candidate.words.clone();
    // Label residue the engine misread, up to a word that ends like a label.
    if let Some(i) = words.iter().take(3).rposition(|w| ends_like_label(w)) {
        if i + 1 < words.len() {
            words.drain(..=i);
        }
    }
    while words.first().is_some_and(|w| is_separator(w)) {
        words.remove(0);
    }
    if words.iter().any(|w| is_box(w)) {
        return Some(from_boxes(spec, candidate, page, words));
    }
    let valid = |ws: &[&Word]| !ws.is_empty() && spec.canonicalize(&join_words(ws, is_name(spec))).is_ok();
    let mut cols = columns(&words);
    let mut trimmed = false;
    words = match cols.len() {
        0 => Vec::new(),
        1 => cols.swap_remove(0),
        _ if !valid(&cols[0]) && cols[0].len() <= 2 && valid(&cols[1]) => {
            trimmed = true;
            cols.swap_remove(1)
        }
        _ => {
            trimmed = true;
            cols.swap_remove(0)
        }
    };
    // A trailing one- or two-letter word the engine doubts is a speck, not text.
    while words.len() > 1 && words.last().is_some_and(|w| (w.confidence < 0.5 && w.text.chars().count() <= 2) || is_separator(w)) {
        words.pop();
    }
    let residue = label_residue(&words, own_labels).max(label_tail(&words, &candidate.label, own_labels));
    if residue > 0 && residue < words.len() {
        words.drain(..residue);
    }
    if words.is_empty() {
        return None;
    }
    // A typed value is the longest run from the start that is valid (`3` of `3 ចំនួនដង`),
    // past at most two words of an unread qualifier (`temp) 38.1°C`).
    if !is_free_text(spec.kind) && !valid(&words) {
        let found = (0..words.len().min(3)).find_map(|skip| (skip + 1..=words.len()).rev().find(|&n| valid(&words[skip..n])).map(|n| (skip, n)));
        if let Some((skip, n)) = found {
            words = words[skip..n].to_vec();
            trimmed = true;
        }
    }
    let raw = join_words(&words, is_name(spec));
    let (ocr_mean, ocr_min) = ocr_figures(&words);
    let (mut value, mut error) = match spec.canonicalize(&raw) {
        Ok(v) => (Some(FieldValue::Text(v)), None),
        Err(e) => (None, Some(e.0)),
    };
    if spec.kind == FieldType::Text && letters(&raw) < 2 && !raw.chars().any(char::is_numeric) {
        // One letter (`រ`) beside a label is a speck or a stub of the form's ruling, not
        // the field's text (which may be on the line below). One digit may be (village ៥).
        (value, error) = (None, Some(format!("{raw:?} is too short for a text")));
    }
    if spec.kind == FieldType::Decimal && spec.decimals != Some(0) {
        // `36 2`: a whole number and one digit apart is a decimal whose point was read as a
        // space, not 36 with a stray 2 (which the number's parse would keep silently).
        if let Some(v) = point_read_as_space(spec, &raw) {
            error = Some(format!("read {raw:?}: the space is taken for a decimal point ({v})"));
            value = Some(FieldValue::Text(v));
        }
    }
    if value.is_none() && spec.kind == FieldType::Decimal {
        if let Some(v) = restore_decimal_point(spec, &raw) {
            error = Some(format!("read {raw:?}: a decimal point was put back ({v})"));
            value = Some(FieldValue::Text(v));
        }
    }
    Some(Reading {
        value,
        raw,
        error,
        bbox: Some(value_box(&words, page.line_height)),
        page: page.words.page,
        page_index: candidate.page,
        ocr_mean,
        ocr_min,
        found: candidate.found,
        trimmed,
    })
}

/// A row of check boxes: the option after the single ticked box; when its text cannot be
/// read, the template's option in the ticked box's position.
fn from_boxes<'a>(spec: &FieldSpec, candidate: &Candidate<'a>, page: &PageLayout<'a>, mut words: Vec<&'a Word>) -> Reading {
    // The row may wrap onto the next lines.
    if let Some(first_box) = words.iter().find(|w| is_box(w)).map(|w| w.bbox) {
        for (li, next) in page.lines.iter().enumerate().skip(candidate.line + 1).take(2) {
            // The row itself, when it was read below its label.
            if next.words.iter().any(|w| words.iter().any(|x| std::ptr::eq(*x, *w))) {
                continue;
            }
            let labelled = page.phrases.iter().any(|p| p.parts.iter().any(|&(l, _, _)| l == li));
            let more: Vec<&Word> = next.words.iter().copied().filter(|w| w.bbox.right() > first_box.x.saturating_sub(first_box.w)).collect();
            let close = next.bbox.y < words.iter().map(|w| w.bbox.bottom()).max().unwrap_or(0) + 2 * first_box.h;
            if labelled || !close || !more.first().is_some_and(|w| is_box(w)) {
                break;
            }
            words.extend(more);
        }
    }
    let all_box = words.iter().skip(1).fold(words[0].bbox, |b, w| b.union(&w.bbox));
    let ticked: Vec<usize> = words.iter().enumerate().filter(|(_, w)| w.text == TICKED).map(|(i, _)| i).collect();
    let mut reading = Reading {
        value: None,
        raw: join_words(&words, false),
        error: None,
        bbox: Some(all_box),
        page: page.words.page,
        page_index: candidate.page,
        ocr_mean: 0.0,
        ocr_min: 0.0,
        found: Found::TickedBox,
        trimmed: false,
    };
    let i = match ticked.as_slice() {
        [one] => *one,
        [] => {
            reading.error = Some("no box is ticked".into());
            return reading;
        }
        _ => {
            reading.error = Some("more than one box is ticked".into());
            return reading;
        }
    };
    let ordinal = words[..i].iter().filter(|w| is_box(w)).count();
    let count = words.iter().filter(|w| is_box(w)).count();
    let box_confidence = words[i].confidence;
    let option: Vec<&Word> = words[i + 1..].iter().copied().take_while(|w| !is_box(w)).collect();
    let option_text = join_words(&option, false);
    let (mean, min) = ocr_figures(&option);
    reading.ocr_mean = mean.min(box_confidence);
    reading.ocr_min = min.min(box_confidence);
    reading.raw = option_text.clone();
    match spec.canonicalize(&option_text) {
        Ok(v) => {
            reading.value = Some(FieldValue::Text(v));
            reading.bbox = Some(option.iter().fold(words[i].bbox, |b, w| b.union(&w.bbox)));
        }
        Err(e) if spec.options.len() == count => {
            // The option's text unreadable: the template's options, in printed order, name it.
            reading.value = Some(FieldValue::Text(spec.options[ordinal].clone()));
            reading.found = Found::BoxPosition;
            reading.ocr_mean = box_confidence;
            reading.ocr_min = box_confidence;
            reading.bbox = Some(words[i].bbox);
            // Known only from the box's place: a reviewer confirms it.
            reading.error = Some(format!("the ticked option could not be read ({}): taken from the box's place", e.0));
        }
        Err(e) => reading.error = Some(e.0),
    }
    reading
}
