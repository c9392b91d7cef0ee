//! Teaching a form from one example page: the template studio's model, pure.
//!
//! The author points at words of a stored page: for each field, the words of its printed
//! label and the words of its value. From that this module builds a [`Template`]:
//! - the label's text becomes the field's label (so the field is still found beside its label
//!   on a page that registration cannot align);
//! - the value's place becomes the field's zone, widened to the room the value has on the
//!   form (to the next printed word of its line, or the page's margin), read first
//!   (`zone_first`) on pages aligned to the example;
//! - a table (repeated rows) is shown by the header of each of its columns: the header's text
//!   becomes the column's label, and rows are read under it on any scan;
//! - every label (and column header) becomes an anchor, with its box and its page, and the
//!   example page's size is kept, so that each page of a new scan is registered to the same
//!   page of the example ([`crate::register`]).
//!
//! Fields may be shown on any page of the example; word indexes refer to the words of the
//! field's page.

use crate::geometry::BBox;
use crate::normalize::FieldType;
use crate::register::Anchor;
use crate::template::{FieldSpec, Template, TemplateError};
use crate::words::PageWords;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One field as the author showed it on the example page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownField {
    /// The field's name in the export (`patient_id`, or a custom one).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Indexes (into the page's words) of its printed label.
    #[serde(default)]
    pub label: Vec<usize>,
    /// Indexes of its value as printed on the example (none for a table: its columns say).
    #[serde(default)]
    pub value: Vec<usize>,
    /// The example's page it is shown on (from 1).
    #[serde(default = "first_page")]
    pub page: u32,
    /// For a table: its columns, each shown by its header.
    #[serde(default)]
    pub columns: Vec<ShownColumn>,
    /// For a table: scalar fields taken from a column of its last row (`visit_date` = `date`).
    #[serde(default)]
    pub latest: BTreeMap<String, String>,
    /// For check boxes: the canonical value of each box in printed order.
    #[serde(default)]
    pub options: Vec<String>,
    /// Double keying.
    #[serde(default)]
    pub double_key: bool,
    /// Required.
    #[serde(default)]
    pub required: bool,
}

impl ShownField {
    /// A field of `kind` shown by its label's and its value's words on page 1, nothing else set.
    pub fn new(name: &str, kind: FieldType, label: Vec<usize>, value: Vec<usize>) -> ShownField {
        ShownField {
            name: name.to_string(),
            kind,
            label,
            value,
            page: 1,
            columns: Vec::new(),
            latest: BTreeMap::new(),
            options: Vec::new(),
            double_key: false,
            required: false,
        }
    }
}

/// A column of a table, shown by the words of its header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownColumn {
    /// The column's name in the export (`test`, `date`).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Indexes (into the table's page's words) of its header.
    #[serde(default)]
    pub label: Vec<usize>,
    /// It identifies a row (the visit's number, the test's name).
    #[serde(default)]
    pub key: bool,
}

fn first_page() -> u32 {
    1
}

/// A form taught by example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taught {
    /// The form (`opd`, `ipd`, `anc`, or a new one).
    pub form: String,
    /// Its human name.
    pub name: String,
    /// The facility whose variant this is (tried first on its charts), if any.
    #[serde(default)]
    pub facility: Option<String>,
    /// Indexes of the first page's title words, if the author marked them.
    #[serde(default)]
    pub title: Vec<usize>,
    /// The fields.
    pub fields: Vec<ShownField>,
}

fn text_of(page: &PageWords, idx: &[usize]) -> String {
    let mut words: Vec<usize> = idx.iter().copied().filter(|&i| i < page.words.len()).collect();
    words.sort_by_key(|&i| (page.words[i].line, page.words[i].bbox.x));
    words.iter().map(|&i| page.words[i].text.as_str()).collect::<Vec<_>>().join(" ")
}

fn box_of(page: &PageWords, idx: &[usize]) -> Option<BBox> {
    idx.iter().filter_map(|&i| page.words.get(i)).map(|w| w.bbox).reduce(|a, b| a.union(&b))
}

/// The room a value printed at `value` has on the page: rightwards to the next word of the
/// page that starts after it on its lines and is not one of `own` (the next label), or to the
/// page's right margin; a third of a line above and below.
fn room(page: &PageWords, value: BBox, own: &[usize]) -> BBox {
    let next = page
        .words
        .iter()
        .enumerate()
        .filter(|(i, w)| !own.contains(i) && w.bbox.x > value.right() && w.bbox.vertical_overlap(&value) > 0.3)
        .map(|(_, w)| w.bbox.x)
        .min();
    let margin = page.width.saturating_sub(page.width / 40);
    let right = next.map_or(margin, |x| x.saturating_sub(value.h / 3)).max(value.right());
    let pad = value.h / 3;
    BBox::new(value.x.saturating_sub(pad), value.y.saturating_sub(pad), right - value.x.saturating_sub(pad), value.h + 2 * pad)
}

/// An anchor for the words `idx` of `page`, if they are any.
fn anchor(page: &PageWords, idx: &[usize]) -> Option<Anchor> {
    let b = box_of(page, idx)?;
    Some(Anchor { text: text_of(page, idx), at: [b.x as f32, b.y as f32, b.w as f32, b.h as f32], page: page.page })
}

/// A field of the template with everything but what was shown left empty.
fn spec(name: &str, kind: FieldType, label: String) -> FieldSpec {
    FieldSpec {
        name: name.to_string(),
        kind,
        labels: if label.is_empty() { Vec::new() } else { vec![label] },
        required: false,
        min: None,
        max: None,
        decimals: None,
        zone: None,
        options: Vec::new(),
        terms: Vec::new(),
        spelling: None,
        implied: None,
        double_key: false,
        columns: Vec::new(),
        key: false,
        latest: Default::default(),
        parts: Vec::new(),
        near: None,
        heading: Vec::new(),
        zone_first: false,
        page: None,
    }
}

/// Builds the template the author showed on the example's `pages`, checked like any template.
pub fn build(taught: &Taught, pages: &[PageWords]) -> Result<Template, TemplateError> {
    let first = pages.first().ok_or_else(|| TemplateError { problems: vec!["the example has no read page".into()] })?;
    let (pw, ph) = (first.width.max(1) as f32, first.height.max(1) as f32);
    let mut anchors = Vec::new();
    let mut fields = Vec::new();
    let mut problems = Vec::new();
    for f in &taught.fields {
        let Some(page) = pages.iter().find(|p| p.page == f.page) else {
            problems.push(format!("field {:?}: the example has no page {}", f.name, f.page));
            continue;
        };
        anchors.extend(anchor(page, &f.label));
        let mut spec = spec(&f.name, f.kind, text_of(page, &f.label));
        spec.required = f.required;
        spec.double_key = f.double_key;
        if f.kind == FieldType::Table {
            for c in &f.columns {
                let header = text_of(page, &c.label);
                if header.is_empty() {
                    problems.push(format!("table {:?}: show the header of its column {:?}", f.name, c.name));
                }
                anchors.extend(anchor(page, &c.label));
                spec.columns.push(FieldSpec { key: c.key, ..self::spec(&c.name, c.kind, header) });
            }
            spec.latest = f.latest.clone();
            fields.push(spec);
            continue;
        }
        let Some(value) = box_of(page, &f.value) else {
            problems.push(format!("field {:?}: show where its value is printed", f.name));
            continue;
        };
        let mut own: Vec<usize> = f.value.clone();
        own.extend(&f.label);
        let zone = room(page, value, &own);
        let (pw, ph) = (page.width.max(1) as f32, page.height.max(1) as f32);
        spec.zone = Some([zone.x as f32 / pw, zone.y as f32 / ph, zone.w as f32 / pw, zone.h as f32 / ph]);
        spec.options = f.options.clone();
        spec.zone_first = true;
        spec.page = (f.page > 1).then_some(f.page);
        fields.push(spec);
    }
    let title = text_of(first, &taught.title);
    anchors.extend(anchor(first, &taught.title));
    // A table's `latest` names scalar fields, which the template must have (they are read
    // from the table only): those the author did not show are added without a place.
    let missing: Vec<(String, FieldType)> = fields
        .iter()
        .flat_map(|t| t.latest.iter().map(move |(scalar, column)| (t, scalar, column)))
        .filter(|(_, scalar, _)| !fields.iter().any(|g| &g.name == *scalar))
        .map(|(t, scalar, column)| (scalar.clone(), t.columns.iter().find(|c| &c.name == column).map_or(FieldType::Text, |c| c.kind)))
        .collect();
    for (name, kind) in missing {
        fields.push(spec(&name, kind, String::new()));
    }
    if !problems.is_empty() {
        return Err(TemplateError { problems });
    }
    let template = Template {
        form: taught.form.clone(),
        name: taught.name.clone(),
        titles: if title.is_empty() { Vec::new() } else { vec![title] },
        auto_accept: None,
        fields,
        facility: taught.facility.clone(),
        example: Some([pw, ph]),
        anchors,
    };
    template.check()?;
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> PageWords {
        PageWords::typeset(1, 1000, 1400, &["ប័ណ្ណពិគ្រោះ", "លេខ: 004512 ភេទ: ស្រី", "ឈ្មោះ: សុខ ស្រីនាង", "ថ្ងៃមក: 12/03/2024"])
    }

    fn taught() -> Taught {
        let field = ShownField::new;
        Taught {
            form: "opd".into(),
            name: "Outpatient card (Khmer)".into(),
            facility: Some("KP01".into()),
            title: vec![0],
            fields: vec![
                field("patient_id", FieldType::PatientId, vec![1], vec![2]),
                field("sex", FieldType::Sex, vec![3], vec![4]),
                field("name_khmer", FieldType::KhmerText, vec![5], vec![6, 7]),
                field("visit_date", FieldType::Date, vec![8], vec![9]),
            ],
        }
    }

    #[test]
    fn a_form_shown_on_one_page_reads_another_filled_in_differently() {
        let template = build(&taught(), &[card()]).expect("valid");
        assert_eq!((template.anchors.len(), template.fields.len()), (5, 4));
        assert_eq!(template.fields[0].labels, ["លេខ:"]);
        // The patient ID's room ends before the sex label on its line.
        let [x, _, w, _] = template.fields[0].zone.unwrap();
        assert!(x + w < 15.0 * 16.0 / 1000.0 + 0.2, "{:?}", template.fields[0].zone);
        // Another chart of the same card, scanned larger and shifted.
        let other = PageWords::typeset(1, 1000, 1400, &["ប័ណ្ណពិគ្រោះ", "លេខ: 000777 ភេទ: ប្រុស", "ឈ្មោះ: ចាន់ ដារា", "ថ្ងៃមក: 01/12/2025"]);
        let mut shifted = other.clone();
        for w in &mut shifted.words {
            w.bbox = BBox::new(w.bbox.x * 11 / 10 + 40, w.bbox.y * 11 / 10 + 25, w.bbox.w * 11 / 10, w.bbox.h * 11 / 10);
        }
        for page in [other, shifted] {
            let e = crate::extract::extract_with(&template, std::slice::from_ref(&page));
            let value = |n: &str| e.fields[n].value.as_ref().map(|v| v.storage_text());
            assert_eq!(value("patient_id").as_deref(), Some("000777"));
            assert_eq!(value("sex").as_deref(), Some("M"));
            assert_eq!(value("name_khmer").as_deref(), Some("ចាន់ ដារា"));
            assert_eq!(value("visit_date").as_deref(), Some("2025-12-01"));
        }
    }

    #[test]
    fn a_facility_variant_reads_that_facility_charts_only() {
        let mut templates = crate::standard_templates();
        templates.push(build(&taught(), &[card()]).unwrap());
        let other = PageWords::typeset(1, 1000, 1400, &["ប័ណ្ណពិគ្រោះ", "លេខ: 000777 ភេទ: ប្រុស", "ឈ្មោះ: ចាន់ ដារា", "ថ្ងៃមក: 01/12/2025"]);
        let own = crate::extract_for(&templates, Some("KP01"), std::slice::from_ref(&other));
        assert_eq!(own.fields["patient_id"].value.as_ref().map(|v| v.storage_text()).as_deref(), Some("000777"));
        assert!(own.fields["patient_id"].evidence.found == crate::Found::Zone, "read from the place the author showed");
        // Another facility's chart of the same look is not read with KP01's variant.
        let elsewhere = crate::extract_for(&templates, Some("PP01"), std::slice::from_ref(&other));
        assert!(elsewhere.fields.get("patient_id").is_none_or(|f| f.evidence.found != crate::Found::Zone), "{elsewhere:?}");
    }

    #[test]
    fn a_field_without_its_value_shown_is_a_problem() {
        let mut t = taught();
        t.fields[1].value.clear();
        let err = build(&t, &[card()]).unwrap_err();
        assert!(err.problems[0].contains("\"sex\""), "{err}");
    }

    /// A card of two pages: the patient's ID on page 1, the doctor and a lab table on page 2.
    fn two_pages(id: &str, rows: &[&str], doctor: &str) -> Vec<PageWords> {
        let one = PageWords::typeset(1, 1000, 1400, &["ប័ណ្ណពិគ្រោះ", &format!("លេខ: {id}")]);
        let by = format!("គ្រូពេទ្យ: {doctor}");
        let mut lines = vec!["លទ្ធផលឈាម", &by, "ប្រភេទ តម្លៃ ខ្នាត"];
        lines.extend(rows);
        let mut two = PageWords::typeset(2, 1000, 1400, &lines);
        // The header and the rows in columns 300 pixels apart.
        for line in 2..lines.len() as u32 {
            for (k, w) in two.words.iter_mut().filter(|w| w.line == line).enumerate() {
                w.bbox.x = 60 + 300 * k as u32;
            }
        }
        vec![one, two]
    }

    #[test]
    fn a_table_and_a_field_of_the_second_page_are_taught_by_their_headers() {
        let example = two_pages("004512", &["WBC 7.2 g/dL", "Glucose 95 mg/dL"], "ចាន់ ដារា");
        let w = &example[1].words;
        let at = |text: &str| w.iter().position(|x| x.text == text).unwrap();
        let column = |name: &str, kind: FieldType, header: &str, key: bool| ShownColumn { name: name.into(), kind, label: vec![at(header)], key };
        let mut t = taught();
        t.fields.truncate(1);
        t.fields.push(ShownField {
            page: 2,
            columns: vec![
                column("test", FieldType::Text, "ប្រភេទ", true),
                column("value", FieldType::Result, "តម្លៃ", false),
                column("unit", FieldType::Text, "ខ្នាត", false),
            ],
            ..ShownField::new("lab_results", FieldType::Table, vec![at("លទ្ធផលឈាម")], Vec::new())
        });
        t.fields.push(ShownField {
            page: 2, ..ShownField::new("doctor", FieldType::KhmerText, vec![at("គ្រូពេទ្យ:")], vec![at("ចាន់"), at("ដារា")])
        });
        let template = build(&t, &example).expect("valid");
        assert_eq!(template.field("doctor").unwrap().page, Some(2));
        assert_eq!(template.field("lab_results").unwrap().columns[1].labels, ["តម្លៃ"]);
        assert!(template.anchors.iter().any(|a| a.page == 2 && a.text == "ខ្នាត"), "column headers anchor page 2");

        // Another chart: other rows, another doctor.
        let other = two_pages("000777", &["Platelets 250 x10^9/L", "Creatinine 0.9 mg/dL", "Malaria Negative"], "សុខ ស្រីនាង");
        let e = crate::extract::extract_with(&template, &other);
        assert_eq!(e.fields["patient_id"].value.as_ref().map(|v| v.storage_text()).as_deref(), Some("000777"));
        assert_eq!(e.fields["doctor"].value.as_ref().map(|v| v.storage_text()).as_deref(), Some("សុខ ស្រីនាង"));
        assert_eq!((e.fields["doctor"].page, e.fields["doctor"].evidence.found), (2, crate::Found::Zone));
        let rows = e.fields["lab_results"].value.as_ref().and_then(|v| v.rows()).expect("rows read");
        let tests: Vec<Option<&str>> = rows.iter().map(|r| r.get("test").and_then(|c| c.as_deref())).collect();
        assert_eq!(tests, [Some("Platelets"), Some("Creatinine"), Some("Malaria")]);
        assert_eq!(rows[1].get("value").cloned().flatten().as_deref(), Some("0.9"));
    }

    #[test]
    fn a_table_column_without_its_header_shown_is_a_problem() {
        let example = two_pages("004512", &["WBC 7.2 g/dL"], "ចាន់ ដារា");
        let mut t = taught();
        t.fields = vec![ShownField {
            page: 2,
            columns: vec![ShownColumn { name: "test".into(), kind: FieldType::Text, label: Vec::new(), key: true }],
            ..ShownField::new("lab_results", FieldType::Table, Vec::new(), Vec::new())
        }];
        let err = build(&t, &example).unwrap_err();
        assert!(err.problems.iter().any(|p| p.contains("header of its column \"test\"")), "{err}");
        t.fields[0].page = 3;
        assert!(build(&t, &example).unwrap_err().problems[0].contains("no page 3"));
    }
}
