//! Structured records: what an approved chart commits (a patient, matched across charts; an
//! encounter; clinical facts with their source boxes) and taking it back on un-approval.
//! Reading the committed records back for FHIR is [`crate::committed`]; the queue of changes
//! for the FHIR server is [`crate::outbox`].
//!
//! Invariant: a chart's record is written in the transaction that approves it, and retracted
//! in the one that un-approves it; each also queues one outbox row in that transaction, so a
//! crash cannot approve without queueing or queue without approving.
//! Invariant: committing an already committed chart rewrites the same rows (idempotent).

use crate::outbox::{OutboxOp, Retraction};
use crate::{audit, now_ms, Result, Store, StoreError};
use chart::matching::{self, blocking_keys, Decision, Person};
use chart::record::{ClinicalRecord, FactKind, SourceField};
use chart::ChartStatus;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// Who a chart's patient is, when approving.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientChoice {
    /// Let matching decide; an uncertain match stops the approval with the candidates.
    #[default]
    Auto,
    /// The reviewer says it is this stored patient.
    Existing(String),
    /// The reviewer says it is nobody stored.
    New,
}

/// A stored patient the chart's patient may be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Patient id (`P-…`).
    pub patient: String,
    /// Match score, 0..1.
    pub score: f32,
    /// The evidence in words.
    pub reasons: Vec<String>,
    /// Names seen on the patient's charts.
    pub names: Vec<String>,
    /// Date or year of birth.
    pub birth_date: Option<String>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// How many committed charts the patient has.
    pub charts: i64,
}

/// What matching makes of a chart's patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum MatchOutcome {
    /// A clear match.
    Link {
        /// The candidate.
        candidate: Candidate,
    },
    /// The reviewer must choose.
    Ask {
        /// Best first.
        candidates: Vec<Candidate>,
    },
    /// Nobody alike.
    New,
    /// The chart has no form that records a patient, or is committed already.
    NotApplicable,
}

/// How a committed chart's patient was found (stored as `encounters.match_how`, serialised
/// in snake case for the review page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchHow {
    /// Matching linked it to a stored patient with confidence.
    Linked,
    /// Matching found no one: a new patient.
    New,
    /// A reviewer chose the stored patient.
    Chosen,
    /// A reviewer said it is a new patient.
    ChosenNew,
    /// Committed again under the patient it had (after a correction).
    Recommitted,
}

impl MatchHow {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchHow::Linked => "linked",
            MatchHow::New => "new",
            MatchHow::Chosen => "chosen",
            MatchHow::ChosenNew => "chosen_new",
            MatchHow::Recommitted => "recommitted",
        }
    }

    /// The value stored as `s`.
    pub fn parse(s: &str) -> Result<MatchHow> {
        [MatchHow::Linked, MatchHow::New, MatchHow::Chosen, MatchHow::ChosenNew, MatchHow::Recommitted]
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("match_how {s:?}")))
    }
}

impl std::fmt::Display for MatchHow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What committing a chart did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    /// The patient it is filed under.
    pub patient: String,
    /// How the patient was found.
    pub how: MatchHow,
    /// The match score, when linked to a stored patient.
    pub score: Option<f32>,
    /// Clinical facts written.
    pub facts: usize,
}

fn patient_public_id(founding_chart: &str) -> String {
    let h = crate::blobs::sha256_hex(founding_chart.as_bytes());
    format!("P-{}", &h[..12])
}

struct StoredPatient {
    id: i64,
    public_id: String,
    person: Person,
}

async fn chart_facts(conn: &mut AnyConnection, chart_id: i64) -> Result<(String, Option<String>, BTreeMap<String, SourceField>)> {
    let row = sqlx::query("SELECT facility, form FROM charts WHERE id = $1").bind(chart_id).fetch_one(&mut *conn).await?;
    let (facility, form): (String, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
    let mut fields = BTreeMap::new();
    for r in sqlx::query("SELECT name, value, page, bbox, value_rows FROM fields WHERE chart_id = $1").bind(chart_id).fetch_all(&mut *conn).await? {
        let bbox: Option<String> = r.try_get(3)?;
        fields.insert(
            r.try_get::<String, _>(0)?,
            SourceField {
                value: crate::extraction::stored_value(r.try_get(1)?, r.try_get(4)?),
                page: r.try_get::<i64, _>(2)? as u32,
                bbox: bbox.and_then(|b| serde_json::from_str(&b).ok()),
            },
        );
    }
    Ok((facility, form, fields))
}

fn person_of(row: &AnyRow) -> Result<StoredPatient> {
    let json: String = row.try_get(2)?;
    Ok(StoredPatient {
        id: row.try_get(0)?,
        public_id: row.try_get(1)?,
        person: serde_json::from_str(&json).map_err(|e| StoreError::Invalid(format!("stored patient: {e}")))?,
    })
}

async fn candidates_for(conn: &mut AnyConnection, person: &Person) -> Result<Vec<(StoredPatient, matching::Score)>> {
    let keys = blocking_keys(person, false);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT p.id, p.public_id, p.person_json FROM patients p JOIN
           (SELECT patient_id, COUNT(*) AS shared FROM patient_keys WHERE key IN ({}) GROUP BY patient_id ORDER BY shared DESC, patient_id LIMIT 500) k
           ON k.patient_id = p.id ORDER BY k.shared DESC, p.id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for k in &keys {
        q = q.bind(k);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let p = person_of(r)?;
            let s = matching::score(person, &p.person);
            Ok((p, s))
        })
        .collect()
}

async fn describe(conn: &mut AnyConnection, p: &StoredPatient, s: &matching::Score) -> Result<Candidate> {
    let charts: i64 = sqlx::query("SELECT COUNT(*) FROM encounters WHERE patient_id = $1").bind(p.id).fetch_one(&mut *conn).await?.try_get(0)?;
    Ok(Candidate {
        patient: p.public_id.clone(),
        score: s.score,
        reasons: s.reasons.clone(),
        names: p.person.names_khmer.iter().chain(&p.person.names_latin).cloned().collect(),
        birth_date: p.person.birth_date.clone(),
        sex: p.person.sex.clone(),
        charts,
    })
}

async fn match_in(conn: &mut AnyConnection, person: &Person) -> Result<(MatchOutcome, Vec<StoredPatient>)> {
    let found = candidates_for(conn, person).await?;
    let scores = found.iter().map(|(_, s)| s.clone()).collect();
    let decision = matching::decide(scores);
    let mut patients: Vec<StoredPatient> = Vec::new();
    let outcome = match decision {
        Decision::Link(i, s) => {
            let c = describe(conn, &found[i].0, &s).await?;
            MatchOutcome::Link { candidate: c }
        }
        Decision::Ask(list) => {
            let mut candidates = Vec::new();
            for (i, s) in list {
                candidates.push(describe(conn, &found[i].0, &s).await?);
            }
            MatchOutcome::Ask { candidates }
        }
        Decision::New => MatchOutcome::New,
    };
    patients.extend(found.into_iter().map(|(p, _)| p));
    Ok((outcome, patients))
}

async fn file_patient(conn: &mut AnyConnection, id: i64, person: &Person, address: &[Option<String>; 4]) -> Result<()> {
    let json = serde_json::to_string(person).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let addr = serde_json::to_string(address).map_err(|e| StoreError::Invalid(e.to_string()))?;
    sqlx::query("UPDATE patients SET person_json = $1, address_json = $2, updated_at = $3 WHERE id = $4")
        .bind(json)
        .bind(addr)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM patient_keys WHERE patient_id = $1").bind(id).execute(&mut *conn).await?;
    for k in blocking_keys(person, true) {
        sqlx::query("INSERT INTO patient_keys (key, patient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(k).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

fn address_of(r: &ClinicalRecord) -> [Option<String>; 4] {
    let p = &r.patient;
    [p.village.clone(), p.commune.clone(), p.district.clone(), p.province.clone()]
}

/// Writes a chart's record inside the caller's transaction. `Ok(None)` when the chart's form
/// records no patient (it is approved all the same).
pub(crate) async fn commit_in(conn: &mut AnyConnection, chart_id: i64, public_id: &str, reviewer: &str, choice: &PatientChoice) -> Result<Option<Committed>> {
    // Two approvals of the same new patient at once must not create two patients: commits
    // take turns (SQLite's BEGIN IMMEDIATE already serialises writers).
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("LOCK TABLE patients IN SHARE ROW EXCLUSIVE MODE").execute(&mut *conn).await?;
    }
    let (facility, form, fields) = chart_facts(conn, chart_id).await?;
    let Some(record) = form.as_deref().and_then(|f| ClinicalRecord::build(f, &fields)) else { return Ok(None) };
    let person = Person::from_facts(&facility, &record.patient);
    let existing = sqlx::query("SELECT e.id, e.patient_id, p.public_id FROM encounters e JOIN patients p ON p.id = e.patient_id WHERE e.chart_id = $1")
        .bind(chart_id)
        .fetch_optional(&mut *conn)
        .await?;
    let (patient_id, patient_public, how, score) = if let Some(row) = existing {
        let (enc, pid, ppub): (i64, i64, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        sqlx::query("DELETE FROM facts WHERE encounter_id = $1").bind(enc).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM encounters WHERE id = $1").bind(enc).execute(&mut *conn).await?;
        (pid, ppub, MatchHow::Recommitted, None)
    } else {
        let chosen = match choice {
            PatientChoice::Existing(p) => {
                let row = sqlx::query("SELECT id, public_id, person_json FROM patients WHERE public_id = $1")
                    .bind(p)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("patient {p}")))?;
                let stored = person_of(&row)?;
                let s = matching::score(&person, &stored.person);
                Some((stored.id, stored.public_id, MatchHow::Chosen, Some(s.score)))
            }
            PatientChoice::New => None,
            PatientChoice::Auto => match match_in(conn, &person).await? {
                (MatchOutcome::Link { candidate }, stored) => {
                    let id = stored
                        .iter()
                        .find(|p| p.public_id == candidate.patient)
                        .map(|p| p.id)
                        .ok_or_else(|| StoreError::NotFound(candidate.patient.clone()))?;
                    Some((id, candidate.patient, MatchHow::Linked, Some(candidate.score)))
                }
                (MatchOutcome::Ask { candidates }, _) => return Err(StoreError::NeedsPatientChoice { chart: public_id.to_string(), candidates }),
                _ => None,
            },
        };
        match chosen {
            Some((id, p, how, score)) => (id, p, how, score),
            None => {
                let mut p = patient_public_id(public_id);
                let mut n = 1;
                while sqlx::query("SELECT 1 FROM patients WHERE public_id = $1").bind(&p).fetch_optional(&mut *conn).await?.is_some() {
                    n += 1;
                    p = format!("{}-{n}", patient_public_id(public_id));
                }
                let now = now_ms();
                let id: i64 = sqlx::query(
                    "INSERT INTO patients (public_id, person_json, address_json, created_at, updated_at) VALUES ($1, '{}', '[]', $2, $2) RETURNING id",
                )
                .bind(&p)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
                let how = if *choice == PatientChoice::New { MatchHow::ChosenNew } else { MatchHow::New };
                (id, p, how, None)
            }
        }
    };
    // The patient as all their charts describe them, this one included.
    let mut merged = Person::default();
    for r in sqlx::query("SELECT patient_json FROM encounters WHERE patient_id = $1 ORDER BY id").bind(patient_id).fetch_all(&mut *conn).await? {
        let json: String = r.try_get(0)?;
        if let Ok(p) = serde_json::from_str::<Person>(&json) {
            merged.absorb(&p);
        }
    }
    merged.absorb(&person);
    file_patient(conn, patient_id, &merged, &address_of(&record)).await?;
    let e = &record.encounter;
    let person_json = serde_json::to_string(&person).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let enc: i64 = sqlx::query(
        "INSERT INTO encounters (chart_id, patient_id, kind, start_date, end_date, ward, outcome, reason, doctor, patient_json, match_how, match_score, reviewer, committed_at, length_days, referred_to, facility_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CAST($12 AS DOUBLE PRECISION), $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(chart_id)
    .bind(patient_id)
    .bind(e.kind.as_str())
    .bind(&e.start)
    .bind(&e.end)
    .bind(&e.ward)
    .bind(&e.outcome)
    .bind(&e.reason)
    .bind(&e.doctor)
    .bind(person_json)
    .bind(how.as_str())
    // As text: sqlx 0.8's Any driver binds a NULL f64 as a float4 on PostgreSQL, and the
    // statement cached with it then refuses an f64.
    .bind(score.map(|s| s.to_string()))
    .bind(reviewer)
    .bind(now_ms())
    .bind(&e.length_days)
    .bind(&e.referred_to)
    .bind(&e.facility_name)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    for f in &record.facts {
        sqlx::query(
            "INSERT INTO facts (encounter_id, field, kind, system, code, display, value, value_kind, unit, page, bbox, reviewer, effective) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(enc)
        .bind(&f.field)
        .bind(f.kind.as_str())
        .bind(&f.system)
        .bind(&f.code)
        .bind(&f.display)
        .bind(&f.value)
        .bind(f.value_kind.as_str())
        .bind(&f.unit)
        .bind(f.page as i64)
        .bind(f.bbox.map(|b| serde_json::to_string(&b).unwrap_or_default()))
        .bind(reviewer)
        .bind(&f.effective)
        .execute(&mut *conn)
        .await?;
    }
    let pending: i64 = sqlx::query("SELECT COUNT(*) FROM outbox WHERE chart = $1 AND op = $2 AND sent_at IS NULL")
        .bind(public_id)
        .bind(OutboxOp::Commit.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if pending == 0 {
        sqlx::query("INSERT INTO outbox (chart, op, created_at) VALUES ($1, $2, $3)")
            .bind(public_id)
            .bind(OutboxOp::Commit.as_str())
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
    }
    let detail = match score {
        Some(s) => format!("patient {patient_public} ({how}, score {s:.2}); {} facts", record.facts.len()),
        None => format!("patient {patient_public} ({how}); {} facts", record.facts.len()),
    };
    audit(conn, reviewer, "commit", Some(public_id), &detail).await?;
    Ok(Some(Committed { patient: patient_public, how, score, facts: record.facts.len() }))
}

impl Store {
    /// What matching makes of a chart's patient now (the review page shows it before
    /// approval). `NotApplicable` once the chart is committed.
    pub async fn patient_match(&self, public_id: &str) -> Result<MatchOutcome> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT c.id, e.id FROM charts c LEFT JOIN encounters e ON e.chart_id = c.id WHERE c.public_id = $1")
            .bind(public_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?;
        let (chart_id, enc): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        if enc.is_some() {
            return Ok(MatchOutcome::NotApplicable);
        }
        let (facility, form, fields) = chart_facts(&mut conn, chart_id).await?;
        let Some(record) = form.as_deref().and_then(|f| ClinicalRecord::build(f, &fields)) else { return Ok(MatchOutcome::NotApplicable) };
        Ok(match_in(&mut conn, &Person::from_facts(&facility, &record.patient)).await?.0)
    }

    /// Commits an approved chart's record again (after a template change, say). Idempotent:
    /// the same chart gives the same rows, under the same patient.
    pub async fn commit_chart(&self, public_id: &str, reviewer: &str) -> Result<Option<Committed>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT id, status FROM charts WHERE public_id = $1")
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?;
        let (id, status): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        if status != ChartStatus::Approved.as_str() {
            return Err(StoreError::InvalidState(format!("chart {public_id} is {status}; only approved charts are committed")));
        }
        let done = commit_in(&mut tx, id, public_id, reviewer, &PatientChoice::Auto).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Approved charts without a committed record (approved before records existed, say):
    /// (chart, who approved it).
    pub async fn approved_uncommitted(&self) -> Result<Vec<(String, Option<String>)>> {
        sqlx::query(
            "SELECT c.public_id, c.reviewer FROM charts c LEFT JOIN encounters e ON e.chart_id = c.id WHERE c.status = $1 AND e.id IS NULL ORDER BY c.id",
        )
        .bind(ChartStatus::Approved.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    /// Un-approves a chart (a manager's decision, with a reason): it goes back to review, its
    /// record is retracted (the patient too, when this was their only chart) and the
    /// retraction is queued for the FHIR server.
    pub async fn unapprove(&self, public_id: &str, version: i64, manager: &str, reason: &str) -> Result<crate::ChartRecord> {
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid("un-approving needs a reason".into()));
        }
        let mut tx = self.begin_write().await?;
        let id = self.change_chart(&mut tx, public_id, version, crate::charts::ChangeFrom::Approved, ChartStatus::InReview, manager).await?;
        sqlx::query("UPDATE charts SET second_keyed_by = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let retracted = retract_in(&mut tx, id, public_id).await?;
        audit(&mut tx, manager, "unapprove", Some(public_id), &format!("version {}; reason: {reason}; {retracted}", version + 1)).await?;
        tx.commit().await?;
        self.chart(public_id).await
    }

    /// How a chart was committed (its patient, how it was matched, the facts written), if it
    /// is.
    pub async fn commit_of(&self, public_id: &str) -> Result<Option<Committed>> {
        let row = sqlx::query(
            "SELECT p.public_id, e.match_how, e.match_score, (SELECT COUNT(*) FROM facts f WHERE f.encounter_id = e.id)
             FROM encounters e JOIN charts c ON c.id = e.chart_id JOIN patients p ON p.id = e.patient_id WHERE c.public_id = $1",
        )
        .bind(public_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Committed {
                patient: r.try_get(0)?,
                how: MatchHow::parse(&r.try_get::<String, _>(1)?)?,
                score: r.try_get::<Option<f64>, _>(2)?.map(|s| s as f32),
                facts: r.try_get::<i64, _>(3)? as usize,
            })
        })
        .transpose()
    }
}

/// Retracts a chart's record inside the caller's transaction and queues the retraction.
async fn retract_in(conn: &mut AnyConnection, chart_id: i64, public_id: &str) -> Result<String> {
    let Some(row) = sqlx::query(
        "SELECT e.id, e.patient_id, f.sha256 FROM encounters e JOIN charts c ON c.id = e.chart_id JOIN files f ON f.id = c.file_id WHERE e.chart_id = $1",
    )
    .bind(chart_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok("it had no committed record".into());
    };
    let (enc, patient, sha): (i64, i64, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let facts: Vec<(FactKind, String)> = sqlx::query("SELECT kind, field FROM facts WHERE encounter_id = $1 ORDER BY id")
        .bind(enc)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((FactKind::parse(&r.try_get::<String, _>(0)?).unwrap_or(FactKind::Observation), r.try_get(1)?)))
        .collect::<Result<_>>()?;
    sqlx::query("DELETE FROM facts WHERE encounter_id = $1").bind(enc).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM encounters WHERE id = $1").bind(enc).execute(&mut *conn).await?;
    let mut urls = chart::fhir::retraction_urls(public_id, &facts, &[sha]);
    let remaining = sqlx::query("SELECT patient_json FROM encounters WHERE patient_id = $1 ORDER BY id").bind(patient).fetch_all(&mut *conn).await?;
    let ppub: String = sqlx::query("SELECT public_id FROM patients WHERE id = $1").bind(patient).fetch_one(&mut *conn).await?.try_get(0)?;
    let patient_note = if remaining.is_empty() {
        sqlx::query("DELETE FROM patient_keys WHERE patient_id = $1").bind(patient).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM patients WHERE id = $1").bind(patient).execute(&mut *conn).await?;
        urls.push(format!("Patient?identifier={}|{ppub}", chart::fhir::PATIENT_SYSTEM));
        format!("patient {ppub} removed (no other chart)")
    } else {
        let mut merged = Person::default();
        for r in &remaining {
            if let Ok(p) = serde_json::from_str::<Person>(&r.try_get::<String, _>(0)?) {
                merged.absorb(&p);
            }
        }
        let addr: String = sqlx::query("SELECT address_json FROM patients WHERE id = $1").bind(patient).fetch_one(&mut *conn).await?.try_get(0)?;
        file_patient(conn, patient, &merged, &serde_json::from_str(&addr).unwrap_or_default()).await?;
        format!("patient {ppub} kept ({} other charts)", remaining.len())
    };
    let facility: String = sqlx::query("SELECT facility FROM charts WHERE id = $1").bind(chart_id).fetch_one(&mut *conn).await?.try_get(0)?;
    let kept = (!remaining.is_empty()).then_some(ppub.clone());
    let payload = serde_json::to_string(&Retraction { deletes: urls, patient: kept, facility }).map_err(|e| StoreError::Invalid(e.to_string()))?;
    sqlx::query("INSERT INTO outbox (chart, op, payload, created_at) VALUES ($1, $2, $3, $4)")
        .bind(public_id)
        .bind(OutboxOp::Retract.as_str())
        .bind(payload)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(format!("retracted the record and {} facts; {patient_note}", facts.len()))
}

#[cfg(test)]
mod tests {
    use crate::{NewFile, PageResult, Store};
    use chart::PageWords;

    /// `chartscan commit` backfills charts approved before records existed: made here by
    /// approving one and removing its record, as a database from before 0008 would have it.
    #[tokio::test]
    async fn approved_charts_without_a_record_are_found_and_committed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        let file = NewFile {
            sha256: "ab".repeat(32),
            original_name: "a.jpg".into(),
            source_path: "/a.jpg".into(),
            media_type: "image/jpeg".into(),
            size_bytes: 1,
            page_count: 1,
            facility: "PP01".into(),
            batch: "b".into(),
            box_label: None,
            operator: None,
            segments: vec![],
        };
        s.record_file(&file).await.unwrap();
        let job = s.claim_page("w", 60_000, 3).await.unwrap().unwrap();
        s.complete_page(
            job.page_id,
            &PageResult {
                image_sha256: "cd".repeat(32),
                width: 1000,
                height: 1400,
                skew: 0.0,
                words: PageWords::typeset(1, 1000, 1400, &["OUTPATIENT CONSULTATION CARD"]),
            },
        )
        .await
        .unwrap();
        let v = s.update_field(&job.chart, "name_latin", Some(&"SOK Sopheap".into()), 1, "rev").await.unwrap().version;
        s.approve(&job.chart, v, "rev").await.unwrap();
        assert!(s.approved_uncommitted().await.unwrap().is_empty(), "approving commits");
        for table in ["facts", "encounters", "patient_keys", "patients"] {
            sqlx::query(&format!("DELETE FROM {table}")).execute(&s.pool).await.unwrap();
        }
        assert_eq!(s.approved_uncommitted().await.unwrap(), vec![(job.chart.clone(), Some("rev".to_string()))]);
        let done = s.commit_chart(&job.chart, "rev").await.unwrap().unwrap();
        assert_eq!(done.how, crate::MatchHow::New);
        assert!(s.approved_uncommitted().await.unwrap().is_empty());
        assert_eq!(s.record_counts().await.unwrap().encounters, 1);
    }
}
