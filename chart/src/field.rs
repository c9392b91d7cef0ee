//! A field as extraction found it and as the reviewer sees it, and the evidence behind its
//! confidence.

use crate::geometry::BBox;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One row of a table field: column name to canonical value (`None`: the cell is empty).
pub type Row = BTreeMap<String, Option<String>>;

/// A field's canonical value: text for every type but tables, whose value is a list of rows
/// (docs/CONTRACT.md: "repeated rows are one field whose value is a list of rows"). Serialised as
/// a JSON string or a JSON array of row objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A canonical text value.
    Text(String),
    /// The rows of a table, top to bottom.
    Rows(Vec<Row>),
}

impl FieldValue {
    /// The text, when the value is not a table.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            FieldValue::Rows(_) => None,
        }
    }

    /// The rows, when the value is a table.
    pub fn rows(&self) -> Option<&[Row]> {
        match self {
            FieldValue::Rows(r) => Some(r),
            FieldValue::Text(_) => None,
        }
    }

    /// How the value is kept in a text column: the text itself, or the rows as compact JSON.
    pub fn storage_text(&self) -> String {
        match self {
            FieldValue::Text(s) => s.clone(),
            FieldValue::Rows(rows) => serde_json::to_string(rows).expect("rows serialise"),
        }
    }

    /// The value kept in a text column by [`FieldValue::storage_text`]; `rows` says which
    /// kind it is. Stored rows that no longer parse come back as text, for a reviewer to see.
    pub fn from_storage(text: String, rows: bool) -> FieldValue {
        if rows {
            match serde_json::from_str(&text) {
                Ok(r) => FieldValue::Rows(r),
                Err(_) => FieldValue::Text(text),
            }
        } else {
            FieldValue::Text(text)
        }
    }
}

impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Text(s)
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_string())
    }
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.storage_text())
    }
}

/// One extracted field of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedField {
    /// The canonical value, or `None` when the field was not found or not valid.
    pub value: Option<FieldValue>,
    /// The text as read (untrusted OCR output).
    pub raw: String,
    /// How sure extraction is, 0..1: the calibrated probability that the value is right.
    pub confidence: f32,
    /// False only when the system auto-accepts the value.
    pub needs_review: bool,
    /// Page within the chart, from 1 (0 when not found).
    pub page: u32,
    /// Where the value is on the page image.
    pub bbox: Option<BBox>,
    /// Why the field needs a reviewer, in words.
    pub issue: Option<String>,
    /// What the confidence was computed from (not exported).
    #[serde(skip)]
    pub evidence: Evidence,
}

impl ExtractedField {
    /// A field that was not found on any page.
    pub fn missing(issue: impl Into<String>) -> Self {
        Self {
            value: None,
            raw: String::new(),
            confidence: 0.0,
            needs_review: true,
            page: 0,
            bbox: None,
            issue: Some(issue.into()),
            evidence: Evidence::default(),
        }
    }

    /// The value's text, when it has one and is not a table.
    pub fn text(&self) -> Option<&str> {
        self.value.as_ref().and_then(FieldValue::as_text)
    }
}

/// How a value was found on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// Not found.
    #[default]
    Nowhere,
    /// To the right of its label on the same line (or in the cell right of the label's cell).
    RightOfLabel,
    /// Below its label, in the label's column (a bordered cell, a stacked form).
    BelowLabel,
    /// After the ticked box of a row of check boxes.
    TickedBox,
    /// Known only from which box is ticked (its option text unreadable).
    BoxPosition,
    /// A part of a one-line address.
    AddressPart,
    /// A cell of a table (or a scalar taken from a table's latest row).
    TableCell,
    /// A line of the page's heading (the facility's name).
    Heading,
    /// The template's fixed zone, no label found.
    Zone,
    /// Beside a word guessed to be its unreadable label.
    GuessedLabel,
    /// Written inside another field's text (a code in a diagnosis's parentheses).
    InText,
}

/// What a cross-field check said about a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No check applied.
    #[default]
    None,
    /// Another, independent field agrees.
    Agrees,
    /// A check failed.
    Fails,
}

/// The evidence a field's confidence is computed from (see [`crate::confidence`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// How the value was found.
    pub found: Found,
    /// How well its label matched, 0..1 (0: no label).
    pub label_similarity: f32,
    /// The engine's mean confidence over the value's words, 0..1.
    pub ocr_mean: f32,
    /// The engine's lowest word confidence in the value, 0..1.
    pub ocr_min: f32,
    /// Whether the value is valid for its type (a real date, a number in range...).
    pub valid: bool,
    /// Whether the type constrains the value (dates, numbers, codes) or any text passes.
    pub typed: bool,
    /// Whether the value is plausible beyond its type: the length of a number, a phone
    /// prefix some operator uses, an ICD-10 code that exists, a known place.
    pub plausible: bool,
    /// Cross-field checks.
    pub cross: Verdict,
    /// A second reading of the place by another engine.
    pub second: Verdict,
    /// The value looks like a printed label of the form.
    pub looks_like_label: bool,
    /// The value was found in reference data (gazetteer, ICD-10 list).
    pub known: bool,
    /// Share of the template's labels found on the chart: how well the layout is recognised.
    pub layout: f32,
    /// The value had to be cut out of a longer run of words (the rest did not validate).
    pub trimmed: bool,
    /// How many words the value has.
    pub words: u16,
    /// The value is mostly in Khmer script.
    pub khmer: bool,
    /// The value may not skip review, whatever its confidence: missing, not valid, or an
    /// issue (a failed check, implausible, a guessed place, a table).
    pub blocked: bool,
    /// The page's other reading (see `chart::extract::readings`): `Agrees` when it gave the
    /// same value, `Fails` when it gave another; `None` when the page was read once or the
    /// other reading found nothing.
    #[serde(default)]
    pub readings: Verdict,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialise_as_strings_or_row_lists_and_round_trip_through_storage() {
        let text = FieldValue::from("2024-11-25");
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"2024-11-25\"");
        let mut row = Row::new();
        row.insert("test".into(), Some("Haemoglobin".into()));
        row.insert("unit".into(), None);
        let rows = FieldValue::Rows(vec![row]);
        assert_eq!(serde_json::to_string(&rows).unwrap(), r#"[{"test":"Haemoglobin","unit":null}]"#);
        assert_eq!(serde_json::from_str::<FieldValue>(r#"[{"test":"Haemoglobin","unit":null}]"#).unwrap(), rows);
        assert_eq!(FieldValue::from_storage(rows.storage_text(), true), rows);
        // Text that happens to look like JSON stays text unless stored as rows.
        assert_eq!(FieldValue::from_storage("[{}]".into(), false), FieldValue::from("[{}]"));
        assert_eq!(FieldValue::from_storage("not json".into(), true), FieldValue::from("not json"));
    }
}
