//! Charts as reviewers and exports see them: reading, correcting, approving, rejecting.
//! Every change checks the chart's version (optimistic locking), bumps it, and is audited.

use crate::extraction::stored_value;
use crate::{audit, now_ms, Result, Store, StoreError};
use chart::{BBox, ChartStatus, FieldValue};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// One source page of a chart: which file and which page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The original file name.
    pub file: String,
    /// SHA-256 of the original file.
    pub sha256: String,
    /// Page within the chart, from 1.
    pub page: u32,
}

/// A field as stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldRecord {
    /// Canonical value (text, or a table's rows), or null.
    pub value: Option<FieldValue>,
    /// Text as read by OCR (untrusted).
    pub raw: String,
    /// 0..1.
    pub confidence: f64,
    /// False only for auto-accepted or reviewer-confirmed fields.
    pub needs_review: bool,
    /// Page within the chart, from 1 (0: not found).
    pub page: u32,
    /// `[x, y, w, h]` on the stored page image.
    pub bbox: Option<BBox>,
    /// Whether a reviewer changed it.
    pub corrected: bool,
    /// Why it needs review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

impl FieldRecord {
    /// The value's text, when it has one and is not a table.
    pub fn text(&self) -> Option<&str> {
        self.value.as_ref().and_then(FieldValue::as_text)
    }
}

/// A page's processing state and stored image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageInfo {
    /// Page within the chart, from 1.
    pub page: u32,
    /// Where the page is in processing.
    pub status: chart::PageStatus,
    /// Image size, when processed.
    pub width: Option<u32>,
    /// Image size, when processed.
    pub height: Option<u32>,
    /// SHA-256 of the stored page image, when processed.
    #[serde(skip)]
    pub image_sha256: Option<String>,
    /// Why processing failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `blank` or `separator` when ingest flagged the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

/// A chart, as in the export (docs/CONTRACT.md), plus what reviewers need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartRecord {
    /// Public chart id.
    pub chart: String,
    /// Facility code.
    pub facility: String,
    /// Batch name.
    pub batch: String,
    /// Life-cycle status.
    pub status: ChartStatus,
    /// Detected form, once extracted.
    pub form: Option<String>,
    /// Source pages.
    pub sources: Vec<Source>,
    /// Fields by name.
    pub fields: BTreeMap<String, FieldRecord>,
    /// Optimistic-lock version (API only).
    #[serde(skip)]
    pub version: i64,
    /// Pages (API only).
    #[serde(skip)]
    pub pages: Vec<PageInfo>,
    /// The chart's confidence: mean of its fields', missing ones as 0 (API only).
    #[serde(skip)]
    pub confidence: Option<f64>,
    /// Who reviewed it (API only).
    #[serde(skip)]
    pub reviewer: Option<String>,
    /// The next chart cut from the same file, which "merge with next" joins (API only).
    #[serde(skip)]
    pub next_chart: Option<String>,
}

/// A chart waiting for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct QueueItem {
    /// Public chart id.
    pub chart: String,
    /// Detected form.
    pub form: Option<String>,
    /// The chart's confidence: mean of its fields', missing ones as 0.
    pub confidence: f64,
    /// Facility code.
    pub facility: String,
    /// How many fields need review.
    pub fields_to_review: i64,
}

/// A chart's row with its file, as stored (`CHART_COLUMNS`).
#[derive(sqlx::FromRow)]
struct ChartRow {
    id: i64,
    public_id: String,
    facility: String,
    batch: String,
    status: String,
    form: Option<String>,
    version: i64,
    confidence: Option<f64>,
    reviewer: Option<String>,
    original_name: String,
    sha256: String,
}

/// The columns of a [`ChartRow`], over `charts c JOIN files f`.
const CHART_COLUMNS: &str = "c.id, c.public_id, c.facility, c.batch, c.status, c.form, c.version, c.confidence, c.reviewer, f.original_name, f.sha256";

/// A page's row, as stored.
#[derive(sqlx::FromRow)]
struct PageRow {
    page_no: i64,
    status: String,
    width: Option<i64>,
    height: Option<i64>,
    image_sha256: Option<String>,
    error: Option<String>,
    flag: Option<String>,
}

/// A field's row, as stored.
#[derive(sqlx::FromRow)]
struct FieldRow {
    name: String,
    value: Option<String>,
    raw: String,
    confidence: f64,
    needs_review: i64,
    page: i64,
    bbox: Option<String>,
    issue: Option<String>,
    corrected: i64,
    value_rows: i64,
}

/// Narrows the review queue (empty: everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct QueueFilter {
    /// Only this facility.
    #[serde(default)]
    pub facility: Option<String>,
    /// Only this form.
    #[serde(default)]
    pub form: Option<String>,
    /// Only this batch.
    #[serde(default)]
    pub batch: Option<String>,
    /// The viewer settles disputes (sees `disputed` charts).
    #[serde(default)]
    pub senior: bool,
    /// The facilities the viewer may see.
    #[serde(skip)]
    pub facilities: crate::Facilities,
}

/// The states a change of a chart may start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeFrom {
    /// Extracted, in review or disputed: a reviewer's edits and decisions.
    AwaitingReview,
    /// Approved: a manager's un-approval.
    Approved,
    /// Waiting for a second keying: the second reviewer's keying.
    SecondKey,
}

/// A field's stored text: `None` when the chart has no such field, `Some(None)` when the
/// field has no value.
async fn stored_text(tx: &mut sqlx::Transaction<'static, sqlx::Any>, chart_id: i64, name: &str) -> Result<Option<Option<String>>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT value FROM fields WHERE chart_id = $1 AND name = $2").bind(chart_id).bind(name).fetch_optional(&mut **tx).await?;
    Ok(row.map(|(v,)| v))
}

fn status_of(s: &str) -> Result<ChartStatus> {
    s.parse().map_err(StoreError::Invalid)
}

impl Store {
    /// The OCR words stored for a chart's read pages, in page order (for re-running
    /// extraction, as `chartscan evaluate` does, without reading the pages again).
    pub async fn chart_words(&self, public_id: &str) -> Result<Vec<chart::PageWords>> {
        let rows = sqlx::query("SELECT p.words_json FROM pages p JOIN charts c ON c.id = p.chart_id WHERE c.public_id = $1 ORDER BY p.page_no")
            .bind(public_id)
            .fetch_all(&self.pool)
            .await?;
        let mut pages = Vec::new();
        for r in rows {
            if let Some(json) = r.try_get::<Option<String>, _>(0)? {
                pages.push(serde_json::from_str(&json).map_err(|e| StoreError::InvalidState(format!("stored words of chart {public_id} do not parse: {e}")))?);
            }
        }
        Ok(pages)
    }

    /// A chart with its sources, fields and pages.
    pub async fn chart(&self, public_id: &str) -> Result<ChartRecord> {
        let row = sqlx::query_as::<_, ChartRow>(&format!("SELECT {CHART_COLUMNS} FROM charts c JOIN files f ON f.id = c.file_id WHERE c.public_id = $1"))
            .bind(public_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?;
        self.load_chart(row).await
    }

    async fn load_chart(&self, row: ChartRow) -> Result<ChartRecord> {
        let id = row.id;
        let pages: Vec<PageInfo> =
            sqlx::query_as::<_, PageRow>("SELECT page_no, status, width, height, image_sha256, error, flag FROM pages WHERE chart_id = $1 ORDER BY page_no")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| {
                    Ok(PageInfo {
                        page: r.page_no as u32,
                        status: r.status.parse().map_err(StoreError::Invalid)?,
                        width: r.width.map(|v| v as u32),
                        height: r.height.map(|v| v as u32),
                        image_sha256: r.image_sha256,
                        error: r.error,
                        flag: r.flag,
                    })
                })
                .collect::<Result<_>>()?;
        let mut fields = BTreeMap::new();
        for r in sqlx::query_as::<_, FieldRow>(
            "SELECT name, value, raw, confidence, needs_review, page, bbox, issue, corrected, value_rows FROM fields WHERE chart_id = $1 ORDER BY name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            fields.insert(
                r.name,
                FieldRecord {
                    value: stored_value(r.value, r.value_rows),
                    raw: r.raw,
                    confidence: r.confidence,
                    needs_review: r.needs_review != 0,
                    page: r.page as u32,
                    bbox: r.bbox.and_then(|b| serde_json::from_str(&b).ok()),
                    issue: r.issue,
                    corrected: r.corrected != 0,
                },
            );
        }
        let next_chart: Option<String> =
            sqlx::query("SELECT public_id FROM charts WHERE file_id = (SELECT file_id FROM charts WHERE id = $1) AND id > $1 ORDER BY id LIMIT 1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        Ok(ChartRecord {
            next_chart,
            status: status_of(&row.status)?,
            chart: row.public_id,
            facility: row.facility,
            batch: row.batch,
            form: row.form,
            version: row.version,
            confidence: row.confidence,
            reviewer: row.reviewer,
            sources: pages.iter().map(|p| Source { file: row.original_name.clone(), sha256: row.sha256.clone(), page: p.page }).collect(),
            fields,
            pages,
        })
    }

    /// Charts in a status (all with `None`), oldest first.
    pub async fn charts(&self, status: Option<ChartStatus>) -> Result<Vec<ChartRecord>> {
        let base = format!("SELECT {CHART_COLUMNS} FROM charts c JOIN files f ON f.id = c.file_id");
        let rows = match status {
            Some(s) => sqlx::query_as::<_, ChartRow>(&format!("{base} WHERE c.status = $1 ORDER BY c.id")).bind(s.as_str()).fetch_all(&self.pool).await?,
            None => sqlx::query_as::<_, ChartRow>(&format!("{base} ORDER BY c.id")).fetch_all(&self.pool).await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.load_chart(r).await?);
        }
        Ok(out)
    }

    /// Up to `limit` charts (in a status, of a form) after row `after`, in row order, with
    /// their row ids: a large export reads the store a page at a time.
    pub async fn charts_page(
        &self,
        status: Option<ChartStatus>,
        form: Option<&str>,
        facilities: &crate::Facilities,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, ChartRecord)>> {
        // A status given is written as a plain condition, so that the planner walks the
        // charts of that status in order (the (status, id) index) instead of every chart.
        let status_clause = if status.is_some() { "c.status = $2" } else { "$2 = ''" };
        let rows = sqlx::query_as::<_, ChartRow>(&format!(
            "SELECT {CHART_COLUMNS} FROM charts c JOIN files f ON f.id = c.file_id \
             WHERE c.id > $1 AND {status_clause} AND ($3 = '' OR c.form = $3) AND {} ORDER BY c.id LIMIT $4",
            crate::facility_clause("c.facility", 5)
        ))
        .bind(after)
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(form.unwrap_or(""))
        .bind(limit)
        .bind(facilities.stored())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id = r.id;
            out.push((id, self.load_chart(r).await?));
        }
        Ok(out)
    }

    /// The names of the fields the charts (in a status, of a form) have, sorted.
    pub async fn field_names(&self, status: Option<ChartStatus>, form: Option<&str>, facilities: &crate::Facilities) -> Result<Vec<String>> {
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT fl.name FROM fields fl JOIN charts c ON c.id = fl.chart_id \
             WHERE ($1 = '' OR c.status = $1) AND ($2 = '' OR c.form = $2) AND {} ORDER BY fl.name",
            crate::facility_clause("c.facility", 3)
        ))
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(form.unwrap_or(""))
        .bind(facilities.stored())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The facility of a chart, if there is such a chart.
    pub async fn chart_facility(&self, public_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT facility FROM charts WHERE public_id = $1").bind(public_id).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Charts waiting for review, least confident first.
    pub async fn review_queue(&self, limit: i64) -> Result<Vec<QueueItem>> {
        self.review_queue_for(limit, &QueueFilter::default(), None).await
    }

    /// The review queue as `viewer` sees it: least confident first, narrowed by `filter`,
    /// without the charts other reviewers hold a live claim on. (The statuses are written
    /// out in the SQL so that the partial index `charts_queue` serves the order.)
    pub async fn review_queue_for(&self, limit: i64, filter: &QueueFilter, viewer: Option<&str>) -> Result<Vec<QueueItem>> {
        let mut items = sqlx::query_as::<_, QueueItem>(&format!(
            "SELECT c.public_id AS chart, c.form, COALESCE(c.confidence, 0.0) AS confidence, c.facility,
                    (SELECT COUNT(*) FROM fields f WHERE f.chart_id = c.id AND f.needs_review <> 0) AS fields_to_review
             FROM charts c
             WHERE c.status IN ('extracted', 'in_review')
               AND ($1 = '' OR c.facility = $1) AND ($2 = '' OR c.form = $2) AND ($3 = '' OR c.batch = $3)
               AND (c.claimed_by IS NULL OR c.claimed_until <= $4 OR c.claimed_by = $5) AND {}
             ORDER BY c.confidence, c.id LIMIT $6",
            crate::facility_clause("c.facility", 7)
        ))
        .bind(filter.facility.as_deref().unwrap_or(""))
        .bind(filter.form.as_deref().unwrap_or(""))
        .bind(filter.batch.as_deref().unwrap_or(""))
        .bind(now_ms())
        .bind(viewer.unwrap_or(""))
        .bind(limit)
        .bind(filter.facilities.stored())
        .fetch_all(&self.pool)
        .await?;
        // Charts waiting for a second keying (never by their first reviewer) and, for
        // seniors, disputed ones.
        let extra = sqlx::query_as::<_, QueueItem>(&format!(
            "SELECT c.public_id AS chart, c.form, COALESCE(c.confidence, 0.0) AS confidence, c.facility,
                    (SELECT COUNT(*) FROM fields f WHERE f.chart_id = c.id AND f.needs_review <> 0) AS fields_to_review
             FROM charts c
             WHERE c.status IN ('second_key', 'disputed')
               AND ((c.status = 'second_key' AND COALESCE(c.reviewer, '') <> $1) OR (c.status = 'disputed' AND $2 = 1))
               AND ($3 = '' OR c.facility = $3) AND ($4 = '' OR c.form = $4) AND ($5 = '' OR c.batch = $5)
               AND (c.claimed_by IS NULL OR c.claimed_until <= $6 OR c.claimed_by = $1) AND {}
             ORDER BY c.confidence, c.id LIMIT $7",
            crate::facility_clause("c.facility", 8)
        ))
        .bind(viewer.unwrap_or(""))
        .bind(i64::from(filter.senior))
        .bind(filter.facility.as_deref().unwrap_or(""))
        .bind(filter.form.as_deref().unwrap_or(""))
        .bind(filter.batch.as_deref().unwrap_or(""))
        .bind(now_ms())
        .bind(limit)
        .bind(filter.facilities.stored())
        .fetch_all(&self.pool)
        .await?;
        if !extra.is_empty() {
            items.extend(extra);
            items.sort_by(|a, b| a.confidence.total_cmp(&b.confidence));
            items.truncate(limit as usize);
        }
        Ok(items)
    }

    /// The blind second keying of a chart waiting for it (`second_key`): `values` are the
    /// second reviewer's canonical values of the double-keyed fields. When every one equals
    /// the first reviewer's, the chart is approved; otherwise it is `disputed`, each
    /// disagreeing field flagged with the second value, for a senior reviewer. Returns the
    /// chart and whether the keyings agreed.
    pub async fn second_key(&self, public_id: &str, version: i64, reviewer: &str, values: &BTreeMap<String, Option<String>>) -> Result<(ChartRecord, bool)> {
        self.second_key_with(public_id, version, reviewer, values, &crate::PatientChoice::Auto).await
    }

    /// [`Store::second_key`], and when the keyings agree (the chart is approved), its record
    /// is committed under the patient `choice` names, as [`Store::approve_with`] does.
    pub async fn second_key_with(
        &self,
        public_id: &str,
        version: i64,
        reviewer: &str,
        values: &BTreeMap<String, Option<String>>,
        choice: &crate::PatientChoice,
    ) -> Result<(ChartRecord, bool)> {
        let mut tx = self.begin_write().await?;
        let first: Option<String> = sqlx::query("SELECT reviewer FROM charts WHERE public_id = $1")
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?
            .try_get(0)?;
        if first.as_deref() == Some(reviewer) {
            return Err(StoreError::InvalidState(format!("chart {public_id} was approved by {reviewer}: a different reviewer keys it the second time")));
        }
        let mut disagreements = Vec::new();
        // The version, claim and state are checked by `change_chart` below, in this
        // transaction: when they fail, the flags set while comparing are rolled back.
        let id: i64 = sqlx::query("SELECT id FROM charts WHERE public_id = $1").bind(public_id).fetch_one(&mut *tx).await?.try_get(0)?;
        for (name, second) in values {
            let first_value = stored_text(&mut tx, id, name).await?.flatten();
            if first_value != *second {
                let issue = format!("second keying by {reviewer}: {:?}; first: {:?}", second.as_deref().unwrap_or(""), first_value.as_deref().unwrap_or(""));
                sqlx::query("UPDATE fields SET needs_review = 1, issue = $1 WHERE chart_id = $2 AND name = $3")
                    .bind(&issue)
                    .bind(id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                disagreements.push(serde_json::json!({"field": name, "first": first_value, "second": second}));
            }
        }
        let agreed = disagreements.is_empty();
        let next = if agreed { ChartStatus::Approved } else { ChartStatus::Disputed };
        self.change_chart(&mut tx, public_id, version, ChangeFrom::SecondKey, next, reviewer).await?;
        sqlx::query("UPDATE charts SET claimed_by = NULL, claimed_until = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let detail = serde_json::json!({"fields": values.keys().collect::<Vec<_>>(), "agreed": agreed, "disagreements": disagreements}).to_string();
        audit(&mut tx, reviewer, "second_key", Some(public_id), &detail).await?;
        if agreed {
            crate::records::commit_in(&mut tx, id, public_id, reviewer, choice).await?;
        }
        tx.commit().await?;
        Ok((self.chart(public_id).await?, agreed))
    }

    /// Where a field's value is: its page and box (for cutting its snippet).
    pub async fn field_place(&self, public_id: &str, name: &str) -> Result<(u32, Option<BBox>)> {
        let row = sqlx::query("SELECT f.page, f.bbox FROM fields f JOIN charts c ON c.id = f.chart_id WHERE c.public_id = $1 AND f.name = $2")
            .bind(public_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("field {name} of chart {public_id}")))?;
        let page: i64 = row.try_get(0)?;
        let bbox: Option<String> = row.try_get(1)?;
        Ok((page as u32, bbox.and_then(|b| serde_json::from_str(&b).ok())))
    }

    /// The hash of a chart page's stored image, when it has one.
    pub async fn page_image_sha(&self, public_id: &str, page: u32) -> Result<Option<String>> {
        let row = sqlx::query("SELECT p.image_sha256 FROM pages p JOIN charts c ON c.id = p.chart_id WHERE c.public_id = $1 AND p.page_no = $2")
            .bind(public_id)
            .bind(i64::from(page))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Err(StoreError::NotFound(format!("page {page} of chart {public_id}"))),
        }
    }

    /// Gives `reviewer` a claim on a chart for `ttl_ms`: other reviewers skip it in the queue
    /// and cannot change it until the claim is released (approve, reject, release) or
    /// expires. Claiming a chart one already holds renews the claim.
    pub async fn claim_chart(&self, public_id: &str, reviewer: &str, ttl_ms: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT claimed_by, claimed_until, status FROM charts WHERE public_id = $1")
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?;
        let (by, until, status): (Option<String>, Option<i64>, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let now = now_ms();
        if let (Some(by), Some(until)) = (&by, until) {
            if by != reviewer && until > now {
                return Err(StoreError::Claimed { chart: public_id.to_string(), by: by.clone() });
            }
        }
        let st = status_of(&status)?;
        if !st.awaits_review() && st != ChartStatus::SecondKey {
            return Err(StoreError::InvalidState(format!("chart {public_id} is {status}, not waiting for review")));
        }
        let until = now + ttl_ms;
        sqlx::query("UPDATE charts SET claimed_by = $1, claimed_until = $2 WHERE public_id = $3")
            .bind(reviewer)
            .bind(until)
            .bind(public_id)
            .execute(&mut *tx)
            .await?;
        if by.as_deref() != Some(reviewer) {
            audit(&mut tx, reviewer, "claim", Some(public_id), "").await?;
        }
        tx.commit().await?;
        Ok(until)
    }

    /// Releases `reviewer`'s claim on a chart (nothing happens when they hold none).
    pub async fn release_claim(&self, public_id: &str, reviewer: &str) -> Result<()> {
        sqlx::query("UPDATE charts SET claimed_by = NULL, claimed_until = NULL WHERE public_id = $1 AND claimed_by = $2")
            .bind(public_id)
            .bind(reviewer)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// A reviewer's change of a chart waiting for review: see [`Store::change_chart`].
    async fn bump_version(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        public_id: &str,
        version: i64,
        new_status: ChartStatus,
        reviewer: &str,
    ) -> Result<i64> {
        self.change_chart(tx, public_id, version, ChangeFrom::AwaitingReview, new_status, reviewer).await
    }

    /// The one check every change of a chart goes through, in the caller's transaction: the
    /// chart exists, nobody else holds a live claim on it, `version` is the current one
    /// (optimistic locking), it is in a state the change starts `from`, and a disputed chart
    /// (two keyings that disagree) is changed by a senior reviewer (a manager or admin) only,
    /// and stays disputed until the senior approves or rejects it. Then its
    /// version is bumped (guarded by `version` again, so that two changes racing past the
    /// check cannot both win) and its status set. A reviewer's change also records them as
    /// the chart's reviewer; leaving review gives the claim back. Returns the chart's row id.
    pub(crate) async fn change_chart(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        public_id: &str,
        version: i64,
        from: ChangeFrom,
        new_status: ChartStatus,
        actor: &str,
    ) -> Result<i64> {
        let row = sqlx::query("SELECT id, version, status, claimed_by, claimed_until FROM charts WHERE public_id = $1")
            .bind(public_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?;
        let (id, current, status): (i64, i64, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (claimed_by, claimed_until): (Option<String>, Option<i64>) = (row.try_get(3)?, row.try_get(4)?);
        if let (Some(by), Some(until)) = (claimed_by, claimed_until) {
            if by != actor && until > now_ms() {
                return Err(StoreError::Claimed { chart: public_id.to_string(), by });
            }
        }
        if current != version {
            return Err(StoreError::Conflict { chart: public_id.to_string(), given: version, current });
        }
        let status = status_of(&status)?;
        let allowed = match from {
            ChangeFrom::AwaitingReview => status.awaits_review(),
            ChangeFrom::Approved => status == ChartStatus::Approved,
            ChangeFrom::SecondKey => status == ChartStatus::SecondKey,
        };
        let mut new_status = new_status;
        if status == ChartStatus::Disputed && from == ChangeFrom::AwaitingReview {
            let role: Option<String> = sqlx::query("SELECT role FROM users WHERE name = $1 AND disabled = 0")
                .bind(actor)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            if !role.and_then(|r| r.parse::<chart::Role>().ok()).is_some_and(|r| r.can_manage()) {
                return Err(StoreError::NotAllowed(format!("chart {public_id} is disputed: a senior reviewer (manager) settles it")));
            }
            if new_status.awaits_review() {
                new_status = ChartStatus::Disputed;
            }
        }
        if !allowed {
            let wanted = match from {
                ChangeFrom::AwaitingReview => "waiting for review",
                ChangeFrom::Approved => "approved",
                ChangeFrom::SecondKey => "waiting for a second keying",
            };
            return Err(StoreError::InvalidState(format!("chart {public_id} is {status}, not {wanted}")));
        }
        let now = now_ms();
        let update = match from {
            ChangeFrom::AwaitingReview => sqlx::query(
                "UPDATE charts SET version = version + 1, status = $1, reviewer = $2, reviewed_at = $3, updated_at = $3 WHERE id = $4 AND version = $5",
            )
            .bind(new_status.as_str())
            .bind(actor)
            .bind(now)
            .bind(id)
            .bind(version),
            // The second keyer is recorded apart; the first reviewer stays the chart's.
            ChangeFrom::SecondKey => {
                sqlx::query("UPDATE charts SET version = version + 1, status = $1, second_keyed_by = $2, updated_at = $3 WHERE id = $4 AND version = $5")
                    .bind(new_status.as_str())
                    .bind(actor)
                    .bind(now)
                    .bind(id)
                    .bind(version)
            }
            // Un-approving: the chart keeps the reviewer who approved it.
            ChangeFrom::Approved => sqlx::query("UPDATE charts SET version = version + 1, status = $1, updated_at = $2 WHERE id = $3 AND version = $4")
                .bind(new_status.as_str())
                .bind(now)
                .bind(id)
                .bind(version),
        };
        let updated = update.execute(&mut **tx).await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict { chart: public_id.to_string(), given: version, current: version + 1 });
        }
        if !new_status.awaits_review() {
            sqlx::query("UPDATE charts SET claimed_by = NULL, claimed_until = NULL WHERE id = $1").bind(id).execute(&mut **tx).await?;
        }
        Ok(id)
    }

    /// Sets a field to a (canonical, already validated) value as a reviewer correction.
    pub async fn update_field(&self, public_id: &str, name: &str, value: Option<&FieldValue>, version: i64, reviewer: &str) -> Result<ChartRecord> {
        let rows = i64::from(matches!(value, Some(FieldValue::Rows(_))));
        let value = value.map(FieldValue::storage_text);
        let mut tx = self.begin_write().await?;
        let id = self.bump_version(&mut tx, public_id, version, ChartStatus::InReview, reviewer).await?;
        let old = stored_text(&mut tx, id, name).await?;
        match old {
            Some(_) => {
                sqlx::query("UPDATE fields SET value = $1, confidence = 1.0, needs_review = 0, corrected = 1, issue = NULL, value_rows = $4 WHERE chart_id = $2 AND name = $3")
                    .bind(value.as_deref())
                    .bind(id)
                    .bind(name)
                    .bind(rows)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO fields (chart_id, name, value, raw, confidence, needs_review, page, corrected, value_rows) VALUES ($1, $2, $3, '', 1.0, 0, 0, 1, $4)")
                    .bind(id)
                    .bind(name)
                    .bind(value.as_deref())
                    .bind(rows)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let detail = serde_json::json!({"field": name, "from": old.flatten(), "to": value, "version": version + 1}).to_string();
        audit(&mut tx, reviewer, "edit_field", Some(public_id), &detail).await?;
        tx.commit().await?;
        self.chart(public_id).await
    }

    /// Approves a chart: all its fields are taken as reviewed.
    pub async fn approve(&self, public_id: &str, version: i64, reviewer: &str) -> Result<ChartRecord> {
        self.approve_keyed(public_id, version, reviewer, &[]).await
    }

    /// Approves a chart whose form double-keys `double_key` fields: the first approval
    /// sends it to a second reviewer (status `second_key`) unless it was keyed twice already
    /// or a senior is settling a dispute; otherwise it is approved.
    pub async fn approve_keyed(&self, public_id: &str, version: i64, reviewer: &str, double_key: &[String]) -> Result<ChartRecord> {
        self.approve_with(public_id, version, reviewer, double_key, &crate::PatientChoice::Auto).await
    }

    /// Approves as [`Store::approve_keyed`] does, and commits the chart's structured record in
    /// the same transaction, filing it under the patient `choice` names (or the one matching
    /// finds). When matching is unsure and `choice` is `Auto`, nothing changes and the error
    /// lists the candidates.
    pub async fn approve_with(
        &self,
        public_id: &str,
        version: i64,
        reviewer: &str,
        double_key: &[String],
        choice: &crate::PatientChoice,
    ) -> Result<ChartRecord> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT second_keyed_by, status FROM charts WHERE public_id = $1")
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("chart {public_id}")))?;
        let (keyed, status): (Option<String>, String) = (row.try_get(0)?, row.try_get(1)?);
        if !double_key.is_empty() && keyed.is_none() && status != ChartStatus::Disputed.as_str() {
            self.bump_version(&mut tx, public_id, version, ChartStatus::SecondKey, reviewer).await?;
            audit(
                &mut tx,
                reviewer,
                "approve_first_key",
                Some(public_id),
                &format!("version {}; waiting for a second keying of {}", version + 1, double_key.join(", ")),
            )
            .await?;
            tx.commit().await?;
            return self.chart(public_id).await;
        }
        let id = self.bump_version(&mut tx, public_id, version, ChartStatus::Approved, reviewer).await?;
        sqlx::query("UPDATE fields SET needs_review = 0 WHERE chart_id = $1").bind(id).execute(&mut *tx).await?;
        audit(&mut tx, reviewer, "approve", Some(public_id), &format!("version {}", version + 1)).await?;
        crate::records::commit_in(&mut tx, id, public_id, reviewer, choice).await?;
        tx.commit().await?;
        self.chart(public_id).await
    }

    /// Undoes a split: the next chart cut from the same file is joined to the end of this
    /// one (its pages move, its fields go) and this chart is extracted again.
    pub async fn merge_next(&self, public_id: &str, version: i64, reviewer: &str) -> Result<ChartRecord> {
        let mut tx = self.begin_write().await?;
        let id = self.bump_version(&mut tx, public_id, version, ChartStatus::InReview, reviewer).await?;
        let next =
            sqlx::query("SELECT id, public_id, status FROM charts WHERE file_id = (SELECT file_id FROM charts WHERE id = $1) AND id > $1 ORDER BY id LIMIT 1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::InvalidState(format!("chart {public_id} has no next chart from the same file to merge")))?;
        let (next_id, next_public, next_status): (i64, String, String) = (next.try_get(0)?, next.try_get(1)?, next.try_get(2)?);
        if next_status == ChartStatus::Disputed.as_str() {
            return Err(StoreError::NotAllowed(format!("chart {next_public} is disputed: a senior reviewer settles it before it can be merged")));
        }
        if !status_of(&next_status)?.awaits_review() && next_status != ChartStatus::Ingested.as_str() {
            return Err(StoreError::InvalidState(format!("chart {next_public} is {next_status} and cannot be merged")));
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM pages WHERE chart_id = $1").bind(id).fetch_one(&mut *tx).await?.try_get(0)?;
        sqlx::query("UPDATE pages SET chart_id = $1, page_no = page_no + $2 WHERE chart_id = $3").bind(id).bind(count).bind(next_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM fields WHERE chart_id = $1").bind(next_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM charts WHERE id = $1").bind(next_id).execute(&mut *tx).await?;
        self.reextract(&mut tx, id).await?;
        audit(&mut tx, reviewer, "merge", Some(public_id), &format!("joined {next_public} (its pages follow page {count})")).await?;
        audit(&mut tx, reviewer, "merge", Some(&next_public), &format!("joined to {public_id}")).await?;
        tx.commit().await?;
        self.chart(public_id).await
    }

    /// Sets or clears a page's flag. A page that is no longer blank goes back to the queue to
    /// be read (the chart waits for it); a page newly flagged blank is left out at once.
    pub async fn set_page_flag(&self, public_id: &str, page: u32, flag: Option<&str>, version: i64, reviewer: &str) -> Result<ChartRecord> {
        if !matches!(flag, None | Some("blank") | Some("separator")) {
            return Err(StoreError::Invalid(format!("flag {flag:?}: use blank, separator or null")));
        }
        let mut tx = self.begin_write().await?;
        let id = self.bump_version(&mut tx, public_id, version, ChartStatus::InReview, reviewer).await?;
        let row = sqlx::query("SELECT id, flag FROM pages WHERE chart_id = $1 AND page_no = $2")
            .bind(id)
            .bind(page as i64)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("page {page} of chart {public_id}")))?;
        let (page_id, old): (i64, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
        match flag {
            None => {
                // Read it now: back to the queue, and the chart waits for it.
                sqlx::query("UPDATE pages SET flag = NULL, status = $1, attempts = 0, lease_owner = NULL, lease_until = NULL, words_json = NULL WHERE id = $2")
                    .bind(chart::PageStatus::Queued.as_str())
                    .bind(page_id)
                    .execute(&mut *tx)
                    .await?;
                // Its values will be read again: any second keying of the old ones no longer counts.
                sqlx::query("UPDATE charts SET status = $1, second_keyed_by = NULL WHERE id = $2")
                    .bind(ChartStatus::Ingested.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(f) => {
                let empty = serde_json::to_string(&chart::PageWords { page, ..Default::default() }).expect("serialises");
                sqlx::query("UPDATE pages SET flag = $1, words_json = $2 WHERE id = $3").bind(f).bind(empty).bind(page_id).execute(&mut *tx).await?;
                self.reextract(&mut tx, id).await?;
            }
        }
        audit(
            &mut tx,
            reviewer,
            "flag_page",
            Some(public_id),
            &format!("page {page}: {} -> {}", old.as_deref().unwrap_or("content"), flag.unwrap_or("content")),
        )
        .await?;
        tx.commit().await?;
        self.chart(public_id).await
    }

    /// Rejects a chart with a reason.
    pub async fn reject(&self, public_id: &str, version: i64, reason: &str, reviewer: &str) -> Result<ChartRecord> {
        let mut tx = self.begin_write().await?;
        let id = self.bump_version(&mut tx, public_id, version, ChartStatus::Rejected, reviewer).await?;
        sqlx::query("UPDATE charts SET reject_reason = $1 WHERE id = $2").bind(reason).bind(id).execute(&mut *tx).await?;
        audit(&mut tx, reviewer, "reject", Some(public_id), reason).await?;
        tx.commit().await?;
        self.chart(public_id).await
    }
}
