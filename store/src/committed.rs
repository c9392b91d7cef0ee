//! The committed records read back as FHIR export needs them ([`CommittedChart`]), the
//! stored patients, the counts of records, and the cache of each original's SHA-1 (FHIR's
//! `Attachment.hash`), computed once from the stored file.

use crate::{rfc3339, Result, Store, StoreError};
use chart::fhir::{CommittedChart, PatientEntry, ScanEntry};
use chart::matching::Person;
use chart::record::{ClinicalRecord, EncounterFacts, EncounterKind, Fact, FactKind, ValueKind};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// Counts of committed records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordCounts {
    /// Patients.
    pub patients: i64,
    /// Encounters (committed charts).
    pub encounters: i64,
    /// Clinical facts.
    pub facts: i64,
    /// Outbox rows not yet sent.
    pub outbox_pending: i64,
}

/// A clinical fact as stored.
#[derive(sqlx::FromRow)]
struct FactRow {
    encounter_id: i64,
    field: String,
    kind: String,
    system: Option<String>,
    code: Option<String>,
    display: String,
    value: String,
    value_kind: String,
    unit: Option<String>,
    page: i64,
    bbox: Option<String>,
    effective: Option<String>,
}

/// A committed encounter with its chart, patient and scanned file, as stored.
#[derive(sqlx::FromRow)]
struct EncounterRow {
    encounter_id: i64,
    chart_id: i64,
    chart: String,
    facility: String,
    kind: String,
    start_date: Option<String>,
    end_date: Option<String>,
    ward: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
    doctor: Option<String>,
    reviewer: String,
    committed_at: i64,
    patient: String,
    person_json: String,
    address_json: String,
    patient_json: String,
    original_name: String,
    sha256: String,
    media_type: String,
    size_bytes: i64,
    length_days: Option<String>,
    referred_to: Option<String>,
    facility_name: Option<String>,
}

impl Store {
    /// The committed charts (of one form, or all), oldest commit first, as FHIR export needs
    /// them. `sha1_base64` of the scans is left for the caller, who has the files.
    pub async fn committed_charts(&self, form: Option<&str>) -> Result<Vec<CommittedChart>> {
        self.committed_where("($1 = '' OR c.form = $1)", form.unwrap_or("")).await
    }

    /// The committed chart of this id, if it is committed.
    pub async fn committed_chart(&self, public_id: &str) -> Result<Option<CommittedChart>> {
        Ok(self.committed_where("c.public_id = $1", public_id).await?.pop())
    }

    /// Committed charts matching `filter` (SQL over `c`, the charts, with one parameter):
    /// three queries whatever their number (charts, facts, pages).
    async fn committed_where(&self, filter: &str, param: &str) -> Result<Vec<CommittedChart>> {
        let bad = |e: serde_json::Error| StoreError::Invalid(format!("stored record: {e}"));
        let mut facts: BTreeMap<i64, Vec<Fact>> = BTreeMap::new();
        let sql = format!(
            "SELECT f.encounter_id, f.field, f.kind, f.system, f.code, f.display, f.value, f.value_kind, f.unit, f.page, f.bbox, f.effective
             FROM facts f JOIN encounters e ON e.id = f.encounter_id JOIN charts c ON c.id = e.chart_id WHERE {filter} ORDER BY f.id"
        );
        for f in sqlx::query_as::<_, FactRow>(&sql).bind(param).fetch_all(&self.pool).await? {
            facts.entry(f.encounter_id).or_default().push(Fact {
                field: f.field,
                kind: FactKind::parse(&f.kind).unwrap_or(FactKind::Observation),
                system: f.system,
                code: f.code,
                display: f.display,
                value: f.value,
                value_kind: ValueKind::parse(&f.value_kind).unwrap_or(ValueKind::Text),
                unit: f.unit,
                page: f.page as u32,
                bbox: f.bbox.and_then(|b| serde_json::from_str(&b).ok()),
                effective: f.effective,
            });
        }
        let mut pages: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let sql = format!("SELECT p.chart_id, p.page_no FROM pages p JOIN encounters e ON e.chart_id = p.chart_id JOIN charts c ON c.id = p.chart_id WHERE {filter} ORDER BY p.chart_id, p.page_no");
        for (chart_id, page_no) in sqlx::query_as::<_, (i64, i64)>(&sql).bind(param).fetch_all(&self.pool).await? {
            pages.entry(chart_id).or_default().push(page_no as u32);
        }
        let sql = format!(
            "SELECT e.id AS encounter_id, c.id AS chart_id, c.public_id AS chart, c.facility, e.kind, e.start_date, e.end_date, e.ward, e.outcome,
                    e.reason, e.doctor, e.reviewer, e.committed_at, p.public_id AS patient, p.person_json, p.address_json, f.original_name,
                    f.sha256, f.media_type, f.size_bytes, e.patient_json, e.length_days, e.referred_to, e.facility_name
             FROM encounters e JOIN charts c ON c.id = e.chart_id JOIN patients p ON p.id = e.patient_id JOIN files f ON f.id = c.file_id
             WHERE {filter} ORDER BY e.id"
        );
        let mut out = Vec::new();
        for r in sqlx::query_as::<_, EncounterRow>(&sql).bind(param).fetch_all(&self.pool).await? {
            let person: Person = serde_json::from_str(&r.person_json).map_err(bad)?;
            let chart_person: Person = serde_json::from_str(&r.patient_json).map_err(bad)?;
            let address: [Option<String>; 4] = serde_json::from_str(&r.address_json).unwrap_or_default();
            let encounter = EncounterFacts {
                kind: EncounterKind::parse(&r.kind).unwrap_or(EncounterKind::Outpatient),
                start: r.start_date,
                end: r.end_date,
                ward: r.ward,
                outcome: r.outcome,
                reason: r.reason,
                doctor: r.doctor,
                length_days: r.length_days,
                referred_to: r.referred_to,
                facility_name: r.facility_name,
            };
            let patient_facts = chart::record::PatientFacts {
                patient_no: chart_person.identifiers.first().map(|(_, n)| n.clone()),
                name_khmer: chart_person.names_khmer.first().cloned(),
                name_latin: chart_person.names_latin.first().cloned(),
                sex: chart_person.sex.clone(),
                birth_date: chart_person.birth_date.clone(),
                birth_estimated: chart_person.birth_estimated,
                phone: chart_person.phones.first().cloned(),
                village: address[0].clone(),
                commune: address[1].clone(),
                district: address[2].clone(),
                province: address[3].clone(),
            };
            out.push(CommittedChart {
                chart: r.chart,
                facility: r.facility,
                patient: PatientEntry { public_id: r.patient, person, address },
                record: ClinicalRecord { patient: patient_facts, encounter, facts: facts.remove(&r.encounter_id).unwrap_or_default() },
                scans: vec![ScanEntry {
                    file: r.original_name,
                    sha256: r.sha256,
                    sha1_base64: None,
                    media_type: r.media_type,
                    size: r.size_bytes as u64,
                    pages: pages.remove(&r.chart_id).unwrap_or_default(),
                }],
                reviewer: r.reviewer,
                approved_at: rfc3339(r.committed_at),
            });
        }
        Ok(out)
    }

    /// Counts of committed records and pending outbox rows.
    pub async fn record_counts(&self) -> Result<RecordCounts> {
        // The running totals of migration 0019, kept by triggers: no count of the records.
        let mut c = RecordCounts::default();
        for r in sqlx::query("SELECT kind, n FROM record_tally").fetch_all(&self.pool).await? {
            let (kind, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            match kind.as_str() {
                "patients" => c.patients = n,
                "encounters" => c.encounters = n,
                "facts" => c.facts = n,
                "outbox_pending" => c.outbox_pending = n,
                _ => {}
            }
        }
        Ok(c)
    }

    /// A stored patient as FHIR export needs them.
    pub async fn patient_entry(&self, public_id: &str) -> Result<Option<PatientEntry>> {
        let Some(r) = sqlx::query("SELECT person_json, address_json FROM patients WHERE public_id = $1").bind(public_id).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let person: Person = serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(|e| StoreError::Invalid(format!("stored patient: {e}")))?;
        let address: [Option<String>; 4] = serde_json::from_str(&r.try_get::<String, _>(1)?).unwrap_or_default();
        Ok(Some(PatientEntry { public_id: public_id.to_string(), person, address }))
    }

    /// The SHA-1 (base64) of an original file, once computed.
    pub async fn file_sha1(&self, sha256: &str) -> Result<Option<String>> {
        Ok(sqlx::query("SELECT sha1_base64 FROM files WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .flatten())
    }

    /// Keeps the SHA-1 (base64) of an original file.
    pub async fn set_file_sha1(&self, sha256: &str, sha1_base64: &str) -> Result<()> {
        sqlx::query("UPDATE files SET sha1_base64 = $1 WHERE sha256 = $2").bind(sha1_base64).bind(sha256).execute(&self.writer).await?;
        Ok(())
    }
}
