//! Extraction quality against ground truth (`chartscan evaluate` and the benchmarks):
//! exact-match accuracy, and the share and precision of auto-accepted fields, over
//! docs/CONTRACT.md's first field table, its "Forms carry more" table and the cells of repeated
//! rows; per field, per layout style, per form and per half of a numbered set; a threshold
//! sweep and a reliability table (confidence against observed accuracy).
//!
//! Two truth formats are read: the samples' (`samples/truth/`: canonical strings, and how
//! each value was printed) and the independent corpus's (`forms-dev/truth/`: values as JSON
//! numbers, strings or rows, other accepted spellings, the layout's style). A value is right
//! by the rules of the corpus's `score.py`: numbers compared as numbers, codes, dates and
//! other exact fields compared without case, free text compared after folding case, spaces
//! and punctuation.

use crate::extract::Extraction;
use crate::field::FieldValue;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use unicode_normalization::UnicodeNormalization;

/// The fields of docs/CONTRACT.md's first table: every form's, then each form's own.
pub const CONTRACT_COMMON: [&str; 11] =
    ["patient_id", "name_khmer", "name_latin", "sex", "date_of_birth", "age", "village", "commune", "district", "province", "phone"];

/// Each form's own fields of docs/CONTRACT.md's first table.
pub fn contract_fields(form: &str) -> Vec<&'static str> {
    let own: &[&str] = match form {
        "opd" => &["visit_date", "chief_complaint", "diagnosis", "diagnosis_icd10", "treatment", "doctor"],
        "ipd" => &["admission_date", "discharge_date", "ward", "admission_diagnosis", "discharge_diagnosis", "outcome"],
        "anc" => &["gravida", "para", "lmp_date", "edd_date", "gestational_age_weeks", "blood_pressure", "weight_kg", "hemoglobin_g_dl", "visit_date"],
        _ => &[],
    };
    CONTRACT_COMMON.iter().chain(own).copied().collect()
}

/// The fields of docs/CONTRACT.md's "Forms carry more" table a form prints (those not in the
/// first table already).
pub fn extended_fields(form: &str) -> Vec<&'static str> {
    let own: &[&str] = match form {
        "opd" => &["temperature_c", "blood_pressure", "pulse_bpm", "weight_kg"],
        "ipd" => &["bed", "length_of_stay_days", "admission_diagnosis_icd10", "discharge_diagnosis_icd10", "treatment", "doctor", "referred_to"],
        "anc" => &["height_cm", "husband_name", "anc_visit_number", "fundal_height_cm", "fetal_heart_rate_bpm", "next_visit_date", "provider", "date_of_birth"],
        _ => &[],
    };
    let contract = contract_fields(form);
    std::iter::once("hospital").chain(own.iter().copied()).filter(|f| !contract.contains(f)).collect()
}

/// Repeated rows: the table field, its key column and its other columns.
pub const TABLES: [(&str, &str, &[&str]); 2] = [
    ("lab_results", "test", &["value", "unit"]),
    (
        "visits",
        "visit_number",
        &["date", "gestational_age_weeks", "weight_kg", "blood_pressure", "hemoglobin_g_dl", "fundal_height_cm", "fetal_heart_rate_bpm"],
    ),
];

const EXACT: [&str; 27] = [
    "admission_diagnosis_icd10",
    "discharge_diagnosis_icd10",
    "next_visit_date",
    "date",
    "pulse_bpm",
    "bed",
    "length_of_stay_days",
    "anc_visit_number",
    "fundal_height_cm",
    "fetal_heart_rate_bpm",
    "visit_number",
    "sex",
    "date_of_birth",
    "visit_date",
    "admission_date",
    "discharge_date",
    "lmp_date",
    "edd_date",
    "age",
    "gravida",
    "para",
    "gestational_age_weeks",
    "phone",
    "diagnosis_icd10",
    "blood_pressure",
    "outcome",
    "province",
];
const NUMERIC: [&str; 5] = ["weight_kg", "hemoglobin_g_dl", "temperature_c", "height_cm", "value"];

/// Free text as the corpus compares it: NFC, case folded, zero-width characters and a
/// doctor's title dropped, coeng DA as TA, punctuation as spaces, single spaces.
pub fn norm_text(s: &str) -> String {
    let lower: String = s.nfc().collect::<String>().to_lowercase();
    let no_zw: String = lower.chars().filter(|c| !matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}')).collect();
    let ta = no_zw.replace("\u{17d2}\u{178a}", "\u{17d2}\u{178f}");
    let mut words: Vec<&str> = ta.split_whitespace().collect();
    if words.first().is_some_and(|w| matches!(*w, "dr" | "dr." | "doctor" | "វេជ្ជបណ្ឌិត")) && words.len() > 1 {
        words.remove(0);
    }
    let joined = words.join(" ");
    let spaced: String =
        joined.chars().map(|c| if c.is_alphanumeric() || c == '_' || ('\u{1780}'..='\u{17ff}').contains(&c) || c == '/' { c } else { ' ' }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `got` is `want` for `field`, by the corpus's rules.
pub fn same(field: &str, got: &str, want: &str) -> bool {
    if NUMERIC.contains(&field) {
        match (got.trim().parse::<f64>(), want.trim().parse::<f64>()) {
            (Ok(a), Ok(b)) => return (a - b).abs() < 1e-6,
            (Err(_), Ok(_)) => return false,
            _ => {}
        }
    }
    if EXACT.contains(&field) {
        return got.trim().to_lowercase() == want.trim().to_lowercase();
    }
    norm_text(got) == norm_text(want)
}

/// A true value: text, or a table's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TruthValue {
    /// A canonical value.
    Text(String),
    /// Rows of a table: column to value (`None`: empty on the card).
    Rows(Vec<BTreeMap<String, Option<String>>>),
}

/// One chart's ground truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Truth {
    /// The scanned file's name.
    pub file: String,
    /// The true form.
    pub form: String,
    /// True values of the fields printed on it.
    pub fields: BTreeMap<String, TruthValue>,
    /// Other spellings that count as right.
    pub accept: BTreeMap<String, Vec<String>>,
    /// The layout's style (`layout = grid`, `label_format = stack`, ...).
    pub style: BTreeMap<String, String>,
    /// How each value was printed (`typed`, `hand`, `boxes`), where the truth says.
    pub printed_as: BTreeMap<String, String>,
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Truth {
    /// Reads a truth file's JSON (either format); `None` when it names no file.
    pub fn from_json(v: &serde_json::Value) -> Option<Truth> {
        let file = v["file"].as_str()?.to_string();
        let form = v["form"].as_str().unwrap_or("").to_string();
        let mut fields = BTreeMap::new();
        for (k, val) in v["fields"].as_object().into_iter().flatten() {
            let name = if k == "hb_g_dl" { "hemoglobin_g_dl".to_string() } else { k.clone() };
            match val {
                serde_json::Value::Array(rows) => {
                    let rows: Vec<BTreeMap<String, Option<String>>> =
                        rows.iter().filter_map(|r| r.as_object()).map(|r| r.iter().map(|(c, x)| (c.clone(), scalar(x))).collect()).collect();
                    if !rows.is_empty() {
                        fields.insert(name, TruthValue::Rows(rows));
                    }
                }
                other => {
                    if let Some(s) = scalar(other) {
                        fields.entry(name).or_insert(TruthValue::Text(s));
                    }
                }
            }
        }
        let accept =
            v["accept"].as_object().into_iter().flatten().map(|(k, a)| (k.clone(), a.as_array().into_iter().flatten().filter_map(scalar).collect())).collect();
        let mut style: BTreeMap<String, String> = v["style"].as_object().into_iter().flatten().filter_map(|(k, s)| scalar(s).map(|s| (k.clone(), s))).collect();
        // The samples' truth names its layout and label language at the top level.
        for key in ["layout", "labels"] {
            if let Some(s) = v[key].as_str() {
                style.entry(if key == "labels" { "label_format".into() } else { key.into() }).or_insert_with(|| s.to_string());
            }
        }
        let printed_as = v["printed"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, p)| p.as_str().filter(|p| matches!(*p, "typed" | "hand" | "boxes")).map(|p| (k.clone(), p.to_string())))
            .collect();
        Some(Truth { file, form, fields, accept, style, printed_as })
    }

    /// The chart's number in its set (`scan_0007.png` is 7), when its name has one.
    pub fn number(&self) -> Option<u32> {
        let digits: String = self.file.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }

    /// Whether `got` is a right value of the field `name`: the truth's value or one of its
    /// accepted spellings, by `score.py`'s rules. A value for a field the chart does not
    /// give is wrong.
    pub fn is_right(&self, name: &str, got: &str) -> bool {
        let Some(TruthValue::Text(want)) = self.fields.get(name) else { return false };
        same(name, got, want) || self.accept.get(name).is_some_and(|a| a.iter().any(|a| same(name, got, a)))
    }
}

/// Which of docs/CONTRACT.md's tables a compared value is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// The first table.
    Contract,
    /// "Forms carry more".
    Extended,
    /// A cell of repeated rows.
    Cell,
}

/// One field (or table cell) of one chart, compared with the truth.
#[derive(Debug, Clone, Serialize)]
pub struct FieldOutcome {
    /// The chart's file.
    pub file: String,
    /// Its number in the set, if any.
    pub number: Option<u32>,
    /// The true form.
    pub form: String,
    /// The field (`visits.date` for a cell).
    pub field: String,
    /// Which table of docs/CONTRACT.md.
    pub group: Group,
    /// How the value was printed, where the truth says (`typed`, `hand`, `boxes`).
    pub printed: String,
    /// The true value.
    pub expected: String,
    /// What extraction produced.
    pub got: Option<String>,
    /// The text it was read from.
    pub raw: String,
    /// Its confidence.
    pub confidence: f32,
    /// Whether extraction auto-accepted it.
    pub auto_accepted: bool,
    /// Whether it could skip review at all (valid, no issue): what a threshold acts on.
    pub eligible: bool,
    /// Whether it is right.
    pub correct: bool,
    /// The chart's layout style.
    #[serde(skip)]
    pub style: BTreeMap<String, String>,
}

/// Accuracy figures over a set of values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Values compared.
    pub fields: usize,
    /// Of which extracted right.
    pub correct: usize,
    /// Auto-accepted (no review needed).
    pub auto_accepted: usize,
    /// Auto-accepted and right.
    pub auto_correct: usize,
}

impl Figures {
    fn add(&mut self, o: &FieldOutcome, auto: bool) {
        self.fields += 1;
        self.correct += usize::from(o.correct);
        self.auto_accepted += usize::from(auto);
        self.auto_correct += usize::from(auto && o.correct);
    }

    /// Exact-match accuracy, 0..1.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.fields)
    }

    /// Precision of auto-accepted values, 0..1 (1 when none were).
    pub fn precision(&self) -> f64 {
        if self.auto_accepted == 0 {
            1.0
        } else {
            ratio(self.auto_correct, self.auto_accepted)
        }
    }

    /// Share of values auto-accepted, 0..1.
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
    /// Every compared value.
    pub outcomes: Vec<FieldOutcome>,
    /// Charts whose form was detected right, and charts compared.
    pub forms: (usize, usize),
    /// Report the odd (tuning) and even (held-aside) halves of a numbered set apart.
    pub halves: bool,
}

/// Which charts of a numbered set a figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// All of them.
    All,
    /// The odd-numbered charts (tuning).
    Odd,
    /// The even-numbered charts (held aside).
    Even,
}

impl Half {
    /// Whether a chart numbered `n` (or unnumbered) is in this half.
    pub fn holds(self, n: Option<u32>) -> bool {
        match (self, n) {
            (Half::All, _) => true,
            (_, None) => false,
            (Half::Odd, Some(n)) => n % 2 == 1,
            (Half::Even, Some(n)) => n % 2 == 0,
        }
    }
}

impl Report {
    /// The report as JSON (`chartscan evaluate --json`): per group (CONTRACT fields, "forms
    /// carry more", table cells) for all charts and each half of a numbered set, printed
    /// values apart, the threshold that keeps 99.5% on the held-aside half, the reliability
    /// table there, and every value compared.
    pub fn to_json(&self) -> serde_json::Value {
        let group = |g: Group, h: Half| {
            let f = self.figures(|o| o.group == g && h.holds(o.number));
            serde_json::json!({"fields": f.fields, "accuracy": f.accuracy(), "coverage": f.coverage(), "precision": f.precision()})
        };
        let halves: Vec<(&str, Half)> =
            if self.numbered() { vec![("all", Half::All), ("odd", Half::Odd), ("even", Half::Even)] } else { vec![("all", Half::All)] };
        let summary: serde_json::Map<String, serde_json::Value> = halves
            .iter()
            .map(|(name, h)| {
                (
                    name.to_string(),
                    serde_json::json!({"contract": group(Group::Contract, *h), "extended": group(Group::Extended, *h), "cells": group(Group::Cell, *h)}),
                )
            })
            .collect();
        let held = if self.numbered() { Half::Even } else { Half::All };
        let calibrated = self.calibrate(0.995, held).map(|(t, f)| serde_json::json!({"threshold": t, "coverage": f.coverage(), "precision": f.precision()}));
        let printed = self.figures(|o| o.printed != "hand" && o.group != Group::Cell);
        serde_json::json!({
            "charts": self.forms.1, "forms_correct": self.forms.0,
            "summary": summary,
            "printed": {"fields": printed.fields, "accuracy": printed.accuracy(), "coverage": printed.coverage(), "precision": printed.precision()},
            "calibrated_99_5": calibrated,
            "reliability": self.reliability(held).iter().map(|(lo, hi, n, right)| serde_json::json!({"from": lo, "to": hi, "n": n, "right": right})).collect::<Vec<_>>(),
            "outcomes": self.outcomes,
        })
    }
}

/// One chart's fresh extraction as a line of the export's JSON lines (`evaluate --export`),
/// for scoring it with the independent set's `score.py`.
pub fn export_line(truth: &Truth, extraction: &Extraction) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> =
        extraction.fields.iter().map(|(k, f)| (k.clone(), serde_json::to_value(f).expect("a field serialises"))).collect();
    serde_json::json!({"chart": truth.file, "status": "extracted", "form": extraction.form_name(), "sources": [{"file": truth.file, "page": 1}], "fields": fields})
}

/// The values one chart's extraction finds, each with its evidence and whether the truth
/// says it is right: what the confidence model is fitted on (`chartscan calibrate`).
pub fn examples(templates: &[crate::Template], truth: &Truth, pages: &[crate::PageWords]) -> Vec<crate::confidence::Example> {
    let extraction = crate::extract(templates, pages);
    let Some(template) = templates.iter().find(|t| Some(t.form.as_str()) == extraction.form.as_deref()) else { return Vec::new() };
    let mut out = Vec::new();
    for (name, f) in &extraction.fields {
        let (Some(spec), Some(got)) = (template.field(name), f.text()) else { continue };
        out.push(crate::confidence::Example {
            x: crate::confidence::features(&f.evidence, spec.kind),
            right: truth.is_right(name, got),
            eligible: !f.evidence.blocked,
            chart: truth.file.clone(),
            field: format!("{name} = {got:?}"),
        });
    }
    out
}

impl Report {
    /// Adds one chart: its extraction against its truth. Fields the truth does not give are
    /// not compared; for the samples' truth every field it gives counts as CONTRACT's.
    pub fn add(&mut self, truth: &Truth, extraction: &Extraction) {
        self.forms.1 += 1;
        self.forms.0 += usize::from(extraction.form_name() == truth.form);
        let mut names: Vec<(String, Group)> = contract_fields(&truth.form).into_iter().map(|f| (f.to_string(), Group::Contract)).collect();
        names.extend(extended_fields(&truth.form).into_iter().map(|f| (f.to_string(), Group::Extended)));
        for name in truth.fields.keys() {
            if !names.iter().any(|(n, _)| n == name) && !TABLES.iter().any(|(t, _, _)| t == name) {
                names.push((name.clone(), Group::Contract));
            }
        }
        let number = truth.number();
        for (name, group) in names {
            let Some(TruthValue::Text(want)) = truth.fields.get(&name) else { continue };
            let got_field = extraction.fields.get(&name);
            let got = got_field.and_then(|f| f.text()).map(str::to_string);
            let correct = got.as_deref().is_some_and(|g| truth.is_right(&name, g));
            self.outcomes.push(FieldOutcome {
                file: truth.file.clone(),
                number,
                form: truth.form.clone(),
                field: name.clone(),
                group,
                printed: truth.printed_as.get(&name).cloned().unwrap_or_else(|| "typed".into()),
                expected: want.clone(),
                got,
                raw: got_field.map(|f| f.raw.clone()).unwrap_or_default(),
                confidence: got_field.map_or(0.0, |f| f.confidence),
                auto_accepted: got_field.is_some_and(|f| !f.needs_review && f.value.is_some()),
                eligible: got_field.is_some_and(|f| !f.evidence.blocked && f.value.is_some()),
                correct,
                style: truth.style.clone(),
            });
        }
        for (table, key, columns) in TABLES {
            let Some(TruthValue::Rows(want_rows)) = truth.fields.get(table) else { continue };
            let got_field = extraction.fields.get(table);
            let got_rows: &[crate::Row] = got_field.and_then(|f| f.value.as_ref()).and_then(FieldValue::rows).unwrap_or(&[]);
            for row in want_rows {
                let want_key = row.get(key).cloned().flatten().unwrap_or_default();
                let matched = got_rows.iter().find(|g| g.get(key).cloned().flatten().is_some_and(|k| same(key, &k, &want_key)));
                for column in columns {
                    let Some(Some(want)) = row.get(*column) else { continue };
                    let got = matched.and_then(|m| m.get(*column).cloned().flatten());
                    self.outcomes.push(FieldOutcome {
                        file: truth.file.clone(),
                        number,
                        form: truth.form.clone(),
                        field: format!("{table}.{column}"),
                        group: Group::Cell,
                        printed: "typed".into(),
                        expected: want.clone(),
                        correct: got.as_deref().is_some_and(|g| same(column, g, want)),
                        got,
                        raw: String::new(),
                        confidence: got_field.map_or(0.0, |f| f.confidence),
                        auto_accepted: got_field.is_some_and(|f| !f.needs_review),
                        eligible: got_field.is_some_and(|f| !f.evidence.blocked),
                        style: truth.style.clone(),
                    });
                }
            }
        }
    }

    /// Figures over the values `keep` selects, as extraction auto-accepted them.
    pub fn figures(&self, keep: impl Fn(&FieldOutcome) -> bool) -> Figures {
        let mut f = Figures::default();
        for o in self.outcomes.iter().filter(|o| keep(o)) {
            f.add(o, o.auto_accepted);
        }
        f
    }

    /// Figures over the fields (not cells) of `half` if the auto-accept threshold were
    /// `threshold` (a value is accepted when it may skip review and is that confident).
    pub fn at_threshold(&self, threshold: f32, half: Half) -> Figures {
        let mut f = Figures::default();
        for o in self.outcomes.iter().filter(|o| o.group != Group::Cell && half.holds(o.number)) {
            f.add(o, o.eligible && o.confidence >= threshold);
        }
        f
    }

    /// The lowest threshold (in steps of 0.01) whose auto-accepted precision reaches `target`.
    pub fn calibrate(&self, target: f64, half: Half) -> Option<(f32, Figures)> {
        (50..=100).map(|t| t as f32 / 100.0).map(|t| (t, self.at_threshold(t, half))).find(|(_, f)| f.precision() >= target && f.auto_accepted > 0)
    }

    /// Whether the halves of a numbered set are reported apart.
    pub fn numbered(&self) -> bool {
        self.halves && !self.outcomes.is_empty() && self.outcomes.iter().all(|o| o.number.is_some())
    }

    /// Reliability: for confidence bins, how many values and how many of them right.
    pub fn reliability(&self, half: Half) -> Vec<(f32, f32, usize, usize)> {
        let edges = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.01];
        edges
            .windows(2)
            .map(|w| {
                let inside: Vec<&FieldOutcome> = self
                    .outcomes
                    .iter()
                    .filter(|o| o.group != Group::Cell && half.holds(o.number) && o.got.is_some() && o.confidence >= w[0] && o.confidence < w[1])
                    .collect();
                (w[0], w[1].min(1.0), inside.len(), inside.iter().filter(|o| o.correct).count())
            })
            .collect()
    }

    /// The report as text tables (see the module documentation).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, f: Figures| {
            let _ = writeln!(out, "{name:<36} {:>5} {:>7.1}% {:>9.1}% {:>9.1}%", f.fields, 100.0 * f.accuracy(), 100.0 * f.coverage(), 100.0 * f.precision());
        };
        let header = |out: &mut String, title: &str| {
            let _ = writeln!(out, "{title:<36} {:>5} {:>8} {:>10} {:>10}", "n", "exact", "auto", "precision");
        };
        let halves: Vec<(&str, Half)> =
            if self.numbered() { vec![("all", Half::All), ("odd (tuning)", Half::Odd), ("even (held aside)", Half::Even)] } else { vec![("all", Half::All)] };

        let _ = writeln!(out, "== summary");
        header(&mut out, "charts / group");
        for (label, half) in &halves {
            for (group_label, group) in [("CONTRACT fields", Group::Contract), ("forms carry more", Group::Extended), ("table cells", Group::Cell)] {
                let f = self.figures(|o| o.group == group && half.holds(o.number));
                if f.fields > 0 {
                    line(&mut out, &format!("{label}: {group_label}"), f);
                }
            }
        }
        let _ = writeln!(out, "form detected correctly: {}/{} charts", self.forms.0, self.forms.1);

        let _ = writeln!(out, "\n== per field (all charts)");
        header(&mut out, "field");
        let mut names: Vec<(Group, &str)> = self.outcomes.iter().map(|o| (o.group, o.field.as_str())).collect();
        names.sort_by_key(|(g, n)| (*g as u8, n.to_string()));
        names.dedup();
        for (group, name) in names {
            let tag = match group {
                Group::Contract => "",
                Group::Extended => " (+)",
                Group::Cell => " (cell)",
            };
            line(&mut out, &format!("{name}{tag}"), self.figures(|o| o.field == name));
        }

        let mut keys: Vec<&str> = self.outcomes.iter().flat_map(|o| o.style.keys().map(String::as_str)).collect();
        keys.sort_unstable();
        keys.dedup();
        let wanted = ["layout", "label_format", "address_mode", "value_kind", "digits", "date_format", "sex_style"];
        let keys: Vec<&str> = keys.into_iter().filter(|k| wanted.contains(k)).collect();
        if !keys.is_empty() {
            let _ = writeln!(out, "\n== per style (CONTRACT and carry-more fields, all charts)");
            header(&mut out, "style");
            for key in keys {
                let mut values: Vec<&str> = self.outcomes.iter().filter_map(|o| o.style.get(key).map(String::as_str)).collect();
                values.sort_unstable();
                values.dedup();
                for value in values {
                    line(
                        &mut out,
                        &format!("{key} = {value}"),
                        self.figures(|o| o.group != Group::Cell && o.style.get(key).map(String::as_str) == Some(value)),
                    );
                }
            }
        }
        if self.outcomes.iter().any(|o| o.printed != "typed") {
            let _ = writeln!(out, "\n== printed as");
            header(&mut out, "printed as");
            for style in ["typed", "boxes", "hand"] {
                line(&mut out, style, self.figures(|o| o.printed == style));
            }
            line(&mut out, "printed (typed + boxes)", self.figures(|o| o.printed != "hand"));
        }
        let _ = writeln!(out, "\n== per form");
        header(&mut out, "form");
        for form in ["opd", "ipd", "anc"] {
            line(&mut out, form, self.figures(|o| o.form == form && o.group != Group::Cell));
        }
        line(&mut out, "ALL FIELDS", self.figures(|o| o.group != Group::Cell));

        let held = if self.numbered() { Half::Even } else { Half::All };
        let held_name = if self.numbered() { "even half, held aside" } else { "all charts" };
        let _ = writeln!(out, "\n== threshold sweep ({held_name})\nthreshold   auto   precision");
        for t in [0.50, 0.70, 0.80, 0.85, 0.90, 0.92, 0.94, 0.96, 0.98] {
            let f = self.at_threshold(t, held);
            let _ = writeln!(out, "  {t:.2}   {:>6.1}% {:>9.2}%", 100.0 * f.coverage(), 100.0 * f.precision());
        }
        if let Some((t, f)) = self.calibrate(0.995, held) {
            let _ = writeln!(out, "lowest threshold with >= 99.5% precision: {t:.2} ({:.1}% of fields auto-accepted)", 100.0 * f.coverage());
        }
        let _ = writeln!(out, "\n== reliability ({held_name}): confidence against how often it is right\nconfidence      n   right");
        for (lo, hi, n, right) in self.reliability(held) {
            if n > 0 {
                let _ = writeln!(out, "  {lo:.2}-{hi:.2} {n:>6} {:>6.1}%", 100.0 * right as f64 / n as f64);
            }
        }
        let wrong: Vec<&FieldOutcome> = self.outcomes.iter().filter(|o| o.auto_accepted && !o.correct).collect();
        if !wrong.is_empty() {
            let _ = writeln!(out, "\nauto-accepted but wrong:");
            for o in wrong {
                let _ = writeln!(
                    out,
                    "  {} {}: got {:?}, expected {:?} (confidence {:.2})",
                    o.file,
                    o.field,
                    o.got.as_deref().unwrap_or(""),
                    o.expected,
                    o.confidence
                );
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
        ExtractedField {
            value: value.map(Into::into),
            raw: String::new(),
            confidence,
            needs_review,
            page: 1,
            bbox: None,
            issue: None,
            evidence: crate::Evidence { blocked: value.is_none(), ..Default::default() },
        }
    }

    #[test]
    fn values_compare_by_the_corpus_rules() {
        assert!(same("weight_kg", "61.20", "61.2"));
        assert!(!same("weight_kg", "61", "61.2"));
        assert!(same("sex", "f", "F"));
        assert!(same("doctor", "Dr. Kong Vibol", "KONG VIBOL"));
        assert!(same("chief_complaint", "Cough fever at night", "Cough, fever at night"));
        assert!(same("village", "កណ្ដាល", "កណ្តាល"), "coeng DA is TA");
        assert!(!same("age", "32 ", "33"));
        assert!(same("value", "Negative", "Negative"));
    }

    #[test]
    fn both_truth_formats_are_read_and_scored_with_cells_groups_and_halves() {
        let corpus = serde_json::json!({
            "file": "scan_0002.png", "form": "anc",
            "fields": {"age": 32, "village": "Daun Ov", "hospital": "Riverbank Clinic", "phone": null,
                       "visits": [{"visit_number": 1, "date": "2023-03-09", "weight_kg": 61.2, "fundal_height_cm": null}]},
            "accept": {"village": ["ដូនឪ"]},
            "style": {"layout": "grid", "label_format": "stack"}
        });
        let t = Truth::from_json(&corpus).unwrap();
        assert_eq!((t.number(), t.style["label_format"].as_str()), (Some(2), "stack"));
        let mut e = Extraction { form: Some("anc".into()), variant: None, fields: BTreeMap::new() };
        e.fields.insert("age".into(), field(Some("32"), 0.99, false));
        e.fields.insert("village".into(), field(Some("ដូនឪ"), 0.95, false));
        e.fields.insert("hospital".into(), field(Some("Riverbank Clinik"), 0.95, false));
        let mut row = crate::Row::new();
        row.insert("visit_number".into(), Some("1".into()));
        row.insert("date".into(), Some("2023-03-09".into()));
        row.insert("weight_kg".into(), Some("61.7".into()));
        e.fields.insert("visits".into(), ExtractedField { value: Some(FieldValue::Rows(vec![row])), ..field(None, 0.9, true) });
        let mut r = Report { halves: true, ..Default::default() };
        r.add(&t, &e);
        let contract = r.figures(|o| o.group == Group::Contract);
        assert_eq!((contract.fields, contract.correct, contract.auto_accepted), (2, 2, 2), "age and the village in its accepted Khmer spelling");
        let extended = r.figures(|o| o.group == Group::Extended);
        assert_eq!((extended.fields, extended.correct, extended.auto_accepted, extended.auto_correct), (1, 0, 1, 0));
        let cells = r.figures(|o| o.group == Group::Cell);
        assert_eq!((cells.fields, cells.correct), (2, 1), "date right, weight wrong, the empty cell not counted");
        assert!(r.figures(|o| Half::Odd.holds(o.number)).fields == 0 && r.figures(|o| Half::Even.holds(o.number)).fields == 5);
        let text = r.render();
        for needle in [
            "even (held aside): CONTRACT fields",
            "label_format = stack",
            "visits.weight_kg (cell)",
            "auto-accepted but wrong:\n  scan_0002.png hospital",
            "== reliability",
        ] {
            assert!(text.contains(needle), "{needle} not in\n{text}");
        }

        let samples = serde_json::json!({"file": "opd-0001.jpg", "form": "opd", "fields": {"sex": "F"}, "printed": {"sex": "boxes"}, "layout": "table"});
        let t = Truth::from_json(&samples).unwrap();
        assert_eq!((t.printed_as["sex"].as_str(), t.style["layout"].as_str(), t.number()), ("boxes", "table", Some(1)));
    }

    #[test]
    fn calibration_finds_the_lowest_threshold_that_is_precise_enough() {
        let t = Truth {
            file: "a.png".into(),
            form: "opd".into(),
            fields: [("age", "1"), ("sex", "F"), ("phone", "012345678")].iter().map(|(k, v)| (k.to_string(), TruthValue::Text(v.to_string()))).collect(),
            ..Default::default()
        };
        let mut e = Extraction { form: Some("opd".into()), variant: None, fields: BTreeMap::new() };
        e.fields.insert("age".into(), field(Some("1"), 0.99, false));
        e.fields.insert("sex".into(), field(Some("M"), 0.95, false));
        e.fields.insert("phone".into(), field(Some("012345678"), 0.5, true));
        let mut r = Report::default();
        r.add(&t, &e);
        let (threshold, f) = r.calibrate(0.995, Half::All).unwrap();
        assert_eq!((threshold, f.auto_accepted, f.precision()), (0.96, 1, 1.0));
    }
}
