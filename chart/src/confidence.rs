//! Confidence: the probability that a field's value is right, from the evidence extraction
//! gathered ([`Evidence`]), by a logistic model fitted on charts with ground truth, and the
//! threshold at or above which a value skips review.
//!
//! The model (`calibration.json`, compiled in) is fitted by `chartscan calibrate` on the
//! samples and the tuning half of an independent set, and its threshold is chosen on
//! out-of-fold predictions (each chart scored by a model that did not see it) as the
//! lowest at which the auto-accepted values are right at least [`TARGET_PRECISION`] of the
//! time. A value with an issue (not valid, a failed check, implausible, looks like a label,
//! found only by position) never skips review, whatever its confidence.

use crate::field::{Evidence, Found, Verdict};
use crate::normalize::FieldType;
use crate::template::Template;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The precision the auto-accept threshold is chosen for, on out-of-fold predictions: a
/// margin above the 99.5% the project promises on charts it has not seen. (At 99.7% the
/// threshold jumps from 0.975 to 0.987 and auto-accepts a fifth fewer values, none of them
/// wrong at 0.975 on the held-aside half.)
pub const TARGET_PRECISION: f64 = 0.996;

/// The features of the model, in order.
pub const FEATURES: [&str; 37] = [
    "bias",
    "ocr_mean",
    "ocr_min",
    "ocr_mean_squared",
    "label_similarity",
    "valid",
    "plausible",
    "known",
    "looks_like_label",
    "trimmed",
    "layout",
    "cross_agrees",
    "cross_fails",
    "second_agrees",
    "second_fails",
    "found_right",
    "found_below",
    "found_box",
    "found_box_position",
    "found_address",
    "found_table",
    "found_heading",
    "found_zone_or_guess",
    "found_in_text",
    "kind_name",
    "kind_text",
    "kind_date",
    "kind_number",
    "kind_id",
    "kind_code",
    "kind_choice",
    "khmer",
    "khmer_name",
    "words",
    "free_text_ocr",
    "typed_ocr_min",
    "readings_agree",
];

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The feature vector of a value's evidence (see [`FEATURES`]).
pub fn features(e: &Evidence, kind: FieldType) -> [f64; FEATURES.len()] {
    use FieldType as T;
    let name = matches!(kind, T::KhmerText | T::LatinText | T::Person);
    let free = matches!(kind, T::Text | T::Address) || name;
    let ocr_mean = f64::from(e.ocr_mean);
    let ocr_min = f64::from(e.ocr_min);
    [
        1.0,
        ocr_mean,
        ocr_min,
        ocr_mean * ocr_mean,
        f64::from(e.label_similarity),
        flag(e.valid),
        flag(e.plausible),
        flag(e.known),
        flag(e.looks_like_label),
        flag(e.trimmed),
        f64::from(e.layout),
        flag(e.cross == Verdict::Agrees),
        flag(e.cross == Verdict::Fails),
        flag(e.second == Verdict::Agrees),
        flag(e.second == Verdict::Fails),
        flag(e.found == Found::RightOfLabel),
        flag(e.found == Found::BelowLabel),
        flag(e.found == Found::TickedBox),
        flag(e.found == Found::BoxPosition),
        flag(e.found == Found::AddressPart),
        flag(e.found == Found::TableCell),
        flag(e.found == Found::Heading),
        flag(matches!(e.found, Found::Zone | Found::GuessedLabel)),
        flag(e.found == Found::InText),
        flag(name),
        flag(matches!(kind, T::Text | T::Address)),
        flag(kind == T::Date),
        flag(matches!(kind, T::Integer | T::Decimal | T::BloodPressure | T::Result)),
        flag(matches!(kind, T::PatientId | T::Phone)),
        flag(kind == T::Icd10),
        flag(matches!(kind, T::Sex | T::Outcome | T::Province)),
        flag(e.khmer),
        flag(e.khmer && name),
        f64::from(e.words.min(10)) / 10.0,
        flag(free) * ocr_mean,
        flag(!free) * ocr_min,
        flag(e.readings == Verdict::Agrees),
    ]
}

/// A fitted model: weights of [`FEATURES`] and the auto-accept threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// What it was fitted on, in words.
    pub fitted_on: String,
    /// The feature names, in order (checked against [`FEATURES`]).
    pub features: Vec<String>,
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The confidence at or above which a value without issues skips review.
    pub threshold: f64,
    /// Figures of the fit, for the record: values, right, and the out-of-fold precision and
    /// share auto-accepted at the threshold.
    #[serde(default)]
    pub fit: FitFigures,
}

/// How a fit went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FitFigures {
    /// Values fitted on.
    pub values: usize,
    /// Of which right.
    pub right: usize,
    /// Out-of-fold precision of the values auto-accepted at the threshold.
    pub precision: f64,
    /// Out-of-fold share of values auto-accepted at the threshold.
    pub share: f64,
}

impl Model {
    /// The probability that a value with these features is right.
    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.weights.iter().zip(x).map(|(w, v)| w * v).sum())
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The bundled model (`chart/src/calibration.json`).
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let m: Model = serde_json::from_str(include_str!("calibration.json")).expect("the bundled calibration parses (checked by tests)");
        assert_eq!(m.features, FEATURES, "the bundled calibration was fitted on other features: run chartscan calibrate");
        m
    })
}

/// The probability, 0..1, that a value with this evidence is right.
pub fn score(e: &Evidence, kind: FieldType) -> f32 {
    model().predict(&features(e, kind)) as f32
}

/// The confidence at or above which a valid field of this template skips review: the
/// template's own `auto_accept` when it sets one, else the model's threshold.
pub fn threshold(template: &Template) -> f32 {
    template.auto_accept.unwrap_or(model().threshold as f32)
}

/// One training example: a value's features, whether it is right, and its chart (folds
/// keep a chart's values together).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Features.
    pub x: [f64; FEATURES.len()],
    /// Whether the value is right.
    pub right: bool,
    /// Whether it may skip review at all (valid, no issue).
    pub eligible: bool,
    /// The chart it is from.
    pub chart: String,
    /// The field, and the value read (for reports).
    pub field: String,
}

/// Fits weights by L2-regularised logistic regression (gradient descent).
pub fn fit_weights(examples: &[Example]) -> Vec<f64> {
    let n = FEATURES.len();
    let mut w = vec![0.0; n];
    if examples.is_empty() {
        return w;
    }
    let lambda = 1e-3;
    let rate = 0.5;
    let m = examples.len() as f64;
    for _ in 0..4000 {
        let mut grad = vec![0.0; n];
        for e in examples {
            let p = sigmoid(w.iter().zip(&e.x).map(|(a, b)| a * b).sum());
            let err = p - f64::from(u8::from(e.right));
            for (g, x) in grad.iter_mut().zip(&e.x) {
                *g += err * x;
            }
        }
        for (k, (wk, g)) in w.iter_mut().zip(&grad).enumerate() {
            let reg = if k == 0 { 0.0 } else { lambda * *wk };
            *wk -= rate * (g / m + reg);
        }
    }
    w
}

/// The lowest threshold whose auto-accepted values (eligible, at or above it) are right at
/// least `target` of the time, with its precision and share; 0.999 when none is.
pub fn choose_threshold(scored: &[(f64, bool, bool)], target: f64) -> (f64, f64, f64) {
    let eligible: Vec<&(f64, bool, bool)> = scored.iter().filter(|s| s.2).collect();
    let total = scored.len().max(1) as f64;
    for step in 50..1000 {
        let t = f64::from(step) / 1000.0;
        let taken: Vec<&&(f64, bool, bool)> = eligible.iter().filter(|s| s.0 >= t).collect();
        if taken.is_empty() {
            break;
        }
        let precision = taken.iter().filter(|s| s.1).count() as f64 / taken.len() as f64;
        if precision >= target {
            return (t, precision, taken.len() as f64 / total);
        }
    }
    (0.999, 1.0, 0.0)
}

/// Fits a model: weights on every example, the threshold on out-of-fold predictions (five
/// folds by chart) so that it holds on charts the weights have not seen. The out-of-fold
/// predictions come back in the examples' order.
pub fn fit(examples: &[Example], fitted_on: &str, target_precision: f64) -> (Model, Vec<(f64, bool, bool)>) {
    // Values with an issue never skip review: the model learns to tell right from wrong
    // among the others (their confidence still orders the queue).
    let train_on = |set: &[Example]| -> Vec<f64> {
        let eligible: Vec<Example> = set.iter().filter(|e| e.eligible).cloned().collect();
        fit_weights(if eligible.is_empty() { set } else { &eligible })
    };
    let mut charts: Vec<&str> = examples.iter().map(|e| e.chart.as_str()).collect();
    charts.sort_unstable();
    charts.dedup();
    let fold_of = |chart: &str| charts.iter().position(|c| *c == chart).unwrap_or(0) % 5;
    let mut out_of_fold = vec![(0.0, false, false); examples.len()];
    let mut mean = vec![0.0; FEATURES.len()];
    for fold in 0..5 {
        let train: Vec<Example> = examples.iter().filter(|e| fold_of(&e.chart) != fold).cloned().collect();
        let w = train_on(&train);
        for (m, wk) in mean.iter_mut().zip(&w) {
            *m += wk / 5.0;
        }
        let m = Model { fitted_on: String::new(), features: Vec::new(), weights: w, threshold: 1.0, fit: FitFigures::default() };
        for (i, e) in examples.iter().enumerate().filter(|(_, e)| fold_of(&e.chart) == fold) {
            out_of_fold[i] = (m.predict(&e.x), e.right, e.eligible);
        }
    }
    let (threshold, precision, share) = choose_threshold(&out_of_fold, target_precision);
    let model = Model {
        fitted_on: fitted_on.to_string(),
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        // The mean of the five folds' models: the threshold was chosen on their scores, and
        // a model fitted on every example anew scores on another scale (its weights grow
        // with the data), so that the threshold would not hold for it.
        weights: mean,
        threshold,
        fit: FitFigures { values: examples.len(), right: examples.iter().filter(|e| e.right).count(), precision, share },
    };
    (model, out_of_fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_model_is_for_these_features_and_orders_evidence_sensibly() {
        let m = model();
        assert_eq!(m.weights.len(), FEATURES.len());
        assert!((0.5..1.0).contains(&m.threshold), "{}", m.threshold);
        let good = Evidence {
            found: Found::RightOfLabel,
            label_similarity: 1.0,
            ocr_mean: 0.95,
            ocr_min: 0.93,
            valid: true,
            typed: true,
            plausible: true,
            cross: Verdict::Agrees,
            layout: 0.9,
            words: 1,
            ..Default::default()
        };
        let doubtful = Evidence { ocr_mean: 0.55, ocr_min: 0.3, ..good };
        assert!(score(&good, FieldType::Date) > score(&doubtful, FieldType::Date));
        let failed = Evidence { cross: Verdict::Fails, ..good };
        assert!(score(&good, FieldType::Date) > score(&failed, FieldType::Date));
    }

    #[test]
    fn fitting_learns_which_evidence_predicts_right_values_and_picks_a_precise_threshold() {
        // Synthetic: values are right when the engine was sure, whatever else.
        let mut examples = Vec::new();
        for i in 0..400 {
            let sure = i % 4 != 0;
            let e = Evidence {
                ocr_mean: if sure { 0.95 } else { 0.4 },
                ocr_min: if sure { 0.9 } else { 0.2 },
                valid: true,
                label_similarity: 1.0,
                ..Default::default()
            };
            examples.push(Example {
                x: features(&e, FieldType::Date),
                right: sure || i % 8 == 0,
                eligible: true,
                chart: format!("c{}", i % 20),
                field: "d".into(),
            });
        }
        let (m, oof) = fit(&examples, "synthetic", TARGET_PRECISION);
        assert_eq!(oof.len(), 400);
        assert!(m.predict(&examples[1].x) > 0.9 && m.predict(&examples[0].x) < 0.7, "{:?}", m.weights);
        assert!(m.fit.precision >= TARGET_PRECISION && m.fit.share > 0.7, "{:?}", m.fit);
        let (t, p, share) = choose_threshold(&[(0.9, true, true), (0.8, false, true), (0.95, true, false)], 0.99);
        assert_eq!((t, p), (0.801, 1.0));
        assert!((share - 1.0 / 3.0).abs() < 1e-9);
    }
}
