//! Confidence: how likely a field's value is right, from the evidence extraction gathered
//! (see [`Evidence`]).

use crate::field::{Evidence, Found, Verdict};
use crate::normalize::FieldType;
use crate::template::Template;

/// The probability, 0..1, that a value with this evidence is right.
pub fn score(e: &Evidence, _kind: FieldType) -> f32 {
    let mut c = e.ocr_mean * (0.5 + 0.5 * e.label_similarity);
    match e.found {
        Found::BoxPosition => c = e.ocr_mean * 0.85 * (0.5 + 0.5 * e.label_similarity),
        Found::Zone | Found::GuessedLabel => c *= 0.5,
        Found::AddressPart | Found::TableCell | Found::Heading => c = e.ocr_mean * 0.95,
        _ => {}
    }
    if !e.valid {
        c *= 0.5;
    }
    match e.cross {
        Verdict::Agrees => c = 1.0 - (1.0 - c) * 0.5,
        Verdict::Fails => c *= 0.5,
        Verdict::None => {}
    }
    match e.second {
        Verdict::Agrees => c = 1.0 - (1.0 - c) * 0.7,
        Verdict::Fails => c *= 0.8,
        Verdict::None => {}
    }
    if e.looks_like_label {
        c *= 0.3;
    }
    if !e.plausible {
        c *= 0.5;
    }
    c.clamp(0.0, 1.0)
}

/// The confidence at or above which a valid field of this template skips review.
pub fn threshold(template: &Template) -> f32 {
    template.auto_accept
}
