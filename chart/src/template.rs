//! Form templates: which fields a form has and how to find them.
//!
//! A template is a TOML file (documented with an example in the README and in
//! `samples/templates/opd.toml`):
//!
//! ```toml
//! form = "opd"                       # short name, lower case
//! name = "Outpatient consultation card"
//! titles = ["OUTPATIENT CONSULTATION CARD", "ប័ណ្ណពិគ្រោះជំងឺក្រៅ"]
//! # auto_accept = 0.95               # optional: overrides the calibrated threshold
//!
//! [[fields]]
//! name = "date_of_birth"
//! type = "date"                      # see FieldType
//! labels = ["ថ្ងៃខែឆ្នាំកំណើត", "Date of birth", "DOB"]
//! required = true                    # missing => reviewer is told
//! min = 0                            # integer/decimal bounds (optional)
//! max = 120
//! ```

use crate::normalize::FieldType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// How to find and type one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name in the export (`visit_date`).
    pub name: String,
    /// Its type, which decides normalisation and validation.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The printed labels that introduce it, in Khmer and/or English.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Whether a chart without it should be flagged.
    #[serde(default)]
    pub required: bool,
    /// Smallest plausible value of a number.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest plausible value of a number.
    #[serde(default)]
    pub max: Option<f64>,
    /// The most decimal places a number is written with (a weight to 0.1 kg: 1). A reading
    /// out of range whose decimal point was lost (`568` for 56.8) gets it back only at a
    /// place this allows; unset, one or two places are tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    /// Where the value is printed, as fractions of the page `[left, top, width, height]`;
    /// used when no label is found (forms with unlabelled boxes).
    #[serde(default)]
    pub zone: Option<[f32; 4]>,
    /// For a row of check boxes: the canonical value of each box in printed order, used
    /// when the ticked option's text cannot be read (`["M", "F"]`).
    #[serde(default)]
    pub options: Vec<String>,
    /// A vocabulary of the values a field takes (the wards of a hospital): a printed name in
    /// either script, or a reading close to one, becomes the term's canonical value; any
    /// other text stays as printed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<Term>,
    /// A dictionary whose words put right the engine's slips in a free-text value
    /// (`"icd10"`: the words of the WHO ICD-10 titles, for diagnoses). Only what extraction
    /// reads is corrected, never what a reviewer types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spelling: Option<String>,
    /// The value the form itself implies (an antenatal card's patient is a woman: `F`): it
    /// fills the field when nothing valid was read, and a reading that says otherwise goes
    /// to a reviewer. Either way the field is reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied: Option<String>,
    /// Double keying: after a reviewer approves, a second reviewer types this field blind;
    /// when the two disagree a senior reviewer decides (for patient IDs, dates of birth).
    #[serde(default)]
    pub double_key: bool,
    /// For a `table`: its columns, each with a name, a type and the labels of its header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<FieldSpec>,
    /// For a table's column: it identifies a row (visit number, test name); a row without
    /// it is not a row.
    #[serde(default)]
    pub key: bool,
    /// For a `table`: scalar fields that take their value from a column of the last row
    /// (`visit_date = "date"`: the latest visit's date is the chart's visit date).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latest: BTreeMap<String, String>,
    /// For an `address`: the fields its parts fill, from the smallest place to the largest
    /// (`["village", "commune", "district", "province"]`), when they have no label of their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<String>,
    /// When several fields share a label (`ICD-10` beside the admission and the discharge
    /// diagnosis), the field whose label this one's is printed next to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<String>,
    /// A field printed in the page's heading rather than after a label (the facility's
    /// name): words that the heading line holds (`Hospital`, `មន្ទីរពេទ្យ`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heading: Vec<String>,
    /// Read the value from its `zone` first, on the page registered to the template's example
    /// (see [`Template::anchors`]); the label is looked for only when the zone is empty.
    /// Set by the template studio, where the author showed where the value is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub zone_first: bool,
    /// The page its `zone` is on (from 1), for a form of several pages taught in the studio:
    /// the zone is read on that page only. Unset: the first page with words in the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// One term of a field's vocabulary: its canonical value and the names it is printed as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// The canonical value (`Emergency`).
    pub value: String,
    /// The names it is printed as, in Khmer and English (`ផ្នែកសង្គ្រោះបន្ទាន់`, `Emergency ward`).
    pub names: Vec<String>,
}

/// A form template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Short form name (`opd`, `ipd`, `anc`).
    pub form: String,
    /// Human name of the form.
    pub name: String,
    /// Printed titles that identify the form.
    #[serde(default)]
    pub titles: Vec<String>,
    /// Confidence at or above which a valid field is auto-accepted; by default the
    /// calibrated model's threshold (see [`crate::confidence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<f32>,
    /// The fields.
    pub fields: Vec<FieldSpec>,
    /// A facility's own variant of the form: tried first on that facility's charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// The size of the example page the template was taught on, `[width, height]` in pixels:
    /// with anchors, zones are places on that page, aligned to each new scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<[f32; 2]>,
    /// Printed phrases of the example page and where they were (see [`crate::register`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchors: Vec<crate::register::Anchor>,
}

/// Why a template is not usable: every problem found, each a sentence naming its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The problems, in the template's order.
    pub problems: Vec<String>,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problems.join("; "))
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parses and checks a template from its TOML text.
    pub fn parse(toml_text: &str) -> Result<Template, TemplateError> {
        let t: Template = toml::from_str(toml_text).map_err(|e| TemplateError { problems: vec![e.to_string().trim_end().to_string()] })?;
        t.check()?;
        Ok(t)
    }

    /// Checks the rules a template must follow, all at once.
    pub fn check(&self) -> Result<(), TemplateError> {
        let mut problems = Vec::new();
        if self.form.is_empty() || !self.form.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            problems.push(format!("form {:?}: use lower-case letters, digits and _", self.form));
        }
        if let Some(a) = self.auto_accept.filter(|a| !(0.0..=1.0).contains(a)) {
            problems.push(format!("auto_accept {a} must be between 0 and 1"));
        }
        if self.fields.is_empty() {
            problems.push("a template needs at least one [[fields]] entry".into());
        }
        let mut seen = HashSet::new();
        // Fields given by a table's last row need no place of their own.
        let from_tables: HashSet<&str> = self.fields.iter().flat_map(|t| t.latest.keys().map(String::as_str)).collect();
        for f in &self.fields {
            if !seen.insert(f.name.as_str()) {
                problems.push(format!("field {:?} is defined twice", f.name));
            }
            if f.name.is_empty() || !f.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                problems.push(format!("field {:?}: use lower-case letters, digits and _", f.name));
            }
            if f.labels.iter().all(|l| crate::text::label_key(l).is_empty())
                && f.zone.is_none()
                && f.heading.is_empty()
                && f.kind != FieldType::Table
                && !from_tables.contains(f.name.as_str())
            {
                problems.push(format!("field {:?} needs at least one label with letters (or a zone, or heading words)", f.name));
            }
            if f.kind == FieldType::Table {
                if f.columns.is_empty() {
                    problems.push(format!("field {:?}: a table needs [[fields.columns]]", f.name));
                }
                if !f.columns.iter().any(|c| c.key) {
                    problems.push(format!("field {:?}: one column must be the key (key = true) that identifies a row", f.name));
                }
                for c in &f.columns {
                    if matches!(c.kind, FieldType::Table | FieldType::Address) {
                        problems.push(format!("field {:?}: column {:?} cannot be a {:?}", f.name, c.name, c.kind));
                    }
                    if c.labels.iter().all(|l| crate::text::label_key(l).is_empty()) {
                        problems.push(format!("field {:?}: column {:?} needs a header label", f.name, c.name));
                    }
                }
                for (scalar, column) in &f.latest {
                    if !f.columns.iter().any(|c| &c.name == column) {
                        problems.push(format!("field {:?}: latest {scalar:?} names no column {column:?}", f.name));
                    }
                    if !self.fields.iter().any(|g| &g.name == scalar) {
                        problems.push(format!("field {:?}: latest names {scalar:?}, which is not a field of the form", f.name));
                    }
                }
            } else if !f.columns.is_empty() || !f.latest.is_empty() {
                problems.push(format!("field {:?}: columns and latest are for tables (type = \"table\")", f.name));
            }
            if let Some(near) = &f.near {
                if !self.fields.iter().any(|g| &g.name == near) || near == &f.name {
                    problems.push(format!("field {:?}: near {near:?} is not another field of the form", f.name));
                }
            }
            if f.kind == FieldType::Address {
                if f.parts.is_empty() {
                    problems.push(format!("field {:?}: an address needs parts (the fields it fills, smallest place first)", f.name));
                }
                for part in &f.parts {
                    if !self.fields.iter().any(|g| &g.name == part) {
                        problems.push(format!("field {:?}: part {part:?} is not a field of the form", f.name));
                    }
                }
            } else if !f.parts.is_empty() {
                problems.push(format!("field {:?}: parts are for addresses (type = \"address\")", f.name));
            }
            for l in &f.labels {
                if crate::text::label_key(l).chars().count() == 1 {
                    problems.push(format!("field {:?}: label {l:?} is one letter, which OCR noise matches everywhere; print a longer label", f.name));
                }
            }
            if f.spelling.as_deref().is_some_and(|d| d != "icd10") {
                problems.push(format!(
                    "field {:?}: spelling {:?} is not a dictionary chartscan has (icd10)",
                    f.name,
                    f.spelling.as_deref().unwrap_or_default()
                ));
            }
            if let Some(v) = &f.implied {
                if f.kind.canonicalize(v).as_deref() != Ok(v.as_str()) {
                    problems.push(format!("field {:?}: implied value {v:?} is not a canonical {:?} value", f.name, f.kind));
                }
            }
            for t in &f.terms {
                if f.kind.canonicalize(&t.value).as_deref() != Ok(t.value.as_str()) {
                    problems.push(format!("field {:?}: term {:?} is not a canonical {:?} value", f.name, t.value, f.kind));
                }
                for n in &t.names {
                    if crate::text::label_key(n).chars().count() < TERM_MIN_CHARS {
                        problems.push(format!("field {:?}: the name {n:?} of term {:?} is too short to tell from OCR noise", f.name, t.value));
                    }
                }
            }
            for o in &f.options {
                if f.kind.canonicalize(o).as_deref() != Ok(o.as_str()) {
                    problems.push(format!("field {:?}: option {o:?} is not a canonical {:?} value", f.name, f.kind));
                }
            }
            if let Some([x, y, w, h]) = f.zone {
                if !(0.0..1.0).contains(&x) || !(0.0..1.0).contains(&y) || w <= 0.0 || h <= 0.0 || x + w > 1.0001 || y + h > 1.0001 {
                    problems.push(format!(
                        "field {:?}: zone [{x}, {y}, {w}, {h}] must lie within the page, as fractions [left, top, width, height] in 0..1",
                        f.name
                    ));
                }
            }
            if let (Some(lo), Some(hi)) = (f.min, f.max) {
                if lo > hi {
                    problems.push(format!("field {:?}: min {lo} is above max {hi}", f.name));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TemplateError { problems })
        }
    }

    /// The spec of a field by name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl FieldSpec {
    /// Canonicalises a value for this field, with the field's range checks.
    pub fn canonicalize(&self, raw: &str) -> Result<String, crate::ValueError> {
        let value = self.kind.canonicalize(raw)?;
        if let Some(term) = self.term(&value) {
            return Ok(term.value.clone());
        }
        if matches!(self.kind, FieldType::Integer | FieldType::Decimal) {
            let n: f64 = value.parse().map_err(|_| crate::ValueError(format!("{value:?} is not a number")))?;
            if self.min.is_some_and(|lo| n < lo) || self.max.is_some_and(|hi| n > hi) {
                return Err(crate::ValueError(format!(
                    "{value} is outside {}..{}",
                    self.min.map_or("".into(), |v| v.to_string()),
                    self.max.map_or("".into(), |v| v.to_string())
                )));
            }
        }
        Ok(value)
    }
}

/// The fewest letters a term's name has: shorter ones match noise.
const TERM_MIN_CHARS: usize = 3;

/// How close a reading must be to a term's name (1 minus edit distance over length), in
/// Latin and in Khmer script (whose vowel signs and subscripts OCR confuses more often).
const TERM_SIMILARITY: (f32, f32) = (0.8, 0.7);

impl FieldSpec {
    /// The value with the engine's slips put right by the field's `spelling` dictionary,
    /// and the words corrected (`Faltciparum malaria` → `Falciparum malaria`); `None` when
    /// there is no dictionary or nothing to correct.
    pub fn correct_spelling(&self, value: &str) -> Option<(String, Vec<(String, String)>)> {
        if self.spelling.as_deref() != Some("icd10") {
            return None;
        }
        let mut changed = Vec::new();
        let words: Vec<String> = value
            .split(' ')
            .map(|w| {
                let core = w.trim_matches(|c: char| !c.is_alphanumeric());
                let Some(right) = crate::reference::icd10::correct_word(core) else { return w.to_string() };
                let cased: String = if core.chars().all(|c| c.is_ascii_uppercase()) {
                    right.to_ascii_uppercase()
                } else if core.starts_with(|c: char| c.is_ascii_uppercase()) {
                    right[..1].to_ascii_uppercase() + &right[1..]
                } else {
                    right.to_string()
                };
                changed.push((core.to_string(), cased.clone()));
                w.replacen(core, &cased, 1)
            })
            .collect();
        (!changed.is_empty()).then(|| (words.join(" "), changed))
    }

    /// The term of the field's vocabulary a text names: the whole text, one of its parts
    /// (`ផ្នែកកុមារ / Paediatrics`) or a run of up to three of its words (a speck before the
    /// name) is, or reads close to, one of the term's names. `None` when no term is close
    /// enough or two terms are equally close.
    pub fn term(&self, text: &str) -> Option<&Term> {
        if self.terms.is_empty() {
            return None;
        }
        let mut spans: Vec<String> = vec![text.to_string()];
        spans.extend(text.split(['/', '(', ')', ',', ';']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_string));
        let words: Vec<&str> = text.split_whitespace().collect();
        for n in 1..=3.min(words.len()) {
            spans.extend(words.windows(n).map(|w| w.join(" ")));
        }
        let mut best: Option<(f32, &Term)> = None;
        let mut tied = false;
        for span in spans {
            let key = crate::text::label_key(&span);
            if key.chars().count() < TERM_MIN_CHARS {
                continue;
            }
            for term in &self.terms {
                let sim = term
                    .names
                    .iter()
                    .chain(std::iter::once(&term.value))
                    .map(|n| crate::text::similarity(&key, &crate::text::label_key(n)))
                    .fold(0.0, f32::max);
                match best {
                    Some((b, t)) if sim == b && t.value != term.value => tied = true,
                    Some((b, _)) if sim <= b => {}
                    _ => {
                        best = Some((sim, term));
                        tied = false;
                    }
                }
            }
        }
        let needed = if crate::khmer::is_mostly_khmer(text) { TERM_SIMILARITY.1 } else { TERM_SIMILARITY.0 };
        best.filter(|(sim, _)| *sim >= needed && !tied).map(|(_, t)| t)
    }
}

impl FieldSpec {
    /// Canonicalises a value a reviewer gave: text by the field's type, a table's rows cell
    /// by cell by their columns' types (an empty cell is `null`; every row needs its key).
    pub fn canonicalize_value(&self, value: &crate::FieldValue) -> Result<crate::FieldValue, crate::ValueError> {
        use crate::FieldValue;
        match (value, self.kind) {
            (FieldValue::Text(t), FieldType::Table) if t.trim().is_empty() => Ok(FieldValue::Rows(Vec::new())),
            (FieldValue::Text(_), FieldType::Table) => Err(crate::ValueError("a table's value is a list of rows".into())),
            (FieldValue::Text(t), _) => self.canonicalize(t).map(FieldValue::Text),
            (FieldValue::Rows(_), kind) if kind != FieldType::Table => Err(crate::ValueError(format!("{} is not a table", self.name))),
            (FieldValue::Rows(rows), _) => {
                let mut out = Vec::with_capacity(rows.len());
                for (n, row) in rows.iter().enumerate() {
                    let mut canonical = crate::Row::new();
                    for (name, cell) in row {
                        let Some(column) = self.columns.iter().find(|c| &c.name == name) else {
                            return Err(crate::ValueError(format!("row {}: {name:?} is not a column of {}", n + 1, self.name)));
                        };
                        let cell = cell.as_deref().map(str::trim).filter(|c| !c.is_empty());
                        let value =
                            cell.map(|c| column.canonicalize(c)).transpose().map_err(|e| crate::ValueError(format!("row {}, {name}: {}", n + 1, e.0)))?;
                        canonical.insert(name.clone(), value);
                    }
                    for column in &self.columns {
                        canonical.entry(column.name.clone()).or_insert(None);
                        if column.key && canonical[&column.name].is_none() {
                            return Err(crate::ValueError(format!("row {}: {} is required", n + 1, column.name)));
                        }
                    }
                    out.push(canonical);
                }
                Ok(FieldValue::Rows(out))
            }
        }
    }
}

/// The standard templates bundled with chartscan (compiled in; no file is read).
pub fn standard_templates() -> Vec<Template> {
    [include_str!("../../samples/templates/opd.toml"), include_str!("../../samples/templates/ipd.toml"), include_str!("../../samples/templates/anc.toml")]
        .iter()
        .map(|text| Template::parse(text).expect("bundled templates are valid (checked by tests)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_templates_parse() {
        let forms: Vec<String> = standard_templates().into_iter().map(|t| t.form).collect();
        assert_eq!(forms, ["opd", "ipd", "anc"]);
    }

    #[test]
    fn every_contract_field_is_in_its_forms() {
        let common = ["patient_id", "name_khmer", "name_latin", "sex", "age", "date_of_birth", "village", "commune", "district", "province", "phone"];
        let by_form: [(&str, &[&str]); 3] = [
            ("opd", &["visit_date", "chief_complaint", "diagnosis", "diagnosis_icd10", "treatment", "doctor"]),
            ("ipd", &["admission_date", "discharge_date", "ward", "admission_diagnosis", "discharge_diagnosis", "outcome"]),
            ("anc", &["visit_date", "lmp_date", "edd_date", "gravida", "para", "gestational_age_weeks", "blood_pressure", "weight_kg", "hemoglobin_g_dl"]),
        ];
        let all = standard_templates();
        for (form, own) in by_form {
            let t = all.iter().find(|t| t.form == form).unwrap();
            for name in common.iter().chain(own.iter()) {
                assert!(t.field(name).is_some(), "{form} lacks {name}");
            }
        }
    }

    #[test]
    fn errors_are_collected_and_clear() {
        let err = Template::parse(
            r#"form = "Bad Form"
name = "x"
auto_accept = 2.0
[[fields]]
name = "a"
type = "date"
labels = [":"]
[[fields]]
name = "a"
type = "integer"
labels = ["A", "P"]
min = 5
max = 1
zone = [0.5, 0.5, 0.6, 0.1]
options = ["1", "x"]
"#,
        )
        .unwrap_err()
        .problems;
        assert_eq!(err.len(), 9, "each problem is one entry (two one-letter labels): {err:?}");
        for needle in [
            "form \"Bad Form\"",
            "auto_accept",
            "defined twice",
            "needs at least one label",
            "min 5 is above max 1",
            "one letter",
            "must lie within the page",
            "option \"x\" is not a canonical",
        ] {
            assert!(err.iter().any(|p| p.contains(needle)), "{needle} not in {err:?}");
        }
        let unknown_type = Template::parse("form='x'\nname='x'\n[[fields]]\nname='a'\ntype='colour'\nlabels=['A']").unwrap_err().to_string();
        assert!(unknown_type.contains("colour"), "{unknown_type}");
    }

    #[test]
    fn a_vocabulary_gives_the_canonical_name_of_a_ward_read_in_either_script_or_close_to_one() {
        let ipd = standard_templates().into_iter().find(|t| t.form == "ipd").unwrap();
        let ward = ipd.field("ward").unwrap();
        for (printed, canonical) in [
            ("ផ្នែកវះកាត់", "Surgery"),
            ("ផ្នេកវះកាត", "Surgery"), // vowel sign and final mark misread
            ("ផ្នែកកុមារ / Paediatrics", "Paediatrics"),
            ("កី Maternity", "Maternity"), // a speck before the name
            ("Surgicel", "Surgery"),
            ("Medicine", "Medicine"), // no term is close: kept as printed
            ("Burns unit", "Burns unit"),
        ] {
            assert_eq!(ward.canonicalize(printed).as_deref(), Ok(canonical), "{printed}");
        }
        // Two terms equally close: neither is chosen.
        let spec: FieldSpec = toml::from_str(
            r#"name = "w"
type = "text"
terms = [{ value = "Ward A", names = ["Ward A"] }, { value = "Ward B", names = ["Ward B"] }]"#,
        )
        .unwrap();
        assert_eq!(spec.canonicalize("Ward C").as_deref(), Ok("Ward C"));
        assert_eq!(spec.canonicalize("Wart B").as_deref(), Ok("Ward B"));
        assert_eq!(spec.canonicalize("Ward 8").as_deref(), Ok("Ward 8"), "as close to A as to B");
        let err = Template::parse(
            r#"form = "x"
name = "x"
[[fields]]
name = "ward"
type = "text"
labels = ["Ward"]
terms = [{ value = "ER", names = ["ER", "Emergency"] }]
[[fields]]
name = "n"
type = "integer"
labels = ["Number"]
terms = [{ value = "one", names = ["one"] }]"#,
        )
        .unwrap_err()
        .problems;
        assert!(err.iter().any(|p| p.contains("\"ER\" of term \"ER\" is too short")), "{err:?}");
        assert!(err.iter().any(|p| p.contains("term \"one\" is not a canonical")), "{err:?}");
        let implied = Template::parse("form='x'\nname='x'\n[[fields]]\nname='s'\ntype='sex'\nlabels=['Sex']\nimplied='woman'").unwrap_err().to_string();
        assert!(implied.contains("implied value \"woman\" is not a canonical"), "{implied}");
        let bad = Template::parse("form='x'\nname='x'\n[[fields]]\nname='d'\ntype='text'\nlabels=['Diagnosis']\nspelling='snomed'").unwrap_err().to_string();
        assert!(bad.contains("not a dictionary chartscan has"), "{bad}");
        let opd = standard_templates().into_iter().find(|t| t.form == "opd").unwrap();
        let diagnosis = opd.field("diagnosis").unwrap();
        assert_eq!(
            diagnosis.correct_spelling("Faltciparum MALARLA"),
            Some(("Falciparum MALARIA".to_string(), vec![("Faltciparum".into(), "Falciparum".into()), ("MALARLA".into(), "MALARIA".into())]))
        );
        assert_eq!(diagnosis.correct_spelling("Falciparum malaria"), None);
        assert_eq!(opd.field("treatment").unwrap().correct_spelling("Faltciparum"), None, "no dictionary");
        assert_eq!(diagnosis.canonicalize("Faltciparum").as_deref(), Ok("Faltciparum"), "a reviewer's text is never corrected");
    }
}
