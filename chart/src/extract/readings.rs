//! Two readings of the same pages: the engine reads a page as one block of text and again as
//! sparse text (every block on its own). The first keeps a form's rows together; the second
//! keeps a small label stacked under another, beside a tall value, which one-block reading
//! merges into the value's line and loses. Extraction runs on each reading, and each field
//! keeps the better supported value:
//! - the value found in one reading only is kept, with its own confidence;
//! - of two values, the one with the higher calibrated confidence is kept (one that reads like
//!   a printed label only when the other does too), unless the other
//!   is the fuller reading of the same text: the engine drops a Khmer vowel sign or the
//!   first letters of a value beside its label far more often than it invents them, so
//!   `ឡង` beside `ឡុង`, or `eng Sophea` beside `Heng Sophea`, is the fuller one's loss;
//! - two readings that give the same value are evidence the calibrated model weighs
//!   (`readings_agree`): the field is scored again with it;
//! - two readings that give different values send the field to a reviewer, with both values
//!   in its issue and the lower of the two confidences: one of them is wrong.
//!
//! Tables come from the one-block reading, and so do the values it took from a table's row
//! (the latest visit's weight): sparse text splits a table's rows into cells.

use super::Extraction;
use crate::field::{ExtractedField, Found, Verdict};
use crate::normalize::FieldType;
use crate::template::Template;
use crate::words::PageWords;

/// The pages as the sparse reading saw them; a page read once keeps its one reading.
/// `None` when no page was read twice.
pub(super) fn sparse_pages(pages: &[PageWords]) -> Option<Vec<PageWords>> {
    if pages.iter().all(|p| p.sparse.is_empty()) {
        return None;
    }
    Some(
        pages
            .iter()
            .map(|p| PageWords {
                page: p.page,
                width: p.width,
                height: p.height,
                words: if p.sparse.is_empty() { p.words.clone() } else { p.sparse.clone() },
                rereads: p.rereads.clone(),
                sparse: Vec::new(),
            })
            .collect(),
    )
}

/// Field by field, the better supported value of the two readings (see the module
/// documentation). `block` is the one-block reading's extraction, `sparse` the other's,
/// both made with `template`.
pub(super) fn merge(template: &Template, mut block: Extraction, mut sparse: Extraction) -> Extraction {
    let threshold = crate::confidence::threshold(template);
    for (name, kept) in block.fields.iter_mut() {
        let Some(kind) = template.field(name).map(|s| s.kind) else { continue };
        if kind == FieldType::Table {
            continue;
        }
        let Some(other) = sparse.fields.remove(name) else { continue };
        if kept.evidence.found == Found::TableCell && kept.value.is_some() {
            // A value the one-block reading took from a table row (the latest visit's
            // weight): the sparse reading, which splits rows, is no second opinion on it.
            continue;
        }
        *kept = choose(std::mem::replace(kept, ExtractedField::missing("")), other, super::is_free_text(kind));
        if kept.evidence.readings != Verdict::None {
            // The other reading's verdict is evidence: scored again with it.
            if kept.issue.as_deref().is_some_and(|i| i.starts_with("low confidence")) {
                kept.issue = None;
            }
            let cap = kept.confidence;
            super::score_and_decide(kept, kind, threshold);
            if kept.evidence.readings == Verdict::Fails {
                kept.confidence = kept.confidence.min(cap);
            }
        }
    }
    block
}

/// A found value ranks by its confidence; one that reads like a printed label, words and no
/// number (`Doctor`; not the village `ភូមិ១១`), or a free text found implausible (a diagnosis
/// that is only a code, `B509`), ranks below any that does not, whatever its confidence (the
/// engine reads a label or a code surely).
fn rank(f: &ExtractedField, free_text: bool) -> f32 {
    let label = f.evidence.looks_like_label && !f.text().unwrap_or_default().chars().any(|c| c.is_numeric());
    match (&f.value, label || (free_text && !f.evidence.plausible)) {
        (None, _) => -2.0,
        (Some(_), true) => f.confidence - 1.0,
        (Some(_), false) => f.confidence,
    }
}

fn choose(block: ExtractedField, sparse: ExtractedField, free_text: bool) -> ExtractedField {
    let disagree = match (&block.value, &sparse.value) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    };
    let lower = block.confidence.min(sparse.confidence);
    let both = disagree.then(|| format!("\"{}\" or \"{}\"", block.text().unwrap_or_default(), sparse.text().unwrap_or_default()));
    let agree = block.value.is_some() && block.value == sparse.value;
    let (first, second) = if rank(&sparse, free_text) > rank(&block, free_text) { (sparse, block) } else { (block, sparse) };
    let mut kept = match (first.text(), second.text()) {
        (Some(a), Some(b)) if fuller(a, b) => second,
        _ => first,
    };
    if agree {
        kept.evidence.readings = Verdict::Agrees;
    }
    if let Some(both) = both {
        kept.evidence.readings = Verdict::Fails;
        crate::validate::add_issue(&mut kept, &format!("the page's two readings disagree: {both}"));
        kept.confidence = lower;
        kept.evidence.blocked = true;
        kept.needs_review = true;
    }
    kept
}

/// Whether `b` is a fuller reading of the text read as `a`: the same letters with Khmer signs
/// that `a` lost, or `a` with the first letters or words that `a` lost (of `a`'s script, and
/// no punctuation: a label's `(Latin)` or `ឃុំ/` before a value is no part of it).
fn fuller(a: &str, b: &str) -> bool {
    use super::layout::khmer_mark;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() || a.chars().count() >= b.chars().count() {
        return false;
    }
    let bare = |s: &str| s.chars().filter(|&c| !khmer_mark(c)).collect::<String>();
    if bare(a) == bare(b) {
        // Every letter in place; `b` has signs `a` lacks (and keeps every sign `a` has).
        let mut rest = b.chars();
        return a.chars().all(|c| rest.by_ref().any(|d| d == c));
    }
    let Some(head) = b.strip_suffix(a) else { return false };
    let Some(start) = a.chars().find(|c| c.is_alphabetic()) else { return false };
    !head.trim().is_empty()
        && head.chars().all(|c| c.is_whitespace() || ((c.is_alphabetic() || khmer_mark(c)) && crate::khmer::is_khmer(c) == crate::khmer::is_khmer(start)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldValue;

    fn field(value: Option<&str>, confidence: f32, review: bool) -> ExtractedField {
        let mut f = ExtractedField::missing("not found");
        if let Some(v) = value {
            f.value = Some(FieldValue::Text(v.into()));
            f.raw = v.into();
            f.issue = review.then(|| "low confidence".into());
        }
        f.confidence = confidence;
        f.needs_review = review;
        f.evidence.plausible = true;
        f
    }

    #[test]
    fn the_reading_that_found_the_value_wins() {
        let kept = choose(field(None, 0.0, true), field(Some("42"), 0.99, false), false);
        assert_eq!((kept.text(), kept.needs_review), (Some("42"), false));
        let kept = choose(field(Some("42"), 0.99, false), field(None, 0.0, true), false);
        assert_eq!((kept.text(), kept.needs_review), (Some("42"), false));
    }

    #[test]
    fn a_reading_that_lost_signs_or_first_letters_gives_way_to_the_fuller_one() {
        for (lost, full) in
            [("ឡង កញ្ញា", "ឡុង កញ្ញា"), ("ប្រាក សុវណ្ណ", "ប្រាក់ សុវណ្ណ"), ("eng Sophea", "Heng Sophea"), ("សុធា", "ផល សុធា"), ("Medicine", "Internal Medicine")]
        {
            let kept = choose(field(Some(lost), 0.9, false), field(Some(full), 0.5, false), false);
            assert_eq!(kept.text(), Some(full), "{lost} / {full}");
            assert!(kept.needs_review && kept.confidence == 0.5, "still two readings that disagree");
            let kept = choose(field(Some(full), 0.9, false), field(Some(lost), 0.5, false), false);
            assert_eq!(kept.text(), Some(full), "{full} / {lost}");
        }
        // Not the fuller reading: a label before the value, a letter of another script,
        // a different sign, letters added at the end.
        for (surer, other) in [("HUL Chenda", "(Latin) HUL Chenda"), ("ទឹកថ្លា", "a ទឹកថ្លា"), ("សរសេ", "សរសៃ"), ("Kbal Thnal", "Kbal Thnal ALN"), ("47", "47.2")]
        {
            let kept = choose(field(Some(surer), 0.9, false), field(Some(other), 0.5, false), false);
            assert_eq!(kept.text(), Some(surer), "{surer} / {other}");
        }
    }

    #[test]
    fn a_value_that_reads_like_a_label_gives_way() {
        let mut label = field(Some("Doctor"), 0.95, true);
        label.evidence.looks_like_label = true;
        let kept = choose(label, field(Some("EK Sreymom"), 0.6, true), true);
        assert_eq!(kept.text(), Some("EK Sreymom"));
    }

    #[test]
    fn a_diagnosis_that_is_only_a_code_gives_way() {
        let mut code = field(Some("B509"), 0.9, true);
        code.evidence.plausible = false;
        let kept = choose(code.clone(), field(Some("Falciparum malaria"), 0.4, true), true);
        assert_eq!(kept.text(), Some("Falciparum malaria"));
        // Not for typed fields, where implausible readings of both kinds are common.
        let kept = choose(code, field(Some("B50"), 0.4, true), false);
        assert_eq!(kept.text(), Some("B509"));
    }

    #[test]
    fn agreeing_readings_keep_the_surer_one() {
        let kept = choose(field(Some("42"), 0.90, true), field(Some("42"), 0.99, false), false);
        assert_eq!((kept.text(), kept.needs_review, kept.confidence), (Some("42"), false, 0.99));
    }

    #[test]
    fn a_value_from_a_table_row_keeps_the_one_block_reading() {
        let anc = crate::template::standard_templates().into_iter().find(|t| t.form == "anc").unwrap();
        let mut from_row = field(Some("56.2"), 0.97, false);
        from_row.evidence.found = Found::TableCell;
        let block = Extraction { form: Some("anc".into()), variant: None, fields: [("weight_kg".to_string(), from_row)].into() };
        let sparse = Extraction { form: Some("anc".into()), variant: None, fields: [("weight_kg".to_string(), field(Some("2"), 0.99, false))].into() };
        let merged = merge(&anc, block, sparse);
        let w = &merged.fields["weight_kg"];
        assert_eq!((w.text(), w.needs_review, w.evidence.readings), (Some("56.2"), false, Verdict::None), "{w:?}");
    }

    #[test]
    fn disagreeing_readings_go_to_a_reviewer_with_both_values() {
        let kept = choose(field(Some("42"), 0.99, false), field(Some("47"), 0.995, false), false);
        assert_eq!(kept.text(), Some("47"), "the surer reading is shown");
        assert!(kept.needs_review && kept.evidence.blocked);
        assert_eq!(kept.confidence, 0.99, "the lower confidence of the two");
        assert!(kept.issue.as_deref().unwrap().contains("\"42\" or \"47\""), "{:?}", kept.issue);
    }
}
