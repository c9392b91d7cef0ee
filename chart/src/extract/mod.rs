//! Extraction: OCR words of a chart's pages plus a template in, fields out. It never fails:
//! a field that cannot be read is missing, with an issue for the reviewer.
//!
//! The steps, each in its own module:
//! 1. [`labels`]: the printed labels on each page, as phrases, each owned by the field
//!    whose labels explain it best (any layout: `Khmer / English:`, `English (Khmer)`, a
//!    label on two lines, in a cell's corner, a table's column header).
//! 2. [`table`]: tables first (their column headers are not labels of single fields).
//! 3. [`locate`]: for every other field, the places its value may be: right of its label,
//!    or under it in its column; [`value`] reads each place (check boxes, the longest valid
//!    part of a typed value, label residue left out) and the best reading wins: a valid
//!    one, right of the label before below it, the better-matched label, the earlier page.
//! 4. [`address`]: a whole address under one label fills the address fields it has.
//! 5. [`heading`]: the facility's name from the page's heading.
//! 6. Fields never labelled: a word guessed to be an unreadable label, or the template's
//!    zone. Then second readings, cross-field checks ([`crate::validate`]), plausibility
//!    and reference data, and the calibrated confidence ([`crate::confidence`]).
//! 7. [`readings`]: a page read twice (one block, sparse text) is extracted from each
//!    reading, and each field keeps the better supported value; readings that disagree go
//!    to a reviewer.

mod address;
mod heading;
pub(crate) mod labels;
pub(crate) mod layout;
mod locate;
mod readings;
mod table;
mod value;

use crate::detect::detect_matched;
use crate::field::{Evidence, ExtractedField, FieldValue, Found, Verdict};
use crate::geometry::BBox;
use crate::normalize::FieldType;
use crate::template::Template;
use crate::text::{label_key, MatchKey};
use crate::words::{PageWords, Word};
use labels::{Labels, LineMatches, Owner};
use layout::{join_words, Line, PageLayout};
use std::collections::{BTreeMap, HashSet};
use value::Reading;

pub use value::is_free_text;

/// What extraction found on one chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// The form it decided on; `None` when no template's form was recognised (stored and
    /// exported as [`UNKNOWN_FORM`]).
    pub form: Option<String>,
    /// The facility whose own variant of the form was used (`None`: a general template).
    pub variant: Option<String>,
    /// Every field of the template (found or missing), by name.
    pub fields: BTreeMap<String, ExtractedField>,
}

/// How a chart whose form was not recognised is stored and exported.
pub const UNKNOWN_FORM: &str = "unknown";

impl Extraction {
    /// The form's name as stored and exported: the template's, or [`UNKNOWN_FORM`].
    pub fn form_name(&self) -> &str {
        self.form.as_deref().unwrap_or(UNKNOWN_FORM)
    }

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
/// generic `label: value` extraction, all fields needing review. Only templates of no
/// particular facility are used: see [`extract_for`].
pub fn extract(templates: &[Template], pages: &[PageWords]) -> Extraction {
    extract_for(templates, None, pages)
}

/// As [`extract`], for a chart of `facility`: that facility's own variants of the forms
/// are tried first; when none fits, the general templates. Other facilities' variants are
/// never used.
pub fn extract_for(templates: &[Template], facility: Option<&str>, pages: &[PageWords]) -> Extraction {
    let own: Vec<Template> = templates.iter().filter(|t| facility.is_some() && t.facility.as_deref() == facility).cloned().collect();
    let general: Vec<Template> = templates.iter().filter(|t| t.facility.is_none()).cloned().collect();
    for set in [own, general] {
        if set.is_empty() {
            continue;
        }
        // The pages' lines are matched against the set's labels once, for detection and
        // extraction alike.
        let labels = Labels::for_set(&set);
        let lines: Vec<Vec<Line<'_>>> = pages.iter().map(PageWords::lines).collect();
        let matches: Vec<Vec<LineMatches>> = lines.iter().map(|l| labels.match_lines(l)).collect();
        let guess = detect_matched(&set, pages, &labels, &lines, &matches);
        if let Some(index) = guess.form.as_deref().and_then(|f| set.iter().position(|t| t.form == f)) {
            let block = extract_matched(&set[index], &labels, index, pages, lines, &matches);
            return with_sparse_reading(&set[index], &labels, index, pages, block);
        }
    }
    extract_generic(pages)
}

/// Extracts every field of `template` from the pages.
pub fn extract_with(template: &Template, pages: &[PageWords]) -> Extraction {
    extract_among(template, &[], pages)
}

/// Where a second reading could help on one page: the value boxes of fields whose value is
/// not valid or below the auto-accept threshold, widened a little, when the page alone is a
/// known form. Free text fields are left out (any reading of them is "valid").
pub fn doubtful_zones(templates: &[Template], page: &PageWords) -> Vec<BBox> {
    let extraction = extract(templates, std::slice::from_ref(page));
    let Some(template) = templates.iter().find(|t| Some(t.form.as_str()) == extraction.form.as_deref()) else { return Vec::new() };
    let mut zones = Vec::new();
    for spec in &template.fields {
        let Some(f) = extraction.fields.get(&spec.name) else { continue };
        let Some(b) = f.bbox else { continue };
        let boxes = matches!(f.evidence.found, Found::TickedBox | Found::BoxPosition);
        if is_free_text(spec.kind)
            || spec.kind == FieldType::Table
            || f.raw.is_empty()
            || boxes
            || !spec.options.is_empty()
            || (f.value.is_some() && !f.needs_review)
        {
            continue;
        }
        let pad = b.h / 3 + 2;
        let (x, y) = (b.x.saturating_sub(pad), b.y.saturating_sub(pad));
        zones.push(BBox::new(x, y, (b.right() + pad).min(page.width.max(b.right())) - x, (b.bottom() + pad).min(page.height.max(b.bottom())) - y));
    }
    zones
}

/// Whether a value reads like one of the form's printed labels (`លេខកូដ / ICD-10`,
/// `Bed No.`): such text is never a value that skips review.
fn looks_like_label(raw: &str, vocab_keys: &[MatchKey]) -> bool {
    let key = MatchKey::of(raw);
    let n = key.len();
    if n < 3 {
        return false;
    }
    if vocab_keys.iter().any(|k| k.len() >= 3 && key.similarity_at_least(k, 0.8) >= 0.8) {
        return true;
    }
    // Mostly made of label words.
    let covered: usize = vocab_keys.iter().filter(|k| k.len() >= 4 && key.text.contains(k.text.as_str())).map(MatchKey::len).max().unwrap_or(0);
    covered * 10 >= n * 6
}

fn reading_rank(r: &Reading, similarity: f32, label_like: bool) -> (u8, u8, u8, u8, i64, i64) {
    let valid = u8::from(r.value.is_some());
    let right = u8::from(r.found == Found::RightOfLabel);
    // A label read clearly (`ការព្យាបាល / Treatment given`) outranks one matched loosely (a
    // section's heading that shares a word with it), wherever their values are.
    let clear = u8::from(similarity >= 0.9);
    (valid, u8::from(!label_like), clear, right, (similarity * 1000.0) as i64, -(r.page_index as i64))
}

/// Extracts every field of `template`, telling labels of the other templates apart from
/// values (see the module documentation).
pub fn extract_among(template: &Template, others: &[Template], pages: &[PageWords]) -> Extraction {
    let labels = Labels::new(template, others);
    let lines: Vec<Vec<Line<'_>>> = pages.iter().map(PageWords::lines).collect();
    let matches: Vec<Vec<LineMatches>> = lines.iter().map(|l| labels.match_lines(l)).collect();
    let block = extract_matched(template, &labels, 0, pages, lines, &matches);
    with_sparse_reading(template, &labels, 0, pages, block)
}

/// `block`, the extraction from the pages' one-block reading, merged field by field with
/// the extraction from their sparse reading when the pages were read twice (see
/// [`readings`]).
fn with_sparse_reading(template: &Template, labels: &Labels, index: usize, pages: &[PageWords], block: Extraction) -> Extraction {
    let Some(sparse) = readings::sparse_pages(pages) else { return block };
    let lines: Vec<Vec<Line<'_>>> = sparse.iter().map(PageWords::lines).collect();
    let matches: Vec<Vec<LineMatches>> = lines.iter().map(|l| labels.match_lines(l)).collect();
    let other = extract_matched(template, labels, index, &sparse, lines, &matches);
    readings::merge(template, block, other)
}

/// [`extract_among`] with the `index`th vocabulary of `labels`, on pages whose lines
/// (`lines`) were matched against its labels (`matches`).
fn extract_matched<'p>(
    template: &Template,
    labels: &Labels,
    index: usize,
    pages: &'p [PageWords],
    lines: Vec<Vec<Line<'p>>>,
    matches: &[Vec<LineMatches>],
) -> Extraction {
    let vocab_keys = &labels.all_keys;
    let mut layouts: Vec<PageLayout<'_>> =
        pages.iter().zip(lines).zip(matches).map(|((p, l), m)| PageLayout::new(p, l, m, labels.vocabulary(index), template)).collect();
    for layout in &mut layouts {
        assign_shared_labels(template, layout);
    }
    let labelled: HashSet<usize> = layouts
        .iter()
        .flat_map(|l| l.phrases.iter())
        .filter_map(|p| match p.owner {
            Some(Owner::Field(i)) | Some(Owner::Column(i, _)) => Some(i),
            _ => None,
        })
        .collect();
    let layout_share = labelled.len() as f32 / template.fields.iter().filter(|f| f.heading.is_empty()).count().max(1) as f32;
    let own_labels: Vec<Vec<String>> = template.fields.iter().map(|f| f.labels.iter().map(|l| label_key(l)).collect()).collect();
    let mut fields: BTreeMap<String, ExtractedField> = BTreeMap::new();
    // Each page aligned to the example the template was taught on, when it has one.
    let registrations: Vec<Option<crate::register::Registration>> =
        pages.iter().map(|p| if template.anchors.is_empty() { None } else { crate::register::register(&template.anchors, p) }).collect();
    let zones = Zones { example: template.example, registrations: &registrations };

    // Tables first: their headers are not labels of single fields.
    let mut table_phrases: HashSet<(usize, usize)> = HashSet::new();
    let mut from_tables: Vec<(String, String, ExtractedField)> = Vec::new();
    for (fi, spec) in template.fields.iter().enumerate().filter(|(_, f)| f.kind == FieldType::Table) {
        let Some(t) = table::read_table(fi, spec, &layouts) else {
            fields.insert(spec.name.clone(), ExtractedField::missing(if spec.required { "required table not found" } else { "not found" }));
            continue;
        };
        table_phrases.extend(t.header.iter().copied());
        let evidence = Evidence {
            found: table::FOUND,
            label_similarity: t.columns_found as f32 / spec.columns.len().max(1) as f32,
            ocr_mean: t.ocr_mean,
            ocr_min: t.ocr_min,
            valid: t.problems.is_empty(),
            typed: true,
            plausible: true,
            layout: layout_share,
            ..Evidence::default()
        };
        // The latest row gives the scalar fields the template names.
        if let Some(last) = t.rows.last() {
            for (scalar, column) in &spec.latest {
                if let Some(Some(v)) = last.get(column) {
                    let mended = t.mended.iter().any(|(r, c)| *r + 1 == t.rows.len() && c == column);
                    let f = ExtractedField {
                        value: Some(FieldValue::Text(v.clone())),
                        raw: v.clone(),
                        confidence: 0.0,
                        needs_review: true,
                        page: t.page,
                        bbox: Some(t.bbox),
                        issue: mended.then(|| format!("the latest row's {} had its decimal point put back", column.replace('_', " "))),
                        evidence,
                    };
                    from_tables.push((scalar.clone(), spec.name.clone(), f));
                }
            }
        }
        let issue = (!t.problems.is_empty()).then(|| t.problems.join("; "));
        let raw = format!("{} rows", t.rows.len());
        fields.insert(
            spec.name.clone(),
            ExtractedField {
                value: Some(FieldValue::Rows(t.rows)),
                raw,
                confidence: 0.0,
                needs_review: true,
                page: t.page,
                bbox: Some(t.bbox),
                issue,
                evidence,
            },
        );
    }

    // Single fields by their labels (or first by their registered zone, when the template's
    // author showed where the value is).
    for (fi, spec) in template.fields.iter().enumerate() {
        if matches!(spec.kind, FieldType::Table | FieldType::Address) || !spec.heading.is_empty() {
            continue;
        }
        // Only on a page aligned to the example: elsewhere the zone is no better than a guess,
        // and the label decides.
        if spec.zone_first && registrations.iter().any(|r| r.is_some_and(|r| r.share() >= MIN_REGISTERED_SHARE)) {
            if let Some(mut f) = spec.zone.and_then(|zone| from_zone(spec, zone, &layouts, &zones)) {
                if f.issue.is_none() {
                    f.evidence.layout = layout_share;
                    fields.insert(spec.name.clone(), f);
                    continue;
                }
            }
        }
        let mut readings = readings_of(fi, spec, &layouts, &table_phrases, &own_labels[fi], vocab_keys);
        readings.sort_by_key(|r| std::cmp::Reverse(reading_rank(&r.0, r.1, r.2)));
        let Some((best, similarity, label_like)) = readings.first().cloned() else { continue };
        // Another copy of the label elsewhere (a second page) that reads the same value.
        let copies_agree = readings.iter().skip(1).any(|(r, _, _)| r.page_index != best.page_index && r.value.is_some() && r.value == best.value);
        let mut f = field_from_reading(&best, similarity, layout_share, spec.kind);
        f.evidence.looks_like_label = label_like;
        if copies_agree {
            f.evidence.second = Verdict::Agrees;
        }
        if label_like {
            f.issue = Some(format!("{:?} reads like a printed label, not a value", f.raw));
        }
        fields.insert(spec.name.clone(), f);
    }

    // Scalars of a table's latest row: the table's word wins (docs/CONTRACT.md); a label's
    // reading that agrees confirms it.
    for (scalar, table_name, mut f) in from_tables {
        if let Some(own) = fields.get(&scalar) {
            if own.value == f.value {
                f.evidence.second = Verdict::Agrees;
            } else if own.value.is_some() {
                f.issue = Some(format!("the latest row of {table_name} says {}, the {} label {:?}", f.raw, scalar.replace('_', " "), own.raw));
            }
        }
        fields.insert(scalar, f);
    }

    // A whole address under one label fills the parts that have no label of their own.
    for (fi, spec) in template.fields.iter().enumerate().filter(|(_, f)| f.kind == FieldType::Address) {
        let mut readings = readings_of(fi, spec, &layouts, &table_phrases, &own_labels[fi], vocab_keys);
        readings.sort_by_key(|r| std::cmp::Reverse(reading_rank(&r.0, r.1, r.2)));
        // The place that reads as an address: most parts found (the words right of a label
        // in a cell's corner are a speck; the address is below), then the better placed.
        let split: Vec<address::Parts> = readings.iter().map(|(r, _, _)| address::split(&r.raw)).collect();
        let found = |p: &address::Parts| p.iter().filter(|x| x.is_some()).count();
        let Some(best) = (0..readings.len()).max_by(|&a, &b| found(&split[a]).cmp(&found(&split[b])).then(b.cmp(&a))) else { continue };
        let parts = split[best].clone();
        let (r, similarity, _) = readings.swap_remove(best);
        for (part, target) in parts.iter().zip(&spec.parts) {
            let Some(text) = part else { continue };
            if fields.get(target).is_some_and(|f| f.value.is_some()) {
                continue;
            }
            let Some(target_spec) = template.field(target) else { continue };
            let mut part_reading = r.clone();
            part_reading.raw = text.clone();
            part_reading.found = Found::AddressPart;
            match target_spec.canonicalize(text) {
                Ok(v) => {
                    part_reading.value = Some(FieldValue::Text(v));
                    part_reading.error = None;
                }
                Err(e) => {
                    part_reading.value = None;
                    part_reading.error = Some(e.0);
                }
            }
            fields.insert(target.clone(), field_from_reading(&part_reading, similarity, layout_share, target_spec.kind));
        }
    }

    // A code printed inside its neighbour's text (`Gastric ulcer (K25.9)`) when it has no label
    // of its own.
    for spec in template.fields.iter().filter(|f| f.kind == FieldType::Icd10) {
        if fields.get(&spec.name).is_some_and(|f| f.value.is_some()) {
            continue;
        }
        let Some(near) = spec.near.as_ref() else { continue };
        let Some(host) = fields.get(near) else { continue };
        let Some((code, cleaned)) = code_in_text(&host.raw) else { continue };
        let mut f = host.clone();
        f.value = Some(FieldValue::Text(code.clone()));
        f.raw = code;
        f.issue = Some(format!("taken from the {} text", near.replace('_', " ")));
        f.evidence.found = Found::InText;
        f.evidence.typed = true;
        fields.insert(spec.name.clone(), f);
        if let Some(host) = fields.get_mut(near) {
            if let Some(kind) = template.field(near).map(|s| s.kind) {
                host.value = crate::FieldType::canonicalize(&kind, &cleaned).ok().map(FieldValue::Text);
                host.raw = cleaned;
            }
        }
    }

    // A code the engine could not read whole (`Gastritis (29 7)`, its letter lost) is still
    // no part of the diagnosis beside it.
    for spec in template.fields.iter().filter(|f| f.kind == FieldType::Icd10) {
        let Some(near) = spec.near.as_ref() else { continue };
        let Some(kind) = template.field(near).map(|s| s.kind) else { continue };
        let Some(host) = fields.get_mut(near) else { continue };
        let Some(cleaned) = without_code_group(&host.raw) else { continue };
        if let Ok(v) = kind.canonicalize(&cleaned) {
            host.value = Some(FieldValue::Text(v));
            host.raw = cleaned;
        }
    }

    // Headings.
    for spec in template.fields.iter().filter(|f| !f.heading.is_empty()) {
        let Some((page_index, (words, similarity))) = layouts.iter().enumerate().find_map(|(i, l)| heading::find(spec, template, l).map(|h| (i, h))) else {
            continue;
        };
        let raw = join_words(&words, false);
        let reading = reading_of(spec, &words, raw, &layouts[page_index], page_index, Found::Heading);
        let mut f = field_from_reading(&reading, similarity, layout_share, spec.kind);
        // A name in the heading is free text nothing can check: a letter misread in it
        // (`Referrai`) would go into every record of the facility unseen.
        if f.value.is_some() {
            crate::validate::add_issue(&mut f, "read from the page's heading, which no list checks: confirm its spelling");
        }
        fields.insert(spec.name.clone(), f);
    }

    // Fields never labelled: a guessed label, the template's zone, or missing.
    let found_labels: HashSet<usize> = template.fields.iter().enumerate().filter(|(_, f)| fields.contains_key(&f.name)).map(|(i, _)| i).collect();
    for (fi, spec) in template.fields.iter().enumerate() {
        if fields.contains_key(&spec.name) || matches!(spec.kind, FieldType::Table | FieldType::Address) {
            continue;
        }
        let guessed = guess_unread_label(fi, template, &layouts, &found_labels).and_then(|(pi, li, wi)| {
            let page = &layouts[pi];
            let words: Vec<&Word> = page.lines[li].words[wi + 1..].iter().copied().take_while(|w| !labels::ends_like_label(w)).collect();
            (!words.is_empty())
                .then(|| {
                    value::read(
                        spec,
                        &locate::Candidate { page: pi, line: li, words, found: Found::GuessedLabel, label: String::new(), own: Vec::new() },
                        page,
                        &own_labels[fi],
                    )
                })
                .flatten()
        });
        let field = match guessed {
            Some(r) => {
                let mut f = field_from_reading(&r, 0.0, layout_share, spec.kind);
                f.issue.get_or_insert_with(|| "its label could not be read; the value is beside a word taken for it".into());
                f
            }
            None => match spec.zone.and_then(|zone| from_zone(spec, zone, &layouts, &zones)) {
                Some(mut f) => {
                    f.evidence.layout = layout_share;
                    f
                }
                None => ExtractedField::missing(if spec.required { "required field not found" } else { "not found" }),
            },
        };
        fields.insert(spec.name.clone(), field);
    }

    second_readings(template, pages, &mut fields);
    crate::validate::cross_check(&mut fields);
    crate::validate::plausibility(template, &mut fields);
    for (name, f) in fields.iter_mut() {
        let kind = template.field(name).map_or(FieldType::Text, |s| s.kind);
        if let Some(implied) = template.field(name).and_then(|s| s.implied.as_ref()) {
            match f.text() {
                None => {
                    crate::validate::add_issue(f, &format!("not read: the form implies {implied}"));
                    f.value = Some(FieldValue::Text(implied.clone()));
                }
                Some(v) if v != implied => {
                    let why = format!("read {v}, but the form implies {implied}");
                    crate::validate::add_issue(f, &why);
                    f.evidence.cross = Verdict::Fails;
                }
                Some(_) => {}
            }
        }
        if let Some((corrected, words)) = template.field(name).zip(f.text()).and_then(|(s, v)| s.correct_spelling(v)) {
            let list: Vec<String> = words.iter().map(|(a, b)| format!("{a} → {b}")).collect();
            crate::validate::add_issue(f, &format!("spelling put right from the ICD-10 titles: {}", list.join(", ")));
            f.value = Some(FieldValue::Text(corrected));
        }
        f.evidence.words = f.raw.split_whitespace().count().min(u16::MAX as usize) as u16;
        f.evidence.khmer = crate::khmer::is_mostly_khmer(&f.raw);
        score_and_decide(f, kind, crate::confidence::threshold(template));
    }
    Extraction { form: Some(template.form.clone()), variant: template.facility.clone(), fields }
}

/// The field's calibrated confidence from its evidence, and whether it needs a reviewer: it
/// is blocked (missing, an issue, a table) or scored under `threshold`.
fn score_and_decide(f: &mut ExtractedField, kind: FieldType, threshold: f32) {
    if f.value.is_none() && f.raw.is_empty() && f.bbox.is_none() {
        f.confidence = 0.0;
    } else {
        f.confidence = crate::confidence::score(&f.evidence, kind);
    }
    // Tables are checked row by row by a reviewer: one wrong cell in a list is hard to see.
    f.evidence.blocked = f.value.is_none() || f.issue.is_some() || kind == FieldType::Table;
    f.needs_review = f.evidence.blocked || f.confidence < threshold;
    if f.needs_review && f.issue.is_none() {
        f.issue = Some(format!("low confidence {:.0}%", f.confidence * 100.0));
    }
}

/// Every reading of field `fi` from the places its labels point to, with the label's
/// similarity and whether the text looks like a label; free text wrapped in its cell is
/// read whole.
fn readings_of(
    fi: usize,
    spec: &crate::template::FieldSpec,
    layouts: &[PageLayout<'_>],
    table_phrases: &HashSet<(usize, usize)>,
    own_labels: &[String],
    vocab_keys: &[MatchKey],
) -> Vec<(Reading, f32, bool)> {
    let mut readings = Vec::new();
    for (pi, page) in layouts.iter().enumerate() {
        for (phi, phrase) in page.phrases.iter().enumerate() {
            if phrase.owner != Some(Owner::Field(fi)) || table_phrases.contains(&(pi, phi)) {
                continue;
            }
            for mut candidate in locate::candidates(pi, page, phrase) {
                if is_free_text(spec.kind) {
                    let below = locate::continuation(page, &candidate);
                    candidate.words.extend(below);
                }
                if let Some(r) = value::read(spec, &candidate, page, own_labels) {
                    let label_like = looks_like_label(&r.raw, vocab_keys);
                    readings.push((r, phrase.similarity, label_like));
                }
            }
        }
    }
    readings
}

/// Fields that share a label (`ICD-10` beside each diagnosis): each phrase of it goes to the
/// field whose `near` field's label is nearest, on the same line first, then below.
fn assign_shared_labels(template: &Template, layout: &mut PageLayout<'_>) {
    let h = layout.line_height.max(1);
    let anchors: Vec<(usize, BBox)> = layout
        .phrases
        .iter()
        .filter_map(|p| match p.owner {
            Some(Owner::Field(i)) => Some((i, p.bbox)),
            _ => None,
        })
        .collect();
    for p in layout.phrases.iter_mut() {
        let sharing: Vec<usize> = p
            .alternatives
            .iter()
            .filter_map(|&(o, score)| match o {
                Owner::Field(i) if template.fields[i].near.is_some() && score >= 0.95 * p.score => Some(i),
                _ => None,
            })
            .collect();
        if sharing.len() < 2 {
            continue;
        }
        let distance = |field: usize| -> u32 {
            let Some(near) = template.fields[field].near.as_ref().and_then(|n| template.fields.iter().position(|f| &f.name == n)) else { return u32::MAX };
            anchors
                .iter()
                .filter(|(i, _)| *i == near)
                .map(|(_, a)| {
                    let dy = a.center_y().abs_diff(p.bbox.center_y());
                    let dx = p.bbox.x.abs_diff(a.right());
                    // Below the anchor counts more than beside it; above it, much more.
                    let above = if p.bbox.bottom() < a.y { 4 * dy } else { 0 };
                    if dy <= h {
                        dx
                    } else {
                        3 * dy + dx / 2 + above
                    }
                })
                .min()
                .unwrap_or(u32::MAX)
        };
        if let Some(&best) = sharing.iter().min_by_key(|&&f| distance(f)) {
            if distance(best) < u32::MAX {
                p.owner = Some(Owner::Field(best));
            }
        }
    }
}

/// An ICD-10 code that exists, written inside a text (in parentheses or at its end), and
/// the text without it.
fn code_in_text(text: &str) -> Option<(String, String)> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    for (i, t) in tokens.iter().enumerate().rev() {
        let bare = t.trim_matches(|c: char| matches!(c, '(' | ')' | '[' | ']' | ',' | ';'));
        // Also a code the engine split at its point (`K25 9`).
        let joined = tokens.get(i + 1).map(|n| format!("{bare}.{}", n.trim_matches(|c: char| !c.is_ascii_digit())));
        for candidate in [Some(bare.to_string()), joined].into_iter().flatten() {
            let starts_with_letter = candidate.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            let Ok(code) = crate::FieldType::Icd10.canonicalize(&candidate) else { continue };
            if starts_with_letter && crate::reference::icd10::exists(&code) && i > 0 {
                let cleaned = tokens[..i].join(" ").trim_end_matches(['(', '-', ',', ' ', '/']).to_string();
                return Some((code, cleaned));
            }
        }
    }
    None
}

/// The text without a code in parentheses at its end: two to five letters and digits, at
/// most one of them a letter (`(29 7)`, `(០90)`, `(N57 9)`; not `(type 2)`). `None` when
/// the text ends otherwise or is nothing but the group.
fn without_code_group(text: &str) -> Option<String> {
    let trimmed = text.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | ';'));
    let body = trimmed.strip_suffix(')')?;
    let open = body.rfind('(')?;
    let inside: String = crate::khmer::ascii_digits(&body[open + 1..]).chars().filter(|c| !c.is_whitespace() && *c != '.').collect();
    let letters = inside.chars().filter(|c| c.is_alphabetic()).count();
    let digits = inside.chars().filter(|c| c.is_ascii_digit()).count();
    let code = (2..=5).contains(&inside.chars().count()) && letters + digits == inside.chars().count() && letters <= 1 && digits >= 2;
    let rest = body[..open].trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '-' | ',' | '/' | '.'));
    (code && !rest.trim().is_empty()).then(|| rest.to_string())
}

fn reading_of(spec: &crate::template::FieldSpec, words: &[&Word], raw: String, page: &PageLayout<'_>, page_index: usize, found: Found) -> Reading {
    let (value, error) = match spec.canonicalize(&raw) {
        Ok(v) => (Some(FieldValue::Text(v)), None),
        Err(e) => (None, Some(e.0)),
    };
    let mean = words.iter().map(|w| w.confidence).sum::<f32>() / words.len().max(1) as f32;
    let min = words.iter().map(|w| w.confidence).fold(1.0, f32::min);
    Reading {
        value,
        raw,
        error,
        bbox: Some(layout::value_box(words, page.line_height)),
        page: page.words.page,
        page_index,
        ocr_mean: mean,
        ocr_min: min,
        found,
        trimmed: false,
    }
}

fn field_from_reading(r: &Reading, label_similarity: f32, layout_share: f32, kind: FieldType) -> ExtractedField {
    ExtractedField {
        value: r.value.clone(),
        raw: r.raw.clone(),
        confidence: 0.0,
        needs_review: true,
        page: r.page,
        bbox: r.bbox,
        issue: r.error.clone(),
        evidence: Evidence {
            found: r.found,
            label_similarity,
            ocr_mean: r.ocr_mean,
            ocr_min: r.ocr_min,
            valid: r.value.is_some(),
            typed: !is_free_text(kind),
            plausible: r.value.is_some(),
            layout: layout_share,
            trimmed: r.trimmed,
            ..Evidence::default()
        },
    }
}

/// Second readings of a value's place by other engines: one that agrees with a valid
/// value confirms it; one that disagrees is doubt; one that is valid where the first was
/// not replaces it, for a reviewer to confirm.
fn second_readings(template: &Template, pages: &[PageWords], fields: &mut BTreeMap<String, ExtractedField>) {
    for spec in &template.fields {
        let Some(f) = fields.get_mut(&spec.name) else { continue };
        let Some(bbox) = f.bbox else { continue };
        if f.page == 0 || spec.kind == FieldType::Table || matches!(f.evidence.found, Found::TableCell | Found::AddressPart) {
            continue;
        }
        let Some(page) = pages.iter().find(|p| p.page == f.page) else { continue };
        let here: Vec<&crate::words::Reread> = page.rereads.iter().filter(|r| r.bbox.intersection_area(&bbox) * 2 >= bbox.w * bbox.h).collect();
        let mut seconds: Vec<(String, &crate::words::Reread)> = here.iter().filter_map(|r| spec.canonicalize(&r.text).ok().map(|v| (v, *r))).collect();
        // Where the first reading gave nothing valid, part of a second is better than none
        // (a reviewer confirms it); it is no evidence for or against a valid first reading.
        if seconds.is_empty() && f.value.is_none() {
            seconds = here.iter().filter_map(|r| typed_part(spec, &r.text).map(|v| (v, *r))).collect();
        }
        if seconds.is_empty() {
            continue;
        }
        match f.text().map(str::to_string) {
            Some(v) if seconds.iter().any(|(s, _)| *s == v) => f.evidence.second = Verdict::Agrees,
            Some(_) => {
                if f.evidence.second != Verdict::Agrees {
                    f.evidence.second = Verdict::Fails;
                }
            }
            None => {
                if let Some((v, r)) = seconds.iter().max_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence)) {
                    f.issue = Some(format!("read again by the {} engine: the first reading {:?} was not valid", r.languages, f.raw));
                    f.raw = r.text.clone();
                    f.value = Some(FieldValue::Text(v.clone()));
                    f.evidence.valid = true;
                    f.evidence.plausible = true;
                    f.evidence.ocr_mean = r.confidence;
                    f.evidence.ocr_min = r.confidence;
                    f.evidence.second = Verdict::Fails;
                }
            }
        }
    }
}

/// The value in part of a second reading of a zone, for a typed value (a number, a date, a
/// phone): the longest run of its words that is one, leftmost first.
/// The zone is padded around the first reading, so it may take in a stroke of the ruling or
/// the edge of the next label (`៥៨ %,823|$` for an age of 58).
fn typed_part(spec: &crate::template::FieldSpec, text: &str) -> Option<String> {
    if is_free_text(spec.kind) {
        return None;
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    (1..=words.len()).rev().find_map(|n| words.windows(n).find_map(|run| spec.canonicalize(&run.join(" ")).ok()))
}

/// Labels OCR could not read (`ភេទ:` read as `as:`): a word shaped like a label (ending in a
/// colon, in no phrase) that sits, in reading order, between the labels of the fields
/// before and after field `fi` in the template, when it is the only such word there.
fn guess_unread_label(fi: usize, template: &Template, layouts: &[PageLayout<'_>], found: &HashSet<usize>) -> Option<(usize, usize, usize)> {
    let position_of = |field: usize| -> Option<(usize, usize, usize)> {
        layouts.iter().enumerate().find_map(|(pi, l)| l.phrases.iter().find(|p| p.owner == Some(Owner::Field(field))).map(|p| (pi, p.parts[0].0, p.parts[0].1)))
    };
    let before = (0..fi).rev().filter(|i| found.contains(i)).find_map(position_of)?;
    let after = (fi + 1..template.fields.len()).filter(|i| found.contains(i)).find_map(position_of)?;
    let mut slots = Vec::new();
    for (pi, page) in layouts.iter().enumerate() {
        for (li, line) in page.lines.iter().enumerate() {
            for (wi, w) in line.words.iter().enumerate() {
                let at = (pi, li, wi);
                let unowned = page.phrases.iter().find(|p| p.parts.iter().any(|&(l, s, e)| l == li && s <= wi && wi < e));
                let slot = match unowned {
                    None => labels::ends_like_label(w) && !label_key(&w.text).is_empty(),
                    // A label of nothing this form reads: the last word of the phrase.
                    Some(p) => p.owner.is_none() && p.colon && p.parts.iter().any(|&(l, _, e)| l == li && e == wi + 1),
                };
                if at > before && at < after && slot {
                    slots.push(at);
                }
            }
        }
    }
    let missing_between = (0..template.fields.len()).filter(|i| !found.contains(i) && position_of(*i).is_none()).filter(|&i| {
        let b = (0..i).rev().filter(|k| found.contains(k)).find_map(position_of);
        let a = (i + 1..template.fields.len()).filter(|k| found.contains(k)).find_map(position_of);
        b == Some(before) && a == Some(after)
    });
    let run: Vec<usize> = missing_between.collect();
    if slots.len() == run.len() {
        let k = run.iter().position(|&i| i == fi)?;
        return slots.get(k).copied();
    }
    None
}

/// The share of a template's anchors a page must show in their places for its zones to be
/// trusted as the example's (below it, zones are read as fractions of the page, for review).
const MIN_REGISTERED_SHARE: f32 = 0.6;

/// How zones land on each page: through the page's registration to the template's example
/// when there is one, otherwise as fractions of the page itself.
struct Zones<'a> {
    example: Option<[f32; 2]>,
    registrations: &'a [Option<crate::register::Registration>],
}

impl Zones<'_> {
    /// The zone `[x, y, w, h]` (fractions of the example page) on page `pi`, and whether it
    /// was placed by registration.
    fn on_page(&self, pi: usize, page: &PageWords, [x, y, w, h]: [f32; 4]) -> (BBox, bool) {
        match (self.example, self.registrations.get(pi).copied().flatten()) {
            // Registered on most of the example's anchors: the layout is the example's.
            (Some([ew, eh]), Some(r)) if r.share() >= MIN_REGISTERED_SHARE => (r.transform.rect([x * ew, y * eh, w * ew, h * eh]), true),
            _ => {
                let (pw, ph) = (page.width as f32, page.height as f32);
                (BBox::new((x * pw) as u32, (y * ph) as u32, (w * pw) as u32, (h * ph) as u32), false)
            }
        }
    }
}

/// A field read from the template's zone: the words whose centre lies in the zone on the
/// first page that has any. Read without registration (the zone as fractions of whatever page
/// this is), it always goes to a reviewer.
fn from_zone(spec: &crate::template::FieldSpec, zone: [f32; 4], layouts: &[PageLayout<'_>], zones: &Zones<'_>) -> Option<ExtractedField> {
    for (pi, page) in layouts.iter().enumerate() {
        if spec.page.is_some_and(|p| p != page.words.page) {
            continue;
        }
        let (zone, registered) = zones.on_page(pi, page.words, zone);
        let mut words: Vec<&Word> = page.words.words.iter().filter(|wd| wd.bbox.center_within(&zone) && !layout::is_separator(wd)).collect();
        if words.is_empty() {
            continue;
        }
        words.sort_by_key(|wd| (wd.line, wd.bbox.x));
        let raw = join_words(&words, false);
        let reading = reading_of(spec, &words, raw, page, pi, Found::Zone);
        let mut f = field_from_reading(&reading, 0.0, 0.0, spec.kind);
        if !registered {
            f.issue.get_or_insert_with(|| "read from the template's zone (no label found)".to_string());
        }
        return Some(f);
    }
    None
}

/// How extraction sees a chart with `template`: every line, its label phrases in brackets
/// with the field each belongs to (`[Patient ID:→patient_id]`, `[…→?]` for a label of
/// nothing the template reads). For template authors and for debugging.
pub fn explain(template: &Template, others: &[Template], pages: &[PageWords]) -> String {
    use std::fmt::Write as _;
    let labels = Labels::new(template, others);
    let mut out = String::new();
    for page in pages {
        let lines = page.lines();
        let matches = labels.match_lines(&lines);
        let mut layout = PageLayout::new(page, lines, &matches, labels.vocabulary(0), template);
        assign_shared_labels(template, &mut layout);
        let _ = writeln!(out, "--- page {} ({}x{}, line height {})", page.page, page.width, page.height, layout.line_height);
        for (li, line) in layout.lines.iter().enumerate() {
            let mut text = String::new();
            let mut k = 0;
            while k < line.words.len() {
                let phrase = layout.phrases.iter().find(|p| p.parts.iter().any(|&(l, s, _)| l == li && s == k));
                match phrase {
                    Some(p) => {
                        let &(_, s, e) = p.parts.iter().find(|&&(l, s, _)| l == li && s == k).expect("part");
                        let owner = match p.owner {
                            Some(Owner::Field(i)) => template.fields[i].name.clone(),
                            Some(Owner::Column(i, c)) => format!("{}.{}", template.fields[i].name, template.fields[i].columns[c].name),
                            _ => "?".into(),
                        };
                        let words: Vec<&str> = line.words[s..e].iter().map(|w| w.text.as_str()).collect();
                        let stacked = if p.parts.len() > 1 { "²" } else { "" };
                        let _ = write!(text, "[{}→{owner}{stacked} {:.2}] ", words.join(" "), p.similarity);
                        k = e;
                    }
                    None => {
                        let _ = write!(text, "{} ", line.words[k].text);
                        k += 1;
                    }
                }
            }
            let _ = writeln!(out, "{:>4} y={:<5} {}", li, line.bbox.y, text.trim_end());
        }
    }
    out
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
                let value_end = colon_at.get(k + 1).map_or(line.words.len(), |next| (*next).max(ci + 1));
                let label: String = line.words[label_start..=ci].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
                let name: String = label_key(&label).chars().filter(char::is_ascii_alphanumeric).collect();
                let value_words: Vec<&Word> = line.words[ci + 1..value_end].to_vec();
                if name.is_empty() || value_words.is_empty() || fields.contains_key(&name) {
                    continue;
                }
                let raw = join_words(&value_words, false);
                let bbox = value_words.iter().skip(1).fold(value_words[0].bbox, |b, w| b.union(&w.bbox));
                let confidence = value_words.iter().map(|w| w.confidence).sum::<f32>() / value_words.len() as f32;
                fields.insert(
                    name,
                    ExtractedField {
                        value: Some(FieldValue::Text(raw.clone())),
                        raw,
                        confidence,
                        needs_review: true,
                        page: page.page,
                        bbox: Some(bbox),
                        issue: Some("unknown form".into()),
                        evidence: Evidence::default(),
                    },
                );
            }
        }
    }
    Extraction { form: None, variant: None, fields }
}

#[cfg(test)]
mod tests;
