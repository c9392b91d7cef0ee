//! FHIR R4 transaction Bundles from committed records.
//!
//! Every resource is created conditionally on a chartscan identifier (`ifNoneExist`), so a
//! server that receives the same bundle twice creates nothing twice; the Patient is a
//! conditional update on its identifier (so new names and phones reach the server), and the
//! Provenance, which has no identifier in R4, is written with PUT to an id derived from the
//! chart. Entries
//! refer to each other by `urn:uuid:` full URLs derived from those identifiers, so the same
//! records always give byte-identical bundles.
//!
//! Invariant: pure; builds JSON values, sends nothing.

use crate::matching::Person;
use crate::record::{blood_pressure, ClinicalRecord, EncounterKind, Fact, FactKind, ValueKind};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Identifier system of chartscan's patients.
pub const PATIENT_SYSTEM: &str = "urn:chartscan:patient";
/// Identifier system of charts (one encounter each).
pub const CHART_SYSTEM: &str = "urn:chartscan:chart";
/// Identifier system of clinical facts (`CHART/FIELD`).
pub const FACT_SYSTEM: &str = "urn:chartscan:fact";
/// Identifier system of scanned documents (`CHART/SHA256`).
pub const SCAN_SYSTEM: &str = "urn:chartscan:scan";
/// Identifier system of facilities.
pub const FACILITY_SYSTEM: &str = "urn:chartscan:facility";
/// Identifier system of reviewers.
pub const USER_SYSTEM: &str = "urn:chartscan:user";
/// Extension holding where on the scanned page a fact was read.
pub const SOURCE_REGION_URL: &str = "urn:chartscan:fhir:StructureDefinition:source-region";

/// The identifier system of a facility's own patient numbers.
pub fn patient_number_system(facility: &str) -> String {
    format!("urn:chartscan:facility:{facility}:patient-number")
}

/// A stored patient.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientEntry {
    /// chartscan's patient id (`P-…`).
    pub public_id: String,
    /// Every name, number and phone seen on the patient's charts.
    pub person: Person,
    /// Village, commune, district, province of the latest chart.
    pub address: [Option<String>; 4],
}

/// A scanned original a chart was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEntry {
    /// Original file name.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// SHA-1 of the file, base64 (FHIR's `Attachment.hash`), when the file is at hand.
    pub sha1_base64: Option<String>,
    /// Media type of the file.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The chart's pages that come from this file.
    pub pages: Vec<u32>,
}

/// A committed chart, ready to become FHIR resources.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedChart {
    /// Public chart id.
    pub chart: String,
    /// Facility code.
    pub facility: String,
    /// The chart's patient.
    pub patient: PatientEntry,
    /// The record.
    pub record: ClinicalRecord,
    /// Scans the chart came from.
    pub scans: Vec<ScanEntry>,
    /// Who approved it.
    pub reviewer: String,
    /// When, RFC 3339 (`2026-11-26T02:41:51Z`).
    pub approved_at: String,
}

/// A `urn:uuid:` URL derived from a name (stable across runs).
pub fn uuid_url(name: &str) -> String {
    let h = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8: name-based, custom hash
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn identifier(system: &str, value: &str) -> Value {
    json!({"system": system, "value": value})
}

fn conditional(resource_type: &str, system: &str, value: &str, resource: Value) -> Value {
    json!({
        "fullUrl": uuid_url(&format!("{resource_type}|{system}|{value}")),
        "resource": resource,
        "request": {"method": "POST", "url": resource_type, "ifNoneExist": format!("identifier={system}|{value}")},
    })
}

fn full_url(resource_type: &str, system: &str, value: &str) -> String {
    uuid_url(&format!("{resource_type}|{system}|{value}"))
}

fn reference(url: &str) -> Value {
    json!({"reference": url})
}

/// Family name and given names of a romanised Cambodian name: the word in capitals is the
/// family name (`SOK Sopheap`, `Sopheap SOK`); without one, the first word.
fn split_latin(name: &str) -> (String, Vec<String>) {
    let words: Vec<&str> = name.split_whitespace().collect();
    let caps = |w: &&str| w.chars().any(char::is_alphabetic) && w.chars().all(|c| !c.is_lowercase());
    let family = match words.iter().position(caps) {
        Some(i) if words.iter().filter(|w| caps(w)).count() < words.len() => i,
        _ => 0,
    };
    let given = words.iter().enumerate().filter(|(i, _)| *i != family).map(|(_, w)| w.to_string()).collect();
    (words.get(family).map(|w| w.to_string()).unwrap_or_default(), given)
}

fn human_name(text: &str, khmer: bool) -> Value {
    let (family, given) = if khmer {
        let mut w = text.split_whitespace().map(str::to_string);
        (w.next().unwrap_or_default(), w.collect())
    } else {
        split_latin(text)
    };
    let mut name = json!({"use": if khmer { "usual" } else { "official" }, "text": text, "family": family});
    if !given.is_empty() {
        name["given"] = json!(given);
    }
    if khmer {
        name["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/language", "valueCode": "km"}]);
    }
    name
}

fn patient_resource(p: &PatientEntry, org: &str) -> Value {
    let mut ids = vec![identifier(PATIENT_SYSTEM, &p.public_id)];
    for (facility, no) in &p.person.identifiers {
        let mut id = identifier(&patient_number_system(facility), no);
        id["use"] = json!("usual");
        id["assigner"] = json!({"display": facility});
        ids.push(id);
    }
    let mut r = json!({"resourceType": "Patient", "identifier": ids, "managingOrganization": reference(org)});
    let names: Vec<Value> = p.person.names_latin.iter().map(|n| human_name(n, false)).chain(p.person.names_khmer.iter().map(|n| human_name(n, true))).collect();
    if !names.is_empty() {
        r["name"] = json!(names);
    }
    if let Some(sex) = &p.person.sex {
        r["gender"] = json!(match sex.as_str() {
            "M" => "male",
            "F" => "female",
            _ => "unknown",
        });
    }
    if let Some(b) = &p.person.birth_date {
        r["birthDate"] = json!(b);
    }
    if !p.person.phones.is_empty() {
        r["telecom"] = json!(p.person.phones.iter().map(|ph| json!({"system": "phone", "value": ph})).collect::<Vec<_>>());
    }
    let [village, commune, district, province] = &p.address;
    if p.address.iter().any(Option::is_some) {
        let mut a = json!({"use": "home", "country": "KH"});
        if let Some(v) = village {
            a["line"] = json!([v]);
        }
        if let Some(c) = commune {
            a["city"] = json!(c);
        }
        if let Some(d) = district {
            a["district"] = json!(d);
        }
        if let Some(p) = province {
            a["state"] = json!(p);
        }
        r["address"] = json!([a]);
    }
    r
}

fn encounter_resource(c: &CommittedChart, patient: &str, org: &str) -> Value {
    let e = &c.record.encounter;
    let (class, class_display, type_text) = match e.kind {
        EncounterKind::Outpatient => ("AMB", "ambulatory", "Outpatient consultation"),
        EncounterKind::Inpatient => ("IMP", "inpatient encounter", "Inpatient stay"),
        EncounterKind::Antenatal => ("AMB", "ambulatory", "Antenatal care visit"),
    };
    let mut r = json!({
        "resourceType": "Encounter",
        "identifier": [identifier(CHART_SYSTEM, &c.chart)],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": class_display},
        "type": [{"text": type_text}],
        "subject": reference(patient),
        "serviceProvider": reference(org),
    });
    let mut period = Map::new();
    if let Some(s) = &e.start {
        period.insert("start".into(), json!(s));
    }
    if let Some(s) = &e.end {
        period.insert("end".into(), json!(s));
    }
    if !period.is_empty() {
        r["period"] = Value::Object(period);
    }
    if let Some(reason) = &e.reason {
        r["reasonCode"] = json!([{"text": reason}]);
    }
    if let Some(doctor) = &e.doctor {
        r["participant"] = json!([{"individual": {"display": doctor}}]);
    }
    if let Some(ward) = &e.ward {
        r["location"] = json!([{"location": {"display": format!("Ward: {ward}")}}]);
    }
    if let Some(outcome) = &e.outcome {
        let code = match outcome.as_str() {
            "recovered" | "improved" => Some(("home", "Home")),
            "referred" => Some(("other-hcf", "Other healthcare facility")),
            "died" => Some(("exp", "Expired")),
            "left_against_advice" => Some(("aadvice", "Left against advice")),
            _ => None,
        };
        let mut d = json!({"text": outcome});
        if let Some((code, display)) = code {
            d["coding"] = json!([{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": code, "display": display}]);
        }
        r["hospitalization"] = json!({"dischargeDisposition": d});
    }
    if let Some(to) = &e.referred_to {
        if r.get("hospitalization").is_none() {
            r["hospitalization"] = json!({});
        }
        r["hospitalization"]["destination"] = json!({"display": to});
    }
    if let Some(days) = e.length_days.as_deref().and_then(|d| d.parse::<u32>().ok()) {
        r["length"] = json!({"value": days, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"});
    }
    r
}

fn source_region(c: &CommittedChart, f: &Fact) -> Value {
    let place = match f.bbox {
        Some(b) => format!("chart {} page {} field {} box [{}, {}, {}, {}]", c.chart, f.page, f.field, b.x, b.y, b.w, b.h),
        None => format!("chart {} page {} field {}", c.chart, f.page, f.field),
    };
    json!([{"url": SOURCE_REGION_URL, "valueString": place}])
}

/// A UCUM quantity; the number keeps the form it was written in (`119`, not `119.0`).
fn quantity(value: &str, unit: &str) -> Value {
    let v: Value = serde_json::from_str::<serde_json::Number>(value.trim()).map(Value::Number).unwrap_or_else(|_| json!(value.parse::<f64>().unwrap_or(0.0)));
    json!({"value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
}

/// A lab result's quantity: coded in UCUM where its printed unit is a UCUM unit, else the
/// unit as printed only.
fn lab_quantity(value: &str, printed: Option<&str>) -> Value {
    match printed.and_then(crate::record::ucum_unit) {
        Some(code) => quantity(value, &code),
        None => {
            let mut q = quantity(value, "1");
            q.as_object_mut().expect("an object").retain(|k, _| k == "value");
            if let Some(p) = printed {
                q["unit"] = json!(p);
            }
            q
        }
    }
}

fn fact_resource(c: &CommittedChart, f: &Fact, patient: &str, encounter: &str, scan: Option<&str>) -> Value {
    let mut code = json!({"text": f.display});
    if let (Some(system), Some(value)) = (&f.system, &f.code) {
        let mut coding = json!({"system": system, "code": value});
        if f.kind == FactKind::Observation {
            coding["display"] = json!(f.display);
        } else if let Some(title) = crate::reference::icd10::title(value).filter(|_| system == crate::record::ICD10) {
            // The WHO title of the code; the chart's own words stay in `text`.
            coding["display"] = json!(title);
        }
        code["coding"] = json!([coding]);
    }
    let id = format!("{}/{}", c.chart, f.field);
    let mut r = match f.kind {
        FactKind::Condition => {
            let mut r = json!({
                "resourceType": "Condition",
                "identifier": [identifier(FACT_SYSTEM, &id)],
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}],
                "code": code,
                "subject": reference(patient),
                "encounter": reference(encounter),
            });
            if f.field != "diagnosis" {
                r["note"] = json!([{"text": f.field.replace('_', " ")}]);
            }
            if let Some(d) = &c.record.encounter.start {
                r["recordedDate"] = json!(d);
            }
            if let Some(s) = scan {
                r["evidence"] = json!([{"detail": [reference(s)]}]);
            }
            r
        }
        FactKind::Observation => {
            let measured = f.field.rsplit('.').next().unwrap_or(&f.field);
            let category = match measured {
                _ if f.field.starts_with("lab_results.") => "laboratory",
                "hemoglobin_g_dl" => "laboratory",
                "gravida" | "para" | "lmp_date" | "edd_date" | "gestational_age_weeks" | "fundal_height_cm" | "fetal_heart_rate_bpm" => "exam",
                _ => "vital-signs",
            };
            let mut r = json!({
                "resourceType": "Observation",
                "identifier": [identifier(FACT_SYSTEM, &id)],
                "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
                "code": code,
                "subject": reference(patient),
                "encounter": reference(encounter),
            });
            if let Some(d) = f.effective.as_ref().or(c.record.encounter.start.as_ref()) {
                r["effectiveDateTime"] = json!(d);
            }
            let unit = f.unit.as_deref().unwrap_or("1");
            match f.value_kind {
                ValueKind::Quantity if f.code.is_none() => r["valueQuantity"] = lab_quantity(&f.value, f.unit.as_deref()),
                ValueKind::Quantity | ValueKind::Count => r["valueQuantity"] = quantity(&f.value, unit),
                ValueKind::Date => r["valueDateTime"] = json!(f.value),
                ValueKind::BloodPressure => {
                    let (s, d) = blood_pressure(&f.value).unwrap_or_default();
                    r["component"] = json!([
                        {"code": {"coding": [{"system": crate::record::LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]}, "valueQuantity": quantity(&s.to_string(), unit)},
                        {"code": {"coding": [{"system": crate::record::LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]}, "valueQuantity": quantity(&d.to_string(), unit)},
                    ]);
                }
                ValueKind::Text => r["valueString"] = json!(f.value),
            }
            if let Some(s) = scan {
                r["derivedFrom"] = json!([reference(s)]);
            }
            r
        }
    };
    r["extension"] = source_region(c, f);
    r
}

/// The id of a chart's Provenance resource.
pub fn provenance_id(chart: &str) -> String {
    let id: String = format!("chartscan-{chart}").chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect();
    id.chars().take(64).collect()
}

/// A patient's entries: their facility (conditional create) and the Patient as chartscan
/// knows them now, every name, number and phone of their charts (a conditional update on the
/// chartscan identifier: created once, then kept up to date, never twice).
pub fn patient_entries(p: &PatientEntry, facility: &str) -> Vec<Value> {
    let org = full_url("Organization", FACILITY_SYSTEM, facility);
    vec![
        conditional(
            "Organization",
            FACILITY_SYSTEM,
            facility,
            json!({"resourceType": "Organization", "identifier": [identifier(FACILITY_SYSTEM, facility)], "name": facility}),
        ),
        json!({
            "fullUrl": full_url("Patient", PATIENT_SYSTEM, &p.public_id),
            "resource": patient_resource(p, &org),
            "request": {"method": "PUT", "url": format!("Patient?identifier={PATIENT_SYSTEM}|{}", p.public_id)},
        }),
    ]
}

/// The bundle entries of one committed chart (its Organization and Patient included; the
/// caller drops repeats when several charts share them).
pub fn chart_entries(c: &CommittedChart) -> Vec<Value> {
    let org = full_url("Organization", FACILITY_SYSTEM, &c.facility);
    let patient = full_url("Patient", PATIENT_SYSTEM, &c.patient.public_id);
    let encounter = full_url("Encounter", CHART_SYSTEM, &c.chart);
    let mut entries = patient_entries(&c.patient, &c.facility);
    if let Some(name) = &c.record.encounter.facility_name {
        // The facility as its cards name it, its code as an alias.
        entries[0]["resource"]["name"] = json!(name);
        entries[0]["resource"]["alias"] = json!([c.facility]);
    }
    entries.push(conditional("Encounter", CHART_SYSTEM, &c.chart, encounter_resource(c, &patient, &org)));
    let mut scan_urls = Vec::new();
    for s in &c.scans {
        let id = format!("{}/{}", c.chart, s.sha256);
        let mut attachment = json!({"contentType": s.media_type, "title": s.file, "size": s.size});
        if let Some(h) = &s.sha1_base64 {
            attachment["hash"] = json!(h);
        }
        let pages = s.pages.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        let doc = json!({
            "resourceType": "DocumentReference",
            "identifier": [identifier(SCAN_SYSTEM, &id), identifier("urn:ietf:rfc:6920", &format!("ni:///sha-256;{}", s.sha256))],
            "status": "current",
            "type": {"text": "Scanned paper chart"},
            "subject": reference(&patient),
            "date": c.approved_at,
            "description": format!("{} (chart {} page {})", s.file, c.chart, pages),
            "content": [{"attachment": attachment}],
            "context": {"encounter": [reference(&encounter)]},
        });
        scan_urls.push((s.pages.clone(), full_url("DocumentReference", SCAN_SYSTEM, &id), format!("{}, page {pages} of chart {}", s.file, c.chart)));
        entries.push(conditional("DocumentReference", SCAN_SYSTEM, &id, doc));
    }
    let mut targets = vec![reference(&encounter)];
    for f in &c.record.facts {
        let scan = scan_urls.iter().find(|(pages, _, _)| pages.contains(&f.page)).or(scan_urls.first()).map(|(_, u, _)| u.as_str());
        let kind = if f.kind == FactKind::Condition { "Condition" } else { "Observation" };
        let id = format!("{}/{}", c.chart, f.field);
        targets.push(reference(&full_url(kind, FACT_SYSTEM, &id)));
        entries.push(conditional(kind, FACT_SYSTEM, &id, fact_resource(c, f, &patient, &encounter, scan)));
    }
    let pid = provenance_id(&c.chart);
    let provenance = json!({
        "resourceType": "Provenance",
        "id": pid,
        "target": targets,
        "recorded": c.approved_at,
        "activity": {"text": "Read from a scanned paper chart by OCR and approved by a reviewer"},
        "agent": [
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "verifier", "display": "Verifier"}]},
             "who": {"identifier": identifier(USER_SYSTEM, &c.reviewer), "display": c.reviewer}},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "assembler", "display": "Assembler"}]},
             "who": {"display": "chartscan"}},
        ],
        "entity": scan_urls.iter().map(|(_, u, what)| json!({"role": "source", "what": {"reference": u, "display": what}})).collect::<Vec<_>>(),
    });
    entries.push(json!({
        "fullUrl": uuid_url(&format!("Provenance|{pid}")),
        "resource": provenance,
        "request": {"method": "PUT", "url": format!("Provenance/{pid}")},
    }));
    entries
}

/// A transaction Bundle of the given entries, repeats (same full URL) dropped.
pub fn transaction(entries: impl IntoIterator<Item = Value>) -> Value {
    let mut seen = std::collections::BTreeSet::new();
    let entries: Vec<Value> = entries
        .into_iter()
        .filter(|e| match e.get("fullUrl").and_then(Value::as_str) {
            Some(u) => seen.insert(u.to_string()),
            None => seen.insert(e["request"]["url"].to_string()),
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// The transaction Bundle of committed charts.
pub fn bundle(charts: &[CommittedChart]) -> Value {
    transaction(charts.iter().flat_map(chart_entries))
}

/// The conditional deletes that take back what [`chart_entries`] created for a chart whose
/// facts were in `fact_fields` (kind, field) and scans in `scan_shas`; the patient and the
/// facility stay.
pub fn retraction_urls(chart: &str, facts: &[(FactKind, String)], scan_shas: &[String]) -> Vec<String> {
    let mut urls = vec![format!("Provenance/{}", provenance_id(chart))];
    for (kind, field) in facts {
        let t = if *kind == FactKind::Condition { "Condition" } else { "Observation" };
        urls.push(format!("{t}?identifier={FACT_SYSTEM}|{chart}/{field}"));
    }
    for sha in scan_shas {
        urls.push(format!("DocumentReference?identifier={SCAN_SYSTEM}|{chart}/{sha}"));
    }
    urls.push(format!("Encounter?identifier={CHART_SYSTEM}|{chart}"));
    urls
}

/// Bundle entries deleting the given URLs.
pub fn delete_entries(urls: &[String]) -> Vec<Value> {
    urls.iter().map(|u| json!({"request": {"method": "DELETE", "url": u}})).collect()
}

/// How many resources of each type a bundle holds, e.g. `Patient: 3`.
pub fn resource_counts(bundle: &Value) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let t = e["resource"]["resourceType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} (delete)", e["request"]["url"].as_str().unwrap_or("").split(['?', '/']).next().unwrap_or("")));
        *counts.entry(t).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourceField;
    use crate::BBox;
    use std::collections::BTreeMap;

    fn committed(chart: &str, patient: &str) -> CommittedChart {
        let fields: BTreeMap<String, SourceField> = [
            ("name_khmer", "សុខ សុភាព"),
            ("name_latin", "SOK Sopheap"),
            ("sex", "F"),
            ("date_of_birth", "1990-03-04"),
            ("visit_date", "2025-02-01"),
            ("blood_pressure", "110/70"),
            ("weight_kg", "55.5"),
            ("gravida", "2"),
            ("para", "1"),
            ("lmp_date", "2024-08-17"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), SourceField { value: Some(v.to_string().into()), page: 1, bbox: Some(BBox::new(1, 2, 3, 4)) }))
        .collect();
        let record = ClinicalRecord::build("anc", &fields).unwrap();
        let person = Person::from_facts("PP01", &record.patient);
        CommittedChart {
            chart: chart.into(),
            facility: "PP01".into(),
            patient: PatientEntry { public_id: patient.into(), person, address: [Some("Phum Thmei".into()), None, None, Some("Kandal".into())] },
            record,
            scans: vec![ScanEntry {
                file: "scan.tiff".into(),
                sha256: "ab".repeat(32),
                sha1_base64: Some("AAAA".into()),
                media_type: "image/tiff".into(),
                size: 10,
                pages: vec![1],
            }],
            reviewer: "demo".into(),
            approved_at: "2026-11-26T02:00:00Z".into(),
        }
    }

    #[test]
    fn a_bundle_holds_each_resource_once_with_conditional_creates() {
        let b = bundle(&[committed("C1", "P-1"), committed("C2", "P-1")]);
        let counts = resource_counts(&b);
        assert_eq!(counts["Patient"], 1, "two charts of one patient: one Patient");
        assert_eq!(counts["Organization"], 1);
        assert_eq!(counts["Encounter"], 2);
        assert_eq!(counts["Observation"], 10);
        assert_eq!(counts["Provenance"], 2);
        for e in b["entry"].as_array().unwrap() {
            let method = e["request"]["method"].as_str().unwrap();
            if method == "POST" {
                let cond = e["request"]["ifNoneExist"].as_str().unwrap();
                let id = &e["resource"]["identifier"][0];
                assert_eq!(cond, format!("identifier={}|{}", id["system"].as_str().unwrap(), id["value"].as_str().unwrap()));
            } else {
                assert_eq!(method, "PUT");
                let url = e["request"]["url"].as_str().unwrap();
                assert!(url.starts_with("Provenance/") || url.starts_with("Patient?identifier=urn:chartscan:patient|"), "{url}");
            }
        }
        assert_eq!(b, bundle(&[committed("C1", "P-1"), committed("C2", "P-1")]), "deterministic");
    }

    #[test]
    fn resources_carry_codes_units_names_and_provenance() {
        let b = bundle(&[committed("C1", "P-1")]);
        let resources: Vec<&Value> = b["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
        let find = |t: &'static str| resources.clone().into_iter().filter(move |r| r["resourceType"] == t);
        let patient = find("Patient").next().unwrap();
        assert_eq!(patient["gender"], "female");
        assert_eq!(patient["name"][0]["family"], "SOK");
        assert_eq!(patient["name"][1]["text"], "សុខ សុភាព");
        assert_eq!(patient["identifier"][0]["value"], "P-1");
        let bp = find("Observation").find(|o| o["code"]["coding"][0]["code"] == "85354-9").unwrap();
        assert_eq!(bp["component"][0]["valueQuantity"]["value"], json!(110), "written as it was read, not 110.0");
        assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");
        assert!(bp["extension"][0]["valueString"].as_str().unwrap().contains("box [1, 2, 3, 4]"));
        let prov = find("Provenance").next().unwrap();
        assert_eq!(prov["agent"][0]["who"]["display"], "demo");
        assert_eq!(prov["target"].as_array().unwrap().len(), 1 + 5);
        assert_eq!(prov["entity"][0]["what"]["reference"], bp["derivedFrom"][0]["reference"]);
        assert_eq!(prov["entity"][0]["what"]["display"], "scan.tiff, page 1 of chart C1", "the source page, named");
    }

    #[test]
    fn latin_names_split_on_the_capitalised_family_name() {
        assert_eq!(split_latin("SOK Sopheap"), ("SOK".into(), vec!["Sopheap".into()]));
        assert_eq!(split_latin("Sopheap SOK"), ("SOK".into(), vec!["Sopheap".into()]));
        assert_eq!(split_latin("Chan Dara"), ("Chan".into(), vec!["Dara".into()]));
        assert_eq!(split_latin("CHAN DARA"), ("CHAN".into(), vec!["DARA".into()]));
    }

    #[test]
    fn retraction_deletes_what_was_created() {
        let urls = retraction_urls("C1", &[(FactKind::Observation, "weight_kg".into())], &["ab".into()]);
        assert_eq!(
            urls,
            vec![
                "Provenance/chartscan-C1",
                "Observation?identifier=urn:chartscan:fact|C1/weight_kg",
                "DocumentReference?identifier=urn:chartscan:scan|C1/ab",
                "Encounter?identifier=urn:chartscan:chart|C1"
            ]
        );
        assert_eq!(resource_counts(&transaction(delete_entries(&urls)))["Observation (delete)"], 1);
    }
}
