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
        for f in sqlx::query(&sql).bind(param).fetch_all(&self.pool).await? {
            let bbox: Option<String> = f.try_get(10)?;
            facts.entry(f.try_get(0)?).or_default().push(Fact {
                field: f.try_get(1)?,
                kind: FactKind::parse(&f.try_get::<String, _>(2)?).unwrap_or(FactKind::Observation),
                system: f.try_get(3)?,
                code: f.try_get(4)?,
                display: f.try_get(5)?,
                value: f.try_get(6)?,
                value_kind: ValueKind::parse(&f.try_get::<String, _>(7)?).unwrap_or(ValueKind::Text),
                unit: f.try_get(8)?,
                page: f.try_get::<i64, _>(9)? as u32,
                bbox: bbox.and_then(|b| serde_json::from_str(&b).ok()),
                effective: f.try_get(11)?,
            });
        }
        let mut pages: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        let sql = format!("SELECT p.chart_id, p.page_no FROM pages p JOIN encounters e ON e.chart_id = p.chart_id JOIN charts c ON c.id = p.chart_id WHERE {filter} ORDER BY p.chart_id, p.page_no");
        for p in sqlx::query(&sql).bind(param).fetch_all(&self.pool).await? {
            pages.entry(p.try_get(0)?).or_default().push(p.try_get::<i64, _>(1)? as u32);
        }
        let sql = format!(
            "SELECT e.id, c.public_id, c.facility, e.kind, e.start_date, e.end_date, e.ward, e.outcome, e.reason, e.doctor, e.reviewer, e.committed_at,
                    p.public_id, p.person_json, p.address_json, f.original_name, f.sha256, f.media_type, f.size_bytes, c.id, e.patient_json,
                    e.length_days, e.referred_to, e.facility_name
             FROM encounters e JOIN charts c ON c.id = e.chart_id JOIN patients p ON p.id = e.patient_id JOIN files f ON f.id = c.file_id
             WHERE {filter} ORDER BY e.id"
        );
        let mut out = Vec::new();
        for r in sqlx::query(&sql).bind(param).fetch_all(&self.pool).await? {
            let enc: i64 = r.try_get(0)?;
            let chart_id: i64 = r.try_get(19)?;
            let person: Person = serde_json::from_str(&r.try_get::<String, _>(13)?).map_err(bad)?;
            let chart_person: Person = serde_json::from_str(&r.try_get::<String, _>(20)?).map_err(bad)?;
            let address: [Option<String>; 4] = serde_json::from_str(&r.try_get::<String, _>(14)?).unwrap_or_default();
            let kind: String = r.try_get(3)?;
            let encounter = EncounterFacts {
                kind: EncounterKind::parse(&kind).unwrap_or(EncounterKind::Outpatient),
                start: r.try_get(4)?,
                end: r.try_get(5)?,
                ward: r.try_get(6)?,
                outcome: r.try_get(7)?,
                reason: r.try_get(8)?,
                doctor: r.try_get(9)?,
                length_days: r.try_get(21)?,
                referred_to: r.try_get(22)?,
                facility_name: r.try_get(23)?,
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
                chart: r.try_get(1)?,
                facility: r.try_get(2)?,
                patient: PatientEntry { public_id: r.try_get(12)?, person, address },
                record: ClinicalRecord { patient: patient_facts, encounter, facts: facts.remove(&enc).unwrap_or_default() },
                scans: vec![ScanEntry {
                    file: r.try_get(15)?,
                    sha256: r.try_get(16)?,
                    sha1_base64: None,
                    media_type: r.try_get(17)?,
                    size: r.try_get::<i64, _>(18)? as u64,
                    pages: pages.remove(&chart_id).unwrap_or_default(),
                }],
                reviewer: r.try_get(10)?,
                approved_at: rfc3339(r.try_get(11)?),
            });
        }
        Ok(out)
    }

    /// Counts of committed records and pending outbox rows.
    pub async fn record_counts(&self) -> Result<RecordCounts> {
        let count = |sql: &'static str| async move { sqlx::query(sql).fetch_one(&self.pool).await?.try_get::<i64, _>(0).map_err(StoreError::from) };
        Ok(RecordCounts {
            patients: count("SELECT COUNT(*) FROM patients").await?,
            encounters: count("SELECT COUNT(*) FROM encounters").await?,
            facts: count("SELECT COUNT(*) FROM facts").await?,
            outbox_pending: count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await?,
        })
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
        sqlx::query("UPDATE files SET sha1_base64 = $1 WHERE sha256 = $2").bind(sha1_base64).bind(sha256).execute(&self.pool).await?;
        Ok(())
    }
}
