//! Extraction quality against ground truth: exact-match accuracy, and the precision and
//! coverage of auto-accepted fields, per field and overall (`chartscan evaluate`).

use crate::extract::Extraction;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One field of one chart, compared with the truth.
#[derive(Debug, Clone, Serialize)]
pub struct FieldOutcome {
    /// The chart's file.
    pub file: String,
    /// The true form.
    pub form: String,
    /// The field.
    pub field: String,
    /// How the value was printed (`typed`, `hand`, `boxes`).
    pub printed: String,
    /// The true canonical value.
    pub expected: String,
    /// What extraction produced.
    pub got: Option<String>,
    /// The text it was read from.
    pub raw: String,
    /// Its confidence.
    pub confidence: f32,
    /// Whether extraction auto-accepted it.
    pub auto_accepted: bool,
}

impl FieldOutcome {
    /// Whether the extracted value is the true one.
    pub fn correct(&self) -> bool {
        self.got.as_deref() == Some(self.expected.as_str())
    }
}

/// Accuracy figures over a set of fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Fields compared.
    pub fields: usize,
    /// Of which extracted exactly.
    pub correct: usize,
    /// Auto-accepted (no review needed).
    pub auto_accepted: usize,
    /// Auto-accepted and correct.
    pub auto_correct: usize,
}

impl Figures {
    fn add(&mut self, o: &FieldOutcome, auto: bool) {
        self.fields += 1;
        self.correct += usize::from(o.correct());
        self.auto_accepted += usize::from(auto);
        self.auto_correct += usize::from(auto && o.correct());
    }

    /// Exact-match accuracy, 0..1.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.fields)
    }

    /// Precision of auto-accepted fields, 0..1 (1 when none were).
    pub fn precision(&self) -> f64 {
        if self.auto_accepted == 0 {
            1.0
        } else {
            ratio(self.auto_correct, self.auto_accepted)
        }
    }

    /// Share of fields auto-accepted, 0..1.
    pub fn coverage(&self) -> f64 {
        ratio(self.auto_accepted, self.fields)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The comparison of many charts with their truth.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Every compared field.
    pub outcomes: Vec<FieldOutcome>,
    /// Charts whose form was detected right, and charts compared.
    pub forms: (usize, usize),
}

impl Report {
    /// Adds one chart: its extraction, true form, true values and how each was printed.
    pub fn add(&mut self, file: &str, extraction: &Extraction, form: &str, truth: &BTreeMap<String, String>, printed: &BTreeMap<String, String>) {
        self.forms.1 += 1;
        self.forms.0 += usize::from(extraction.form == form);
        for (field, expected) in truth {
            let got = extraction.fields.get(field);
            self.outcomes.push(FieldOutcome {
                file: file.to_string(),
                form: form.to_string(),
                field: field.clone(),
                printed: printed.get(field).cloned().unwrap_or_else(|| "typed".into()),
                expected: expected.clone(),
                got: got.and_then(|f| f.text().map(str::to_string)),
                raw: got.map(|f| f.raw.clone()).unwrap_or_default(),
                confidence: got.map_or(0.0, |f| f.confidence),
                auto_accepted: got.is_some_and(|f| !f.needs_review),
            });
        }
    }

    /// Figures over the fields `keep` selects, as extraction auto-accepted them.
    pub fn figures(&self, keep: impl Fn(&FieldOutcome) -> bool) -> Figures {
        let mut f = Figures::default();
        for o in self.outcomes.iter().filter(|o| keep(o)) {
            f.add(o, o.auto_accepted);
        }
        f
    }

    /// Figures if the auto-accept threshold were `threshold` (a value is accepted when it is
    /// valid and at least that confident).
    pub fn at_threshold(&self, threshold: f32) -> Figures {
        let mut f = Figures::default();
        for o in &self.outcomes {
            f.add(o, o.got.is_some() && o.confidence >= threshold);
        }
        f
    }

    /// The lowest threshold (in steps of 0.01) whose auto-accepted precision reaches `target`.
    pub fn calibrate(&self, target: f64) -> Option<(f32, Figures)> {
        (50..=100).map(|t| t as f32 / 100.0).map(|t| (t, self.at_threshold(t))).find(|(_, f)| f.precision() >= target && f.auto_accepted > 0)
    }

    /// The report as text tables: per field, per printing style, overall, a threshold sweep
    /// and the wrong auto-accepted fields.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, f: Figures| {
            let _ = writeln!(
                out,
                "{name:<24} {:>5} {:>7.1}% {:>9.1}% {:>9.1}%",
                f.fields,
                100.0 * f.accuracy(),
                100.0 * f.coverage(),
                100.0 * f.precision()
            );
        };
        let header = |out: &mut String, title: &str| {
            let _ = writeln!(out, "{title:<24} {:>5} {:>8} {:>10} {:>10}", "n", "exact", "auto", "precision");
        };
        header(&mut out, "field");
        let mut names: Vec<&str> = self.outcomes.iter().map(|o| o.field.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            line(&mut out, name, self.figures(|o| o.field == name));
        }
        out.push('\n');
        header(&mut out, "printed as");
        for style in ["typed", "boxes", "hand"] {
            line(&mut out, style, self.figures(|o| o.printed == style));
        }
        line(&mut out, "printed (typed + boxes)", self.figures(|o| o.printed != "hand"));
        out.push('\n');
        header(&mut out, "form");
        for form in ["opd", "ipd", "anc"] {
            line(&mut out, form, self.figures(|o| o.form == form));
        }
        line(&mut out, "ALL FIELDS", self.figures(|_| true));
        let _ = writeln!(out, "\nform detected correctly: {}/{} charts", self.forms.0, self.forms.1);
        let _ = writeln!(out, "\nthreshold   auto   precision");
        for t in [0.70, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96] {
            let f = self.at_threshold(t);
            let _ = writeln!(out, "  {t:.2}   {:>6.1}% {:>9.2}%", 100.0 * f.coverage(), 100.0 * f.precision());
        }
        if let Some((t, f)) = self.calibrate(0.995) {
            let _ = writeln!(out, "lowest threshold with >= 99.5% precision: {t:.2} ({:.1}% of fields auto-accepted)", 100.0 * f.coverage());
        }
        let wrong: Vec<&FieldOutcome> = self.outcomes.iter().filter(|o| o.auto_accepted && !o.correct()).collect();
        if !wrong.is_empty() {
            let _ = writeln!(out, "\nauto-accepted but wrong:");
            for o in wrong {
                let _ = writeln!(out, "  {} {}: got {:?}, expected {:?} (confidence {:.2})", o.file, o.field, o.got.as_deref().unwrap_or(""), o.expected, o.confidence);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::ExtractedField;

    fn field(value: Option<&str>, confidence: f32, needs_review: bool) -> ExtractedField {
        ExtractedField { value: value.map(Into::into), raw: String::new(), confidence, needs_review, page: 1, bbox: None, issue: None, evidence: Default::default() }
    }

    #[test]
    fn precision_coverage_and_calibration() {
        let mut e = Extraction { form: "opd".into(), fields: BTreeMap::new() };
        e.fields.insert("a".into(), field(Some("1"), 0.99, false));
        e.fields.insert("b".into(), field(Some("x"), 0.95, false));
        e.fields.insert("c".into(), field(Some("3"), 0.5, true));
        e.fields.insert("d".into(), field(None, 0.0, true));
        let truth: BTreeMap<String, String> = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut r = Report::default();
        r.add("f.png", &e, "opd", &truth, &BTreeMap::new());
        let all = r.figures(|_| true);
        assert_eq!((all.fields, all.correct, all.auto_accepted, all.auto_correct), (4, 2, 2, 1));
        assert_eq!((all.accuracy(), all.coverage(), all.precision()), (0.5, 0.5, 0.5));
        let (t, f) = r.calibrate(0.995).unwrap();
        assert_eq!((t, f.auto_accepted, f.precision()), (0.96, 1, 1.0));
        assert!(r.render().contains("auto-accepted but wrong:\n  f.png b: got \"x\", expected \"2\""));
        assert_eq!(r.forms, (1, 1));
    }
}
