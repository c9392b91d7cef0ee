//! Extraction: OCR words of a chart's pages plus a template in, fields out.
//!
//! For each line of each page, spans of consecutive words are compared (fuzzily, after
//! [`text::label_key`]) with every label of every field. Overlapping matches are resolved in
//! favour of longer, closer labels, so `Latin name` wins over `Name` inside it. A field's value
//! is the words to the right of its label, up to the next label on the line; when nothing is
//! there, the next line below when it holds no label. Values are canonicalised by the field's
//! type; confidence combines the engine's word confidences with how well the label matched.
//! Extraction never fails: a field that cannot be read is missing, with an issue.

use crate::detect::detect_form;
use crate::field::ExtractedField;
use crate::geometry::BBox;
use crate::khmer;
use crate::template::Template;
use crate::text::{label_key, similarity};
use crate::words::{Line, PageWords, Word};
use std::collections::BTreeMap;

/// What extraction found on one chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// The form it decided on, or `unknown`.
    pub form: String,
    /// Every field of the template (found or missing), by name.
    pub fields: BTreeMap<String, ExtractedField>,
}

impl Extraction {
    /// The chart's confidence for ordering the review queue: the mean of its fields'
    /// confidences, a missing field counting as 0. (The least confident field would put
    /// every chart with one missing optional field at 0 and tell them apart no more.)
    pub fn confidence(&self) -> f32 {
        if self.fields.is_empty() {
            return 0.0;
        }
        self.fields.values().map(|f| f.confidence).sum::<f32>() / self.fields.len() as f32
    }
}

/// Chooses the template (see [`detect_form`]) and extracts with it; unknown forms get a
/// generic `label: value` extraction, all fields needing review.
pub fn extract(templates: &[Template], pages: &[PageWords]) -> Extraction {
    let guess = detect_form(templates, pages);
    match guess.form.as_deref().and_then(|f| templates.iter().find(|t| t.form == f)) {
        Some(template) => extract_with(template, pages),
        None => extract_generic(pages),
    }
}

/// Where a second reading could help on one page: the value boxes of fields whose value is
/// not valid or below the auto-accept threshold, widened a little, when the page alone is a
/// known form. Free text fields are left out (any reading of them is "valid").
pub fn doubtful_zones(templates: &[Template], page: &PageWords) -> Vec<BBox> {
    let extraction = extract(templates, std::slice::from_ref(page));
    let Some(template) = templates.iter().find(|t| t.form == extraction.form) else { return Vec::new() };
    let mut zones = Vec::new();
    for spec in &template.fields {
        let Some(f) = extraction.fields.get(&spec.name) else { continue };
        let free_text = matches!(spec.kind, crate::FieldType::Text | crate::FieldType::LatinText);
        let Some(b) = f.bbox else { continue };
        if free_text || f.raw.is_empty() || f.raw.contains(TICKED) || !spec.options.is_empty() || (f.value.is_some() && f.confidence >= template.auto_accept) {
            continue;
        }
        let pad = b.h / 3 + 2;
        let (x, y) = (b.x.saturating_sub(pad), b.y.saturating_sub(pad));
        zones.push(BBox::new(x, y, (b.right() + pad).min(page.width.max(b.right())) - x, (b.bottom() + pad).min(page.height.max(b.bottom())) - y));
    }
    zones
}

/// A label found on a line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabelHit {
    pub field: usize,
    pub page_index: usize,
    pub line: usize,
    pub start: usize,
    pub end: usize,
    pub similarity: f32,
    pub weight: f32,
}

fn threshold_for(key_len: usize) -> f32 {
    match key_len {
        0..=3 => 0.99,
        4..=6 => 0.79,
        _ => 0.74,
    }
}

/// All non-overlapping label matches on the lines, best first resolved.
pub(crate) fn find_label_hits(lines: &[Vec<Line<'_>>], labels: &[(usize, String)]) -> Vec<LabelHit> {
    let mut hits = Vec::new();
    for (page_index, page_lines) in lines.iter().enumerate() {
        for (li, line) in page_lines.iter().enumerate() {
            let keys: Vec<String> = line.words.iter().map(|w| label_key(&w.text)).collect();
            for start in 0..keys.len() {
                if keys[start].is_empty() {
                    continue;
                }
                let mut span = String::new();
                for end in start + 1..=(start + 6).min(keys.len()) {
                    span.push_str(&keys[end - 1]);
                    let span_len = span.chars().count();
                    for (field, key) in labels {
                        let key_len = key.chars().count();
                        if key_len == 0 || span_len > key_len * 3 / 2 + 2 || span_len * 2 + 2 < key_len {
                            continue;
                        }
                        let sim = similarity(&span, key);
                        if sim >= threshold_for(key_len) {
                            // Exact matches weigh far more than near ones, so that a value
                            // word glued to a label ("Chey Province" ~ "City/Province") loses
                            // to the exact shorter label.
                            hits.push(LabelHit { field: *field, page_index, line: li, start, end, similarity: sim, weight: sim.powi(4) * key_len as f32 });
                        }
                    }
                }
            }
        }
    }
    hits.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.start.cmp(&b.start)));
    let mut accepted: Vec<LabelHit> = Vec::new();
    for h in hits {
        let overlaps = accepted.iter().any(|a| a.page_index == h.page_index && a.line == h.line && a.start < h.end && h.start < a.end);
        if !overlaps {
            accepted.push(h);
        }
    }
    // A near match right after another field's label is that label's value ("District:
    // Sangkae" is not the label "Sangkat"), when the first label ends in a colon or nothing
    // follows the near match on its line.
    let all = accepted.clone();
    accepted.retain(|h| {
        // A grid's header row holds label after label.
        let mut others: Vec<usize> = all.iter().filter(|a| a.page_index == h.page_index && a.line == h.line && a.field != h.field).map(|a| a.field).collect();
        others.sort_unstable();
        others.dedup();
        let on_line = others.len();
        if h.similarity >= 0.95 || on_line >= 3 {
            return true;
        }
        let words = &lines[h.page_index][h.line].words;
        !all.iter().any(|a| {
            a.page_index == h.page_index
                && a.line == h.line
                && a.field != h.field
                && a.end <= h.start
                && words[a.end..h.start].iter().all(|w| is_separator(w))
                && (ends_like_label(words[a.end - 1]) || h.end == words.len())
        })
    });
    accepted
}

/// Joins words as printed: Latin words with spaces, Khmer fragments the engine split inside
/// one printed word without.
fn join_words(words: &[&Word]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let prev = words[i - 1];
            let gap = w.bbox.x.saturating_sub(prev.bbox.right());
            let height = w.bbox.h.max(prev.bbox.h).max(1);
            let both_khmer = khmer::is_mostly_khmer(&prev.text) && khmer::is_mostly_khmer(&w.text);
            if !both_khmer || gap as f32 > 0.25 * height as f32 {
                out.push(' ');
            }
        }
        out.push_str(&w.text);
    }
    khmer::clean(&out)
}

/// The words check boxes become (see [`PageWords::add_check_boxes`]).
const TICKED: &str = "☒";
const EMPTY: &str = "☐";

fn is_box(w: &Word) -> bool {
    w.text == TICKED || w.text == EMPTY
}

fn is_separator(w: &Word) -> bool {
    !is_box(w) && label_key(&w.text).is_empty()
}

/// Whether a word ends like a printed label (`Name:`; Khmer `ៈ` reads like a colon).
fn ends_like_label(w: &Word) -> bool {
    let t = w.text.trim_end_matches(|c: char| c == '|' || c.is_whitespace());
    // ៈ ends the month name កុម្ភៈ (February) too.
    if t.contains("កុម្ភ") {
        return false;
    }
    t.ends_with(':') || t.ends_with('ៈ') || t.ends_with('：')
}

/// The value's words among those after a label: separators dropped, label residue the
/// engine misread (anything up to a word ending in `:` among the first three) dropped, and
/// cut at the first gap wide enough to be the next column. When the words before that gap
/// are not a valid value and the next column's are (a misread part of a table's label cell,
/// then the value cell), the next column is the value.
fn trim_value<'a>(words: &[&'a Word], valid: &dyn Fn(&[&Word]) -> bool) -> Vec<&'a Word> {
    let mut start = 0;
    if let Some(i) = words.iter().take(3).rposition(|w| ends_like_label(w)) {
        start = i + 1;
    }
    let rest: Vec<&Word> = words[start..].iter().copied().skip_while(|w| is_separator(w)).collect();
    let mut columns: Vec<Vec<&Word>> = Vec::new();
    for w in rest {
        let new_column = match columns.last().and_then(|c| c.last()) {
            Some(prev) => w.bbox.x.saturating_sub(prev.bbox.right()) > 3 * prev.bbox.h.max(w.bbox.h).max(1),
            None => true,
        };
        if new_column {
            columns.push(Vec::new());
        }
        columns.last_mut().expect("a column").push(w);
    }
    let mut out = match columns.len() {
        0 => Vec::new(),
        1 => columns.swap_remove(0),
        _ if !valid(&columns[0]) && columns[0].len() <= 2 && valid(&columns[1]) => columns.swap_remove(1),
        _ => columns.swap_remove(0),
    };
    // A trailing one- or two-letter word the engine doubts is a speck, not text.
    while out.len() > 1 && out.last().is_some_and(|w| w.confidence < 0.5 && w.text.chars().count() <= 2) {
        out.pop();
    }
    out
}

/// Where a value is: the union of its words, leaving out words the engine boxed far taller
/// than a line of text (handwriting and specks can give boxes hundreds of pixels tall),
/// or, when all are, a box of two label heights around their middle.
fn value_box(words: &[&Word], label_height: u32) -> BBox {
    let limit = 2 * label_height.max(10) + label_height / 5;
    let normal: Vec<&&Word> = words.iter().filter(|w| w.bbox.h <= limit).collect();
    let union = |ws: &mut dyn Iterator<Item = BBox>| ws.reduce(|a, b| a.union(&b));
    if let Some(b) = union(&mut normal.iter().map(|w| w.bbox)) {
        return b;
    }
    let all = union(&mut words.iter().map(|w| w.bbox)).unwrap_or_default();
    let middle = all.y + all.h / 2;
    BBox::new(all.x, middle.saturating_sub(label_height), all.w, 2 * label_height.max(1))
}

/// Labels OCR could not read (`ភេទ:` read as `as:`): a word shaped like a label (ending in a
/// colon, not part of any found label) that sits, in reading order, between the labels of
/// the fields before and after a missing field in the template. When such words and the
/// missing fields between two found labels are as many, they are paired in order. The
/// pairing is a guess: similarity 0, so the field always goes to a reviewer.
fn infer_unread_labels(field_count: usize, lines: &[Vec<Line<'_>>], hits: &[LabelHit]) -> Vec<LabelHit> {
    let position = |h: &LabelHit| (h.page_index, h.line, h.start);
    let first_hit = |field: usize| hits.iter().filter(|h| h.field == field).map(position).min();
    let found: Vec<Option<(usize, usize, usize)>> = (0..field_count).map(first_hit).collect();
    // Label-shaped words outside every hit, in reading order.
    let mut slots = Vec::new();
    for (p, page_lines) in lines.iter().enumerate() {
        for (l, line) in page_lines.iter().enumerate() {
            for (i, w) in line.words.iter().enumerate() {
                let in_hit = hits.iter().any(|h| h.page_index == p && h.line == l && h.start <= i && i < h.end);
                if !in_hit && ends_like_label(w) && !label_key(&w.text).is_empty() {
                    slots.push((p, l, i));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut f = 0;
    while f < field_count {
        if found[f].is_some() {
            f += 1;
            continue;
        }
        let run_start = f;
        while f < field_count && found[f].is_none() {
            f += 1;
        }
        let before = found[..run_start].iter().rev().flatten().next().copied();
        let after = found[f..].iter().flatten().next().copied();
        let (Some(before), Some(after)) = (before, after) else { continue };
        let between: Vec<&(usize, usize, usize)> = slots.iter().filter(|s| **s > before && **s < after).collect();
        if between.len() == f - run_start {
            for (field, &&(page_index, line, start)) in (run_start..f).zip(&between) {
                out.push(LabelHit { field, page_index, line, start, end: start + 1, similarity: 0.0, weight: 0.0 });
            }
        }
    }
    out
}

/// A field whose label was not found, read from the template's zone: the words whose
/// centre lies in the zone (fractions of the page) on the first page that has any.
fn from_zone(spec: &crate::template::FieldSpec, [x, y, w, h]: [f32; 4], pages: &[PageWords]) -> Option<ExtractedField> {
    for page in pages {
        let (pw, ph) = (page.width as f32, page.height as f32);
        let zone = BBox::new((x * pw) as u32, (y * ph) as u32, (w * pw) as u32, (h * ph) as u32);
        let mut words: Vec<&Word> = page.words.iter().filter(|wd| wd.bbox.center_within(&zone) && !is_separator(wd)).collect();
        if words.is_empty() {
            continue;
        }
        words.sort_by_key(|wd| (wd.line, wd.bbox.x));
        let raw = join_words(&words);
        let bbox = words.iter().skip(1).fold(words[0].bbox, |b, wd| b.union(&wd.bbox));
        // No label vouches for the place: half the engine's confidence.
        let mut confidence = 0.5 * words.iter().map(|wd| wd.confidence).sum::<f32>() / words.len() as f32;
        let (value, issue) = match spec.canonicalize(&raw) {
            Ok(v) => (Some(v), Some("read from the template's zone (no label found)".to_string())),
            Err(e) => {
                confidence *= 0.5;
                (None, Some(e.0))
            }
        };
        return Some(ExtractedField { value, raw, confidence, needs_review: true, page: page.page, bbox: Some(bbox), issue });
    }
    None
}

/// How many words at the start of a value are the rest of the field's own label, which OCR
/// misread too badly to match as a label (`Diagnosis on acm...` after `រោគវិនិច្ឆ័យពេលចូល`).
fn label_residue(words: &[&Word], labels: &[String]) -> usize {
    let mut cut = 0;
    let mut key = String::new();
    for (k, w) in words.iter().take(4).enumerate() {
        key.push_str(&label_key(&w.text));
        let n = key.chars().count();
        if n < 3 {
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

/// Extracts every field of `template` from the pages.
pub fn extract_with(template: &Template, pages: &[PageWords]) -> Extraction {
    let lines: Vec<Vec<Line<'_>>> = pages.iter().map(PageWords::lines).collect();
    let labels: Vec<(usize, String)> = template
        .fields
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.labels.iter().map(move |l| (i, label_key(l))))
        .collect();
    let title_lines: Vec<Vec<bool>> = lines.iter().map(|page| page.iter().map(|l| crate::detect::is_title_line(l, &template.titles)).collect()).collect();
    let mut hits: Vec<LabelHit> = find_label_hits(&lines, &labels).into_iter().filter(|h| !title_lines[h.page_index][h.line]).collect();
    let inferred = infer_unread_labels(template.fields.len(), &lines, &hits);
    hits.extend(inferred);

    let own_labels: Vec<Vec<String>> = template.fields.iter().map(|f| f.labels.iter().map(|l| label_key(l)).collect()).collect();
    let mut fields = BTreeMap::new();
    for (fi, spec) in template.fields.iter().enumerate() {
        // Group this field's hits by line; the best group anchors the value.
        let mut groups: BTreeMap<(usize, usize), Vec<&LabelHit>> = BTreeMap::new();
        for h in hits.iter().filter(|h| h.field == fi) {
            groups.entry((h.page_index, h.line)).or_default().push(h);
        }
        let best = groups.into_iter().max_by(|a, b| {
            let wa: f32 = a.1.iter().map(|h| h.weight).sum();
            let wb: f32 = b.1.iter().map(|h| h.weight).sum();
            wa.total_cmp(&wb)
        });
        let Some(((page_index, line_index), group)) = best else {
            let field = match spec.zone.and_then(|zone| from_zone(spec, zone, pages)) {
                Some(f) => f,
                None => ExtractedField::missing(if spec.required { "required field not found" } else { "not found" }),
            };
            fields.insert(spec.name.clone(), field);
            continue;
        };
        let label_similarity = group.iter().map(|h| h.similarity).fold(0.0, f32::max);
        let label_end = group.iter().map(|h| h.end).max().unwrap_or(0);
        let label_start = group.iter().map(|h| h.start).min().unwrap_or(0);
        let page_lines = &lines[page_index];
        let line = &page_lines[line_index];
        let next_hit = hits
            .iter()
            .filter(|h| h.page_index == page_index && h.line == line_index && h.field != fi && h.start >= label_end)
            .map(|h| h.start)
            .min()
            .unwrap_or(line.words.len());
        let valid = |words: &[&Word]| !words.is_empty() && spec.canonicalize(&join_words(words)).is_ok();
        let mut value_words: Vec<&Word> = trim_value(&line.words[label_end..next_hit], &valid);
        let mut value_line = line_index;
        if value_words.is_empty() {
            value_line = line_index + 1;
            // Value below the label: the next line, when it carries no label of its own. In a
            // grid (other labels beside this one) only the words under this label's column.
            let label_box = line.words[label_start].bbox;
            let column_end = (next_hit < line.words.len()).then(|| line.words[next_hit].bbox.x);
            let column_start = hits
                .iter()
                .filter(|h| h.page_index == page_index && h.line == line_index && h.field != fi && h.end <= label_start)
                .map(|h| line.words[h.end - 1].bbox.right())
                .max();
            if let Some(below) = page_lines.get(line_index + 1) {
                let close = below.bbox.y < line.bbox.bottom() + 3 * line.bbox.h.max(1);
                let free = !hits.iter().any(|h| h.page_index == page_index && h.line == line_index + 1);
                if close && free {
                    let slack = label_box.h;
                    let candidates: Vec<&Word> = below
                        .words
                        .iter()
                        .copied()
                        .filter(|w| w.bbox.right() > label_box.x)
                        .filter(|w| column_end.is_none_or(|end| w.bbox.x + w.bbox.w / 2 < end.saturating_sub(slack / 2)))
                        .filter(|w| column_start.is_none_or(|start| w.bbox.x > start))
                        .collect();
                    value_words = trim_value(&candidates, &valid);
                }
            }
        }
        // A row of check boxes may wrap onto the next lines.
        if let Some(first_box) = value_words.iter().find(|w| is_box(w)).map(|w| w.bbox) {
            for next in page_lines.iter().skip(value_line + 1).take(2) {
                let labelled = hits.iter().any(|h| h.page_index == page_index && std::ptr::eq(&page_lines[h.line], next));
                let words: Vec<&Word> = next.words.iter().copied().filter(|w| w.bbox.right() > first_box.x.saturating_sub(first_box.w)).collect();
                let close = next.bbox.y < value_words.iter().map(|w| w.bbox.bottom()).max().unwrap_or(0) + 2 * first_box.h;
                if labelled || !close || !words.first().is_some_and(|w| is_box(w)) {
                    break;
                }
                value_words.extend(words);
            }
        }
        // Check boxes among the value: the option after the ticked box is the value.
        let mut box_confidence = None;
        let mut ticked_box = None;
        if value_words.iter().any(|w| is_box(w)) {
            let ticked: Vec<usize> = value_words.iter().enumerate().filter(|(_, w)| w.text == TICKED).map(|(i, _)| i).collect();
            let page = pages[page_index].page;
            let boxes_bbox = value_words.iter().skip(1).fold(value_words[0].bbox, |b, w| b.union(&w.bbox));
            let (why, pick) = match ticked.as_slice() {
                [] => ("no box is ticked", None),
                [one] => ("", Some(*one)),
                _ => ("more than one box is ticked", None),
            };
            let Some(i) = pick else {
                let mut f = ExtractedField::missing(why);
                f.page = page;
                f.bbox = Some(boxes_bbox);
                f.raw = join_words(&value_words);
                fields.insert(spec.name.clone(), f);
                continue;
            };
            let ordinal = value_words[..i].iter().filter(|w| is_box(w)).count();
            let count = value_words.iter().filter(|w| is_box(w)).count();
            box_confidence = Some(value_words[i].confidence);
            ticked_box = Some((ordinal, count, value_words[i].bbox));
            value_words = value_words[i + 1..].iter().copied().take_while(|w| !is_box(w)).collect();
        }
        // The option text unreadable: the template's options, in printed order, name it.
        let by_position = ticked_box.and_then(|(ordinal, count, bbox)| (spec.options.len() == count).then(|| (spec.options[ordinal].clone(), bbox)));
        if let Some((option, bbox)) = &by_position {
            if value_words.is_empty() || spec.canonicalize(&join_words(&value_words)).is_err() {
                let confidence = box_confidence.unwrap_or(0.0) * 0.85 * (0.5 + 0.5 * label_similarity);
                let raw = join_words(&value_words);
                let page = pages[page_index].page;
                fields.insert(spec.name.clone(), ExtractedField { value: Some(option.clone()), raw, confidence, needs_review: true, page, bbox: Some(*bbox), issue: None });
                continue;
            }
        }
        while value_words.last().is_some_and(|w| is_separator(w)) {
            value_words.pop();
        }
        let page = pages[page_index].page;
        if value_words.is_empty() {
            let mut f = ExtractedField::missing("label found but no value next to it");
            f.page = page;
            f.bbox = Some(line.words[label_start].bbox);
            fields.insert(spec.name.clone(), f);
            continue;
        }
        let residue = label_residue(&value_words, &own_labels[fi]);
        if residue > 0 && residue < value_words.len() {
            value_words.drain(..residue);
        }
        let raw = join_words(&value_words);
        let bbox = value_box(&value_words, line.words[label_start].bbox.h);
        let mut ocr_conf = value_words.iter().map(|w| w.confidence).sum::<f32>() / value_words.len() as f32;
        if let Some(c) = box_confidence {
            ocr_conf = ocr_conf.min(c);
        }
        let mut confidence = (ocr_conf * (0.5 + 0.5 * label_similarity)).clamp(0.0, 1.0);
        let (mut value, mut issue) = match spec.canonicalize(&raw) {
            Ok(v) => (Some(v), None),
            Err(e) => {
                confidence *= 0.5;
                (None, Some(e.0))
            }
        };
        // Second readings of this place by other engines.
        let mut raw = raw;
        let seconds: Vec<(String, &crate::words::Reread)> = pages[page_index]
            .rereads
            .iter()
            .filter(|r| r.bbox.intersection_area(&bbox) * 2 >= bbox.w * bbox.h)
            .filter_map(|r| spec.canonicalize(&r.text).ok().map(|v| (v, r)))
            .collect();
        match &value {
            Some(v) if seconds.iter().any(|(s, _)| s == v) => confidence = 1.0 - (1.0 - confidence) * 0.7,
            Some(_) => {}
            None => {
                if let Some((v, r)) = seconds.iter().max_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence)) {
                    confidence = r.confidence * (0.5 + 0.5 * label_similarity) * 0.9;
                    issue = Some(format!("read again by the {} engine: the first reading {raw:?} was not valid", r.languages));
                    raw = r.text.clone();
                    value = Some(v.clone());
                }
            }
        }
        fields.insert(spec.name.clone(), ExtractedField { value, raw, confidence, needs_review: true, page, bbox: Some(bbox), issue });
    }
    crate::validate::cross_check(&mut fields);
    for f in fields.values_mut() {
        f.needs_review = f.value.is_none() || f.issue.is_some() || f.confidence < template.auto_accept;
        if f.needs_review && f.issue.is_none() {
            f.issue = Some(format!("low confidence {:.0}%", f.confidence * 100.0));
        }
    }
    Extraction { form: template.form.clone(), fields }
}

/// Extraction for a form no template matched: every `label: value` pair on the pages,
/// named after its label, all needing review.
pub fn extract_generic(pages: &[PageWords]) -> Extraction {
    let mut fields = BTreeMap::new();
    for page in pages {
        for line in page.lines() {
            let colon_at: Vec<usize> = line.words.iter().enumerate().filter(|(_, w)| w.text.ends_with(':')).map(|(i, _)| i).collect();
            for (k, &ci) in colon_at.iter().enumerate() {
                let label_start = if k == 0 { 0 } else { colon_at[k - 1] + 1 };
                let value_end = colon_at.get(k + 1).map_or(line.words.len(), |next| {
                    // The next label starts after the value's last word; assume one-word labels.
                    (*next).max(ci + 1)
                });
                let label: String = line.words[label_start..=ci].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
                let name: String = label_key(&label).chars().filter(char::is_ascii_alphanumeric).collect();
                let value_words: Vec<&Word> = line.words[ci + 1..value_end].to_vec();
                if name.is_empty() || value_words.is_empty() || fields.contains_key(&name) {
                    continue;
                }
                let raw = join_words(&value_words);
                let bbox = value_words.iter().skip(1).fold(value_words[0].bbox, |b, w| b.union(&w.bbox));
                let confidence = value_words.iter().map(|w| w.confidence).sum::<f32>() / value_words.len() as f32;
                fields.insert(
                    name,
                    ExtractedField { value: Some(raw.clone()), raw, confidence, needs_review: true, page: page.page, bbox: Some(bbox), issue: Some("unknown form".into()) },
                );
            }
        }
    }
    Extraction { form: "unknown".into(), fields }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::standard_templates;

    /// Lays out lines of words as an engine would report them.
    pub(crate) fn page(lines: &[&str]) -> PageWords {
        let mut words = Vec::new();
        for (li, line) in lines.iter().enumerate() {
            let mut x = 100;
            for t in line.split(' ').filter(|t| !t.is_empty()) {
                let w = 20 * t.chars().count() as u32;
                words.push(Word { text: t.to_string(), bbox: BBox::new(x, 100 + 60 * li as u32, w, 40), confidence: 0.96, line: li as u32, block: 0 });
                x += w + 20;
            }
        }
        a4(words)
    }

    fn value(e: &Extraction, name: &str) -> Option<String> {
        e.fields[name].value.clone()
    }

    #[test]
    fn bilingual_card_is_extracted() {
        let p = page(&[
            "ប័ណ្ណពិគ្រោះជំងឺក្រៅ / OUTPATIENT CONSULTATION CARD",
            "លេខសម្គាល់ / Patient ID: 004512",
            "ឈ្មោះ / Name: សុខ ចាន់ធី",
            "អក្សរឡាតាំង / Latin name: SOK Chanthy",
            "ភេទ / Sex: ស្រី អាយុ / Age: ៣៤",
            "ថ្ងៃខែឆ្នាំកំណើត / Date of birth: 12 Mar 1990",
            "កាលបរិច្ឆេទពិនិត្យ / Visit date: ២៥/១១/២០២៤",
            "ទូរស័ព្ទ / Phone: +855 12 345 678",
            "ខេត្ត / Province: សៀមរាប",
            "ICD-10: J06.9",
        ]);
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(e.form, "opd");
        assert_eq!(value(&e, "patient_id").as_deref(), Some("004512"));
        assert_eq!(value(&e, "name_khmer").as_deref(), Some("សុខ ចាន់ធី"));
        assert_eq!(value(&e, "name_latin").as_deref(), Some("SOK Chanthy"));
        assert_eq!(value(&e, "sex").as_deref(), Some("F"));
        assert_eq!(value(&e, "age").as_deref(), Some("34"));
        assert_eq!(value(&e, "date_of_birth").as_deref(), Some("1990-03-12"));
        assert_eq!(value(&e, "visit_date").as_deref(), Some("2024-11-25"));
        assert_eq!(value(&e, "phone").as_deref(), Some("012345678"));
        assert_eq!(value(&e, "province").as_deref(), Some("Siem Reap"));
        assert_eq!(value(&e, "diagnosis_icd10").as_deref(), Some("J06.9"));
        assert!(!e.fields["phone"].needs_review);
        assert!(e.fields["doctor"].needs_review, "missing fields need review");
        let mean = e.fields.values().map(|f| f.confidence).sum::<f32>() / e.fields.len() as f32;
        assert!((e.confidence() - mean).abs() < 1e-6 && e.confidence() > 0.3 && e.confidence() < 0.9, "{}", e.confidence());
        assert_eq!(e.fields["doctor"].value, None);
    }

    #[test]
    fn ocr_noise_in_labels_is_tolerated_and_invalid_values_flagged() {
        let p = page(&["OUTPATIENT CONSULTATION CARD", "Date of birtb: 31/02/1990", "Phone: 12"]);
        let e = extract(&standard_templates(), &[p]);
        let dob = &e.fields["date_of_birth"];
        assert_eq!(dob.value, None);
        assert_eq!(dob.raw, "31/02/1990");
        assert!(dob.needs_review && dob.issue.as_deref().unwrap().contains("does not exist"));
        assert!(e.fields["phone"].needs_review);
    }

    #[test]
    fn misread_label_residue_and_next_column_are_not_part_of_the_value() {
        let mut p = page(&["OUTPATIENT CONSULTATION CARD", "ថ្ងៃខែឆ្នាំកំណើត / ០០8: 16 Mar 2002", "ICD-10: J06.9"]);
        // Sex on the left, a misread Age label far to the right on the same line.
        p.words.push(Word { text: "Sex:".into(), bbox: BBox::new(100, 400, 80, 40), confidence: 0.95, line: 9, block: 0 });
        p.words.push(Word { text: "M".into(), bbox: BBox::new(200, 400, 20, 40), confidence: 0.95, line: 9, block: 0 });
        p.words.push(Word { text: "7“7".into(), bbox: BBox::new(900, 400, 60, 40), confidence: 0.3, line: 9, block: 0 });
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(value(&e, "date_of_birth").as_deref(), Some("2002-03-16"));
        assert_eq!(value(&e, "sex").as_deref(), Some("M"));
    }

    #[test]
    fn value_below_label() {
        let p = page(&["OUTPATIENT CONSULTATION CARD", "Diagnosis:", "Acute upper respiratory infection"]);
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(value(&e, "diagnosis").as_deref(), Some("Acute upper respiratory infection"));
    }

    /// An A4 page (1700×2400) of these words.
    fn a4(words: Vec<Word>) -> PageWords {
        PageWords { rereads: Vec::new(), page: 1, width: 1700, height: 2400, words }
    }

    fn word(t: &str, x: u32, y: u32, line: u32, confidence: f32) -> Word {
        Word { text: t.into(), bbox: BBox::new(x, y, 20 * t.chars().count().max(2) as u32, 40), confidence, line, block: 0 }
    }

    #[test]
    fn ticked_box_wins_even_when_its_option_is_unreadable() {
        // Boxes found in the pixels come as ☒/☐ words; options wrap onto a second line.
        let p = a4(vec![
                word("INPATIENT", 100, 100, 0, 0.95), word("ADMISSION", 400, 100, 0, 0.95), word("AND", 700, 100, 0, 0.95), word("DISCHARGE", 800, 100, 0, 0.95), word("SHEET", 1100, 100, 0, 0.95),
                word("Sex:", 100, 300, 1, 0.95), word("☐", 300, 300, 1, 1.0), word("Male", 340, 300, 1, 0.95), word("☒", 500, 300, 1, 1.0), word("qo", 540, 300, 1, 0.4),
                word("Outcome:", 100, 400, 2, 0.95), word("☐", 400, 400, 2, 1.0), word("Recovered", 440, 400, 2, 0.95), word("☐", 700, 400, 2, 1.0), word("Improved", 740, 400, 2, 0.95),
                word("☐", 400, 456, 3, 1.0), word("Referred", 440, 456, 3, 0.95), word("☒", 700, 456, 3, 0.98), word("Died", 740, 456, 3, 0.95),
        ]);
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(e.form, "ipd");
        assert_eq!(value(&e, "outcome").as_deref(), Some("died"));
        assert!(e.fields["outcome"].confidence > 0.9, "{:?}", e.fields["outcome"]);
        // "qo" is no sex, but the second of the template's options ["M", "F"] is ticked.
        assert_eq!(value(&e, "sex").as_deref(), Some("F"));
        assert!(e.fields["sex"].needs_review, "a value known only by position is reviewed");
    }

    #[test]
    fn grid_columns_table_cells_and_values_that_look_like_labels() {
        let p = a4(vec![
                word("ANTENATAL", 100, 100, 0, 0.95), word("CARE", 400, 100, 0, 0.95), word("CARD", 550, 100, 0, 0.95),
                // A table row: a misread part of the label cell, then the value cell.
                word("Date", 100, 200, 1, 0.95), word("of", 200, 200, 1, 0.95), word("birth", 260, 200, 1, 0.95), word("០០8", 380, 200, 1, 0.3), word("|", 720, 200, 1, 0.6), word("12/03/1990", 760, 200, 1, 0.95),
                // "Sangkae" (a district) is one letter from the label "Sangkat".
                word("District:", 100, 300, 2, 0.95), word("Sangkae", 300, 300, 2, 0.95),
                // A measurement grid: labels across, values under each.
                word("GA", 100, 400, 3, 0.95), word("weeks", 160, 400, 3, 0.95), word("BP", 500, 400, 3, 0.95), word("Weight", 900, 400, 3, 0.95), word("kg", 1040, 400, 3, 0.95), word("Hb", 1300, 400, 3, 0.95),
                word("21", 100, 500, 4, 0.95), word("110/70", 500, 500, 4, 0.95), word("៦២.០", 900, 500, 4, 0.95), word("10.8", 1300, 500, 4, 0.95),
                // The Visit date label misread beyond matching, between found neighbours.
                word("Vsxt:", 100, 600, 5, 0.5), word("2024-11-25", 300, 600, 5, 0.95),
                word("Phone:", 100, 700, 6, 0.95), word("012 345 678", 300, 700, 6, 0.95),
        ]);
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(e.form, "anc");
        assert_eq!(value(&e, "date_of_birth").as_deref(), Some("1990-03-12"));
        assert_eq!(value(&e, "district").as_deref(), Some("Sangkae"));
        assert_eq!(value(&e, "commune"), None);
        assert_eq!(value(&e, "gestational_age_weeks").as_deref(), Some("21"));
        assert_eq!(value(&e, "blood_pressure").as_deref(), Some("110/70"));
        assert_eq!(value(&e, "weight_kg").as_deref(), Some("62.0"));
        assert_eq!(value(&e, "hemoglobin_g_dl").as_deref(), Some("10.8"));
        assert_eq!(value(&e, "visit_date").as_deref(), Some("2024-11-25"));
        assert!(e.fields["visit_date"].needs_review);
    }

    #[test]
    fn a_zone_reads_an_unlabelled_box_and_cross_checks_explain_themselves() {
        let mut t = standard_templates().into_iter().find(|t| t.form == "anc").unwrap();
        t.fields.iter_mut().find(|f| f.name == "patient_id").unwrap().zone = Some([0.5, 0.0, 0.5, 0.1]);
        let p = PageWords {
            rereads: Vec::new(),
            page: 1,
            width: 1000,
            height: 1000,
            words: vec![
                word("ANC", 100, 20, 0, 0.95), word("CARD", 200, 20, 0, 0.95), word("A-1234", 700, 40, 0, 0.95),
                word("LMP:", 100, 300, 1, 0.95), word("10/01/2024", 300, 300, 1, 0.95), word("EDD:", 100, 400, 2, 0.95), word("20/10/2024", 300, 400, 2, 0.95),
            ],
        };
        let e = extract_with(&t, &[p]);
        assert_eq!(value(&e, "patient_id").as_deref(), Some("A-1234"));
        assert!(e.fields["patient_id"].issue.as_deref().unwrap().contains("zone"));
        let edd = &e.fields["edd_date"];
        assert!(edd.needs_review && edd.issue.as_deref().unwrap().contains("LMP + 280 days (2024-10-16)"), "{edd:?}");
    }

    #[test]
    fn second_readings_rescue_invalid_values_and_confirm_valid_ones() {
        // The bilingual engine read the Khmer digits ៣៣ as "mm"; a Khmer-only reading of the
        // same place says ៣៣. Another engine agrees with the phone number.
        let mut p = page(&["OUTPATIENT CONSULTATION CARD", "Age: mm", "Phone: 012 345 678"]);
        let zone = |line: u32| BBox::new(0, 100 + 60 * line - 10, 1000, 60);
        let mut alone = p.clone();
        alone.words.iter_mut().for_each(|w| w.confidence = 0.85);
        let zones = doubtful_zones(&standard_templates(), &alone);
        assert!(zones.iter().any(|z| z.y < 180 && z.bottom() > 180), "the age is doubtful: {zones:?}");
        p.words.iter_mut().for_each(|w| w.confidence = 0.85);
        p.rereads.push(crate::words::Reread { bbox: zone(1), text: "៣៣".into(), confidence: 0.9, languages: "khm".into() });
        p.rereads.push(crate::words::Reread { bbox: zone(2), text: "012345678".into(), confidence: 0.9, languages: "eng".into() });
        let e = extract(&standard_templates(), &[p.clone()]);
        let age = &e.fields["age"];
        assert_eq!(age.value.as_deref(), Some("33"));
        assert!(age.needs_review && age.issue.as_deref().unwrap().contains("khm"), "{age:?}");
        p.rereads.clear();
        let without = extract(&standard_templates(), &[p]);
        assert!(e.fields["phone"].confidence > without.fields["phone"].confidence);
        assert_eq!(without.fields["age"].value, None);
    }

    #[test]
    fn unknown_form_gets_generic_fields() {
        let p = page(&["IMMUNISATION RECORD", "Vaccine: BCG", "Lot: 77A"]);
        let e = extract(&standard_templates(), &[p]);
        assert_eq!(e.form, "unknown");
        assert_eq!(value(&e, "vaccine").as_deref(), Some("BCG"));
        assert!(e.fields.values().all(|f| f.needs_review));
    }
}
