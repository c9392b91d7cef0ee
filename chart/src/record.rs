//! The structured record an approved chart becomes: a patient, an encounter and clinical
//! facts (diagnoses with ICD-10 codes, measurements with LOINC codes and UCUM units), each
//! fact remembering the field, page and box it came from.
//!
//! Invariant: building a record is a pure function of the chart's canonical field values, so
//! committing the same chart twice gives the same record.

use crate::geometry::BBox;
use crate::normalize::CalendarDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A field value as the record builder needs it: canonical value and where it was read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceField {
    /// The canonical value (`None`: not found).
    pub value: Option<crate::field::FieldValue>,
    /// Page within the chart, from 1 (0: unknown).
    pub page: u32,
    /// Where on the page image.
    pub bbox: Option<BBox>,
}

/// Who the chart is about, as the chart gives it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PatientFacts {
    /// The facility's own patient number, if printed.
    pub patient_no: Option<String>,
    /// The name in Khmer script.
    pub name_khmer: Option<String>,
    /// The romanised name, as printed.
    pub name_latin: Option<String>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// `YYYY-MM-DD`, or `YYYY` when only the age was written.
    pub birth_date: Option<String>,
    /// True when the birth date is a year worked out from the age.
    pub birth_estimated: bool,
    /// National form, digits only.
    pub phone: Option<String>,
    /// Village.
    pub village: Option<String>,
    /// Commune.
    pub commune: Option<String>,
    /// District.
    pub district: Option<String>,
    /// Province (English name).
    pub province: Option<String>,
}

/// What kind of encounter a form records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncounterKind {
    /// An outpatient consultation (`opd`).
    Outpatient,
    /// An inpatient stay (`ipd`).
    Inpatient,
    /// An antenatal care visit (`anc`).
    Antenatal,
}

impl EncounterKind {
    /// The encounter kind of a form, if the form records one.
    pub fn of_form(form: &str) -> Option<EncounterKind> {
        match form {
            "opd" => Some(EncounterKind::Outpatient),
            "ipd" => Some(EncounterKind::Inpatient),
            "anc" => Some(EncounterKind::Antenatal),
            _ => None,
        }
    }

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EncounterKind::Outpatient => "outpatient",
            EncounterKind::Inpatient => "inpatient",
            EncounterKind::Antenatal => "antenatal",
        }
    }

    /// The inverse of [`EncounterKind::as_str`].
    pub fn parse(s: &str) -> Option<EncounterKind> {
        [EncounterKind::Outpatient, EncounterKind::Inpatient, EncounterKind::Antenatal].into_iter().find(|k| k.as_str() == s)
    }
}

/// The encounter a chart records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncounterFacts {
    /// Outpatient, inpatient or antenatal.
    pub kind: EncounterKind,
    /// Visit or admission date.
    pub start: Option<String>,
    /// Discharge date.
    pub end: Option<String>,
    /// Ward (inpatients).
    pub ward: Option<String>,
    /// Discharge outcome (canonical: recovered, improved, referred, died, left_against_advice).
    pub outcome: Option<String>,
    /// The reason for the visit (chief complaint).
    pub reason: Option<String>,
    /// The doctor (or the antenatal card's provider), as written.
    pub doctor: Option<String>,
    /// Length of an inpatient stay in days, as written.
    #[serde(default)]
    pub length_days: Option<String>,
    /// Where the patient was referred to, as written.
    #[serde(default)]
    pub referred_to: Option<String>,
    /// The facility's name as its cards print it.
    #[serde(default)]
    pub facility_name: Option<String>,
}

/// Whether a fact is a diagnosis or a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// A diagnosis (FHIR Condition).
    Condition,
    /// A measurement or observed date (FHIR Observation).
    Observation,
}

impl FactKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::Condition => "condition",
            FactKind::Observation => "observation",
        }
    }

    /// The inverse of [`FactKind::as_str`].
    pub fn parse(s: &str) -> Option<FactKind> {
        match s {
            "condition" => Some(FactKind::Condition),
            "observation" => Some(FactKind::Observation),
            _ => None,
        }
    }
}

/// How a fact's value is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A decimal number with a UCUM unit.
    Quantity,
    /// A count (a whole number with UCUM unit `{#}`-like annotation).
    Count,
    /// A calendar date.
    Date,
    /// Systolic/diastolic blood pressure, `SYS/DIA` in mm[Hg].
    BloodPressure,
    /// Free text (diagnoses).
    Text,
}

impl ValueKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Quantity => "quantity",
            ValueKind::Count => "count",
            ValueKind::Date => "date",
            ValueKind::BloodPressure => "blood_pressure",
            ValueKind::Text => "text",
        }
    }

    /// The inverse of [`ValueKind::as_str`].
    pub fn parse(s: &str) -> Option<ValueKind> {
        [ValueKind::Quantity, ValueKind::Count, ValueKind::Date, ValueKind::BloodPressure, ValueKind::Text].into_iter().find(|k| k.as_str() == s)
    }
}

/// One clinical fact with its coding and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The chart field it was read from (the first, when several fields make one fact).
    pub field: String,
    /// Diagnosis or measurement.
    pub kind: FactKind,
    /// Code system URI (`http://loinc.org`, `http://hl7.org/fhir/sid/icd-10`), if coded.
    pub system: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// Human-readable name of the code, or the diagnosis text.
    pub display: String,
    /// The value, canonical text (number with `.`, `YYYY-MM-DD`, `SYS/DIA`, or text).
    pub value: String,
    /// How to read `value`.
    pub value_kind: ValueKind,
    /// UCUM unit code, for quantities.
    pub unit: Option<String>,
    /// Page within the chart.
    pub page: u32,
    /// Where on the page image.
    pub bbox: Option<BBox>,
    /// When it was measured, when not at the encounter's start (a table row's date).
    #[serde(default)]
    pub effective: Option<String>,
}

/// A chart as a structured clinical record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicalRecord {
    /// Who.
    pub patient: PatientFacts,
    /// When and what kind of care.
    pub encounter: EncounterFacts,
    /// Diagnoses and measurements.
    pub facts: Vec<Fact>,
}

/// LOINC system URI.
pub const LOINC: &str = "http://loinc.org";
/// ICD-10 system URI (as FHIR names it).
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";

/// A measurement field: LOINC code, display, UCUM unit (`None` for dates), value kind.
struct Measure {
    field: &'static str,
    code: &'static str,
    display: &'static str,
    unit: Option<&'static str>,
    kind: ValueKind,
}

/// Measurement fields known to the record builder (any form may carry them; custom templates
/// that name their fields in CONTRACT style get them coded too).
const MEASURES: &[Measure] = &[
    Measure { field: "temperature_c", code: "8310-5", display: "Body temperature", unit: Some("Cel"), kind: ValueKind::Quantity },
    Measure { field: "pulse_bpm", code: "8867-4", display: "Heart rate", unit: Some("/min"), kind: ValueKind::Quantity },
    Measure { field: "respiratory_rate", code: "9279-1", display: "Respiratory rate", unit: Some("/min"), kind: ValueKind::Quantity },
    Measure {
        field: "spo2_pct",
        code: "59408-5",
        display: "Oxygen saturation in Arterial blood by Pulse oximetry",
        unit: Some("%"),
        kind: ValueKind::Quantity,
    },
    Measure {
        field: "blood_pressure",
        code: "85354-9",
        display: "Blood pressure panel with all children optional",
        unit: Some("mm[Hg]"),
        kind: ValueKind::BloodPressure,
    },
    Measure { field: "weight_kg", code: "29463-7", display: "Body weight", unit: Some("kg"), kind: ValueKind::Quantity },
    Measure { field: "height_cm", code: "8302-2", display: "Body height", unit: Some("cm"), kind: ValueKind::Quantity },
    Measure { field: "hemoglobin_g_dl", code: "718-7", display: "Hemoglobin [Mass/volume] in Blood", unit: Some("g/dL"), kind: ValueKind::Quantity },
    Measure { field: "gestational_age_weeks", code: "49051-6", display: "Gestational age in weeks", unit: Some("wk"), kind: ValueKind::Quantity },
    Measure { field: "fundal_height_cm", code: "11881-0", display: "Uterus Fundal height Tape measure", unit: Some("cm"), kind: ValueKind::Quantity },
    Measure { field: "fetal_heart_rate_bpm", code: "55283-6", display: "Fetal Heart rate", unit: Some("/min"), kind: ValueKind::Quantity },
    Measure { field: "gravida", code: "11996-6", display: "[#] Pregnancies", unit: Some("{#}"), kind: ValueKind::Count },
    Measure { field: "para", code: "11977-6", display: "[#] Parity", unit: Some("{#}"), kind: ValueKind::Count },
    Measure { field: "lmp_date", code: "8665-2", display: "Last menstrual period start date", unit: None, kind: ValueKind::Date },
    Measure { field: "edd_date", code: "11778-8", display: "Delivery date Estimated", unit: None, kind: ValueKind::Date },
];

/// Diagnosis fields: (field, optional field holding its ICD-10 code).
const DIAGNOSES: &[(&str, Option<&str>)] = &[
    ("diagnosis", Some("diagnosis_icd10")),
    ("admission_diagnosis", Some("admission_diagnosis_icd10")),
    ("discharge_diagnosis", Some("discharge_diagnosis_icd10")),
];

/// A printed lab unit in UCUM, when it is one UCUM knows (`x10^9/L` is `10*9/L`).
pub fn ucum_unit(printed: &str) -> Option<String> {
    let u: String = printed.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = u.to_lowercase();
    if let Some(rest) = lower.strip_prefix("x10").or_else(|| lower.strip_prefix("10")) {
        let rest = rest.trim_start_matches(['^', '*']);
        if let Some(exp) = rest.strip_suffix("/l") {
            if !exp.is_empty() && exp.len() <= 2 && exp.chars().all(|c| c.is_ascii_digit()) {
                return Some(format!("10*{exp}/L"));
            }
        }
    }
    const UCUM: [&str; 14] = ["g/dL", "g/L", "mg/dL", "mg/L", "mmol/L", "umol/L", "%", "U/L", "[IU]/L", "mm[Hg]", "/min", "kg", "cm", "fL"];
    UCUM.iter().find(|k| k.eq_ignore_ascii_case(&u)).map(|k| k.to_string())
}

/// An ICD-10 code written inside a diagnosis text (`Dengue fever (A90)`), if any.
pub fn icd10_in_text(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|t| t.trim_end_matches('.'))
        .find(|t| {
            let b = t.as_bytes();
            b.len() >= 3
                && b[0].is_ascii_uppercase()
                && b[1].is_ascii_digit()
                && b[2].is_ascii_digit()
                && (b.len() == 3 || (b.len() >= 5 && b[3] == b'.' && b[4..].iter().all(u8::is_ascii_digit)))
        })
        .map(str::to_string)
}

/// Facts from tables: each antenatal visit's measurements, dated by the visit (the latest
/// visit's are the chart's own fields, already facts), and each lab result, named as
/// printed, with its unit where UCUM knows it.
fn table_facts(fields: &BTreeMap<String, SourceField>, scalars: &[Fact]) -> Vec<Fact> {
    let mut out = Vec::new();
    let rows = |name: &str| -> (Vec<crate::field::Row>, SourceField) {
        match fields.get(name) {
            Some(f) => (f.value.as_ref().and_then(crate::field::FieldValue::rows).map(<[_]>::to_vec).unwrap_or_default(), f.clone()),
            None => (Vec::new(), SourceField::default()),
        }
    };
    let (visits, source) = rows("visits");
    for (n, row) in visits.iter().enumerate() {
        let date = row.get("date").cloned().flatten();
        for m in MEASURES {
            let Some(Some(value)) = row.get(m.field) else { continue };
            // The latest visit's measurement is the chart's own field.
            let last = n + 1 == visits.len();
            if last && scalars.iter().any(|f| f.field == m.field && &f.value == value) {
                continue;
            }
            let number = row.get("visit_number").cloned().flatten().unwrap_or_else(|| (n + 1).to_string());
            out.push(Fact {
                field: format!("visits.{number}.{}", m.field),
                kind: FactKind::Observation,
                system: Some(LOINC.to_string()),
                code: Some(m.code.to_string()),
                display: m.display.to_string(),
                value: value.clone(),
                value_kind: m.kind,
                unit: m.unit.map(str::to_string),
                page: source.page,
                bbox: source.bbox,
                effective: date.clone(),
            });
        }
    }
    let (labs, source) = rows("lab_results");
    for (n, row) in labs.iter().enumerate() {
        let (Some(Some(test)), Some(Some(value))) = (row.get("test"), row.get("value")) else { continue };
        let numeric = value.parse::<f64>().is_ok_and(f64::is_finite);
        let unit = row.get("unit").cloned().flatten();
        out.push(Fact {
            field: format!("lab_results.{}", n + 1),
            kind: FactKind::Observation,
            system: None,
            code: None,
            display: test.clone(),
            value: value.clone(),
            value_kind: if numeric { ValueKind::Quantity } else { ValueKind::Text },
            unit: if numeric { unit } else { None },
            page: source.page,
            bbox: source.bbox,
            effective: None,
        });
    }
    out
}

impl ClinicalRecord {
    /// Builds the record of a chart of `form` from its fields. `None` when the form records
    /// no encounter (an unknown form).
    pub fn build(form: &str, fields: &BTreeMap<String, SourceField>) -> Option<ClinicalRecord> {
        let kind = EncounterKind::of_form(form)?;
        let get = |name: &str| fields.get(name).and_then(|f| f.value.as_ref()?.as_text().map(str::to_string)).filter(|v| !v.trim().is_empty());
        let start = get("visit_date").or_else(|| get("admission_date"));
        let (birth_date, birth_estimated) = match (get("date_of_birth"), get("age"), &start) {
            (Some(d), _, _) => (Some(d), false),
            (None, Some(age), Some(start)) => {
                let year = CalendarDate::parse(start).ok().zip(age.parse::<i32>().ok()).map(|(d, a)| (d.year - a).to_string());
                (year, true)
            }
            _ => (None, false),
        };
        let patient = PatientFacts {
            patient_no: get("patient_id"),
            name_khmer: get("name_khmer"),
            name_latin: get("name_latin"),
            sex: get("sex"),
            birth_date,
            birth_estimated,
            phone: get("phone"),
            village: get("village"),
            commune: get("commune"),
            district: get("district"),
            province: get("province"),
        };
        let encounter = EncounterFacts {
            kind,
            start,
            end: get("discharge_date"),
            ward: get("ward"),
            outcome: get("outcome"),
            reason: get("chief_complaint"),
            doctor: get("doctor").or_else(|| get("provider")),
            length_days: get("length_of_stay_days"),
            referred_to: get("referred_to"),
            facility_name: get("hospital"),
        };
        let mut facts = Vec::new();
        for (name, code_field) in DIAGNOSES {
            let text = get(name);
            let code = code_field.and_then(get).or_else(|| text.as_deref().and_then(icd10_in_text));
            if text.is_none() && code.is_none() {
                continue;
            }
            let source = fields.get(*name).filter(|f| f.value.is_some()).or_else(|| code_field.and_then(|c| fields.get(c))).cloned().unwrap_or_default();
            // Without text, the code's WHO title names the diagnosis.
            let title = code.as_deref().and_then(crate::reference::icd10::title).map(str::to_string);
            facts.push(Fact {
                field: name.to_string(),
                kind: FactKind::Condition,
                system: code.as_ref().map(|_| ICD10.to_string()),
                display: text.clone().or(title).or_else(|| code.clone()).unwrap_or_default(),
                value: text.unwrap_or_default(),
                code,
                value_kind: ValueKind::Text,
                unit: None,
                page: source.page,
                bbox: source.bbox,
                effective: None,
            });
        }
        for m in MEASURES {
            let Some(value) = get(m.field) else { continue };
            let ok = match m.kind {
                ValueKind::Quantity | ValueKind::Count => value.parse::<f64>().is_ok_and(f64::is_finite),
                ValueKind::Date => CalendarDate::parse(&value).is_ok(),
                ValueKind::BloodPressure => blood_pressure(&value).is_some(),
                ValueKind::Text => true,
            };
            if !ok {
                continue;
            }
            let source = &fields[m.field];
            facts.push(Fact {
                field: m.field.to_string(),
                kind: FactKind::Observation,
                system: Some(LOINC.to_string()),
                code: Some(m.code.to_string()),
                display: m.display.to_string(),
                value,
                value_kind: m.kind,
                unit: m.unit.map(str::to_string),
                page: source.page,
                bbox: source.bbox,
                effective: None,
            });
        }
        facts.extend(table_facts(fields, &facts));
        Some(ClinicalRecord { patient, encounter, facts })
    }
}

/// Systolic and diastolic pressure of a canonical `SYS/DIA` value.
pub fn blood_pressure(value: &str) -> Option<(u32, u32)> {
    let (s, d) = value.split_once('/')?;
    Some((s.trim().parse().ok()?, d.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, SourceField> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (k.to_string(), SourceField { value: Some(v.to_string().into()), page: 1, bbox: Some(BBox::new(10, 20 * i as u32, 100, 18)) }))
            .collect()
    }

    #[test]
    fn an_outpatient_card_becomes_patient_encounter_and_coded_facts() {
        let f = fields(&[
            ("patient_id", "PP-0042"),
            ("name_khmer", "សុខ សុភាព"),
            ("name_latin", "SOK Sopheap"),
            ("sex", "F"),
            ("date_of_birth", "1990-03-04"),
            ("visit_date", "2024-11-25"),
            ("diagnosis", "Dengue fever"),
            ("diagnosis_icd10", "A90"),
            ("temperature_c", "38.5"),
            ("pulse_bpm", "96"),
            ("chief_complaint", "Fever"),
        ]);
        let r = ClinicalRecord::build("opd", &f).unwrap();
        assert_eq!(r.encounter.kind, EncounterKind::Outpatient);
        assert_eq!(r.encounter.start.as_deref(), Some("2024-11-25"));
        assert_eq!(r.patient.birth_date.as_deref(), Some("1990-03-04"));
        assert!(!r.patient.birth_estimated);
        let dx = r.facts.iter().find(|f| f.kind == FactKind::Condition).unwrap();
        assert_eq!((dx.code.as_deref(), dx.system.as_deref(), dx.value.as_str()), (Some("A90"), Some(ICD10), "Dengue fever"));
        assert_eq!(dx.bbox, f["diagnosis"].bbox, "a fact keeps the box it was read from");
        let t = r.facts.iter().find(|f| f.field == "temperature_c").unwrap();
        assert_eq!((t.code.as_deref(), t.unit.as_deref(), t.value.as_str()), (Some("8310-5"), Some("Cel"), "38.5"));
        assert_eq!(r.facts.len(), 3);
    }

    #[test]
    fn antenatal_measures_are_coded_with_loinc_and_ucum() {
        let f = fields(&[
            ("visit_date", "2025-02-01"),
            ("age", "27"),
            ("blood_pressure", "110/70"),
            ("weight_kg", "55.5"),
            ("hemoglobin_g_dl", "11.2"),
            ("gravida", "2"),
            ("para", "1"),
            ("gestational_age_weeks", "24"),
            ("lmp_date", "2024-08-17"),
            ("edd_date", "2025-05-24"),
        ]);
        let r = ClinicalRecord::build("anc", &f).unwrap();
        assert_eq!(r.encounter.kind, EncounterKind::Antenatal);
        assert_eq!((r.patient.birth_date.as_deref(), r.patient.birth_estimated), (Some("1998"), true), "birth year from age");
        let code = |field: &str| r.facts.iter().find(|f| f.field == field).map(|f| (f.code.clone().unwrap(), f.unit.clone()));
        assert_eq!(code("blood_pressure"), Some(("85354-9".into(), Some("mm[Hg]".into()))));
        assert_eq!(code("hemoglobin_g_dl"), Some(("718-7".into(), Some("g/dL".into()))));
        assert_eq!(code("gestational_age_weeks"), Some(("49051-6".into(), Some("wk".into()))));
        assert_eq!(code("edd_date"), Some(("11778-8".into(), None)));
        assert_eq!(r.facts.len(), 8);
    }

    #[test]
    fn inpatient_stays_take_codes_from_diagnosis_text_and_skip_unusable_values() {
        let f = fields(&[
            ("admission_date", "2024-01-02"),
            ("discharge_date", "2024-01-09"),
            ("admission_diagnosis", "Dengue fever A90"),
            ("discharge_diagnosis", "Recovered dengue"),
            ("weight_kg", "heavy"),
        ]);
        let r = ClinicalRecord::build("ipd", &f).unwrap();
        assert_eq!((r.encounter.start.as_deref(), r.encounter.end.as_deref()), (Some("2024-01-02"), Some("2024-01-09")));
        let codes: Vec<Option<String>> = r.facts.iter().map(|f| f.code.clone()).collect();
        assert_eq!(codes, vec![Some("A90".to_string()), None], "a weight that is not a number is not a fact");
        assert!(ClinicalRecord::build("letter", &f).is_none());
    }

    fn row(cells: &[(&str, &str)]) -> crate::field::Row {
        cells.iter().map(|(k, v)| (k.to_string(), if v.is_empty() { None } else { Some(v.to_string()) })).collect()
    }

    #[test]
    fn each_visit_is_dated_and_lab_results_keep_their_printed_name_and_ucum_unit() {
        let mut f = fields(&[("visit_date", "2025-03-01"), ("weight_kg", "61.0"), ("hospital", "A Clinic")]);
        let visits = vec![
            row(&[("visit_number", "1"), ("date", "2025-01-04"), ("weight_kg", "58.5"), ("blood_pressure", "")]),
            row(&[("visit_number", "2"), ("date", "2025-03-01"), ("weight_kg", "61.0"), ("hemoglobin_g_dl", "10.9")]),
        ];
        f.insert("visits".into(), SourceField { value: Some(crate::field::FieldValue::Rows(visits)), page: 2, bbox: Some(BBox::new(10, 500, 900, 200)) });
        let r = ClinicalRecord::build("anc", &f).unwrap();
        assert_eq!(r.encounter.facility_name.as_deref(), Some("A Clinic"));
        let first = r.facts.iter().find(|x| x.field == "visits.1.weight_kg").expect("the first visit's weight");
        assert_eq!((first.value.as_str(), first.effective.as_deref(), first.code.as_deref(), first.page), ("58.5", Some("2025-01-04"), Some("29463-7"), 2));
        assert!(!r.facts.iter().any(|x| x.field == "visits.1.blood_pressure"), "an empty cell is no fact");
        assert!(!r.facts.iter().any(|x| x.field == "visits.2.weight_kg"), "the latest visit's weight is the chart's own weight, not a second fact");
        assert!(r.facts.iter().any(|x| x.field == "visits.2.hemoglobin_g_dl"), "a latest-visit value the chart lacks is kept");

        let mut f = fields(&[("visit_date", "2025-03-01")]);
        let labs = vec![
            row(&[("test", "Haemoglobin"), ("value", "9.8"), ("unit", "g/dl")]),
            row(&[("test", "Malaria RDT"), ("value", "Negative"), ("unit", "")]),
            row(&[("test", "WBC"), ("value", "7.2"), ("unit", "x10^9/L")]),
        ];
        f.insert("lab_results".into(), SourceField { value: Some(crate::field::FieldValue::Rows(labs)), page: 1, bbox: None });
        let r = ClinicalRecord::build("opd", &f).unwrap();
        let lab = |n: usize| r.facts.iter().find(|x| x.field == format!("lab_results.{n}")).unwrap();
        assert_eq!(
            (lab(1).display.as_str(), lab(1).value_kind, lab(1).unit.as_deref()),
            ("Haemoglobin", ValueKind::Quantity, Some("g/dl")),
            "the unit as printed"
        );
        assert_eq!(lab(1).unit.as_deref().and_then(ucum_unit).as_deref(), Some("g/dL"), "and in UCUM for FHIR");
        assert_eq!((lab(2).value.as_str(), lab(2).value_kind, lab(2).unit.as_deref()), ("Negative", ValueKind::Text, None));
        assert_eq!(lab(3).unit.as_deref().and_then(ucum_unit).as_deref(), Some("10*9/L"));
        assert!(lab(1).code.is_none(), "a printed test name is not guessed into a code");
    }

    #[test]
    fn printed_units_become_ucum_only_when_ucum_knows_them() {
        assert_eq!(ucum_unit("g / dL").as_deref(), Some("g/dL"));
        assert_eq!(ucum_unit("MMOL/L").as_deref(), Some("mmol/L"));
        assert_eq!(ucum_unit("10^12/L").as_deref(), Some("10*12/L"));
        assert_eq!(ucum_unit("cells"), None);
        assert_eq!(ucum_unit("x10^/L"), None);
    }

    #[test]
    fn icd10_codes_are_found_in_text() {
        assert_eq!(icd10_in_text("Acute URI (J06.9)").as_deref(), Some("J06.9"));
        assert_eq!(icd10_in_text("Dengue A90.").as_deref(), Some("A90"));
        assert_eq!(icd10_in_text("Dengue fever"), None);
        assert_eq!(icd10_in_text("Type 2 diabetes"), None);
    }
}
