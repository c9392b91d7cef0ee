//! Teaching a form from one example page: the template studio's model, pure.
//!
//! The author points at words of a stored page: for each field, the words of its printed
//! label and the words of its value. From that this module builds a [`Template`]:
//! - the label's text becomes the field's label (so the field is still found beside its label
//!   on a page that registration cannot align);
//! - the value's place becomes the field's zone, widened to the room the value has on the
//!   form (to the next printed word of its line, or the page's margin), read first
//!   (`zone_first`) on pages aligned to the example;
//! - every label becomes an anchor, with its box, and the example page's size is kept, so that
//!   new scans are registered to the example ([`crate::register`]).

use crate::geometry::BBox;
use crate::normalize::FieldType;
use crate::register::Anchor;
use crate::template::{FieldSpec, Template, TemplateError};
use crate::words::PageWords;
use serde::{Deserialize, Serialize};

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
    /// Indexes of its value as printed on the example.
    pub value: Vec<usize>,
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
    /// Indexes of the page's title words, if the author marked them.
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

/// Builds the template the author showed on `page`, checked like any template.
pub fn build(taught: &Taught, page: &PageWords) -> Result<Template, TemplateError> {
    let (pw, ph) = (page.width.max(1) as f32, page.height.max(1) as f32);
    let mut anchors = Vec::new();
    let mut fields = Vec::new();
    let mut problems = Vec::new();
    for f in &taught.fields {
        let value = box_of(page, &f.value);
        let label = text_of(page, &f.label);
        if let Some(b) = box_of(page, &f.label) {
            anchors.push(Anchor { text: label.clone(), at: [b.x as f32, b.y as f32, b.w as f32, b.h as f32] });
        }
        let Some(value) = value else {
            problems.push(format!("field {:?}: show where its value is printed", f.name));
            continue;
        };
        let mut own: Vec<usize> = f.value.clone();
        own.extend(&f.label);
        let zone = room(page, value, &own);
        fields.push(FieldSpec {
            name: f.name.clone(),
            kind: f.kind,
            labels: if label.is_empty() { Vec::new() } else { vec![label] },
            required: f.required,
            min: None,
            max: None,
            zone: Some([zone.x as f32 / pw, zone.y as f32 / ph, zone.w as f32 / pw, zone.h as f32 / ph]),
            options: f.options.clone(),
            double_key: f.double_key,
            columns: Vec::new(),
            key: false,
            latest: Default::default(),
            parts: Vec::new(),
            near: None,
            heading: Vec::new(),
            zone_first: true,
        });
    }
    let title = text_of(page, &taught.title);
    if let Some(b) = box_of(page, &taught.title) {
        anchors.push(Anchor { text: title.clone(), at: [b.x as f32, b.y as f32, b.w as f32, b.h as f32] });
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
        let field = |name: &str, kind: FieldType, label: Vec<usize>, value: Vec<usize>| ShownField {
            name: name.into(),
            kind,
            label,
            value,
            options: Vec::new(),
            double_key: false,
            required: false,
        };
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
        let template = build(&taught(), &card()).expect("valid");
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
        templates.push(build(&taught(), &card()).unwrap());
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
        let err = build(&t, &card()).unwrap_err();
        assert!(err.problems[0].contains("\"sex\""), "{err}");
    }
}
