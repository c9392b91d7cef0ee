//! Counts for project managers: charts by status, pages by state, per facility.

use crate::{facility_clause, Facilities, Result, Store};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// Charts by status (docs/CONTRACT.md `stats --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartCounts {
    /// All charts.
    pub total: i64,
    /// Extracted, not yet reviewed.
    pub extracted: i64,
    /// A reviewer has started.
    pub in_review: i64,
    /// Approved.
    pub approved: i64,
    /// Rejected.
    pub rejected: i64,
}

/// Pages by processing state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCounts {
    /// All pages.
    pub total: i64,
    /// Waiting or being processed.
    pub queued: i64,
    /// Processed.
    pub done: i64,
    /// Given up.
    pub failed: i64,
}

/// The whole statistics object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Charts by status.
    pub charts: ChartCounts,
    /// Pages by state.
    pub pages: PageCounts,
    /// Charts by status for each facility.
    pub by_facility: BTreeMap<String, ChartCounts>,
    /// Throughput per day (UTC): charts ingested and charts reviewed that day.
    pub by_day: BTreeMap<String, DayCounts>,
    /// What each reviewer decided.
    pub by_reviewer: BTreeMap<String, ReviewerCounts>,
    /// Reviewer corrections per field name (what OCR gets wrong most).
    #[serde(default)]
    pub corrections_by_field: BTreeMap<String, i64>,
    /// Committed records: patients, encounters, facts, and changes waiting to be pushed.
    #[serde(default)]
    pub records: crate::RecordCounts,
}

/// One day's throughput.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Charts ingested that day.
    pub ingested: i64,
    /// Charts approved that day.
    pub approved: i64,
    /// Charts rejected that day.
    pub rejected: i64,
}

/// One reviewer's decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewerCounts {
    /// Charts approved.
    pub approved: i64,
    /// Charts rejected.
    pub rejected: i64,
    /// Charts started but not decided.
    pub in_review: i64,
    /// Field values corrected.
    #[serde(default)]
    pub fields_corrected: i64,
    /// Median time from claiming (opening) a chart to deciding it, in seconds.
    #[serde(default)]
    pub median_seconds_per_chart: Option<f64>,
}

/// One scanning batch, as a clerk follows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// Facility code.
    pub facility: String,
    /// Batch name.
    pub batch: String,
    /// Archive box label(s) recorded with its files.
    pub box_label: Option<String>,
    /// Who scanned it.
    pub operator: Option<String>,
    /// Files accepted.
    pub files: i64,
    /// When its first file was ingested (Unix ms).
    pub started_at: i64,
    /// Its charts by status.
    pub charts: ChartCounts,
}

/// A rejected chart and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The chart.
    pub chart: String,
    /// Facility code.
    pub facility: String,
    /// Batch name.
    pub batch: String,
    /// The scanned file.
    pub file: String,
    /// The reviewer's reason.
    pub reason: Option<String>,
    /// Who rejected it.
    pub reviewer: Option<String>,
    /// When (Unix ms).
    pub at: Option<i64>,
}

/// How many of each kind of decision (claims, approvals, rejections) the median time per
/// chart is taken over: the most recent ones.
const RECENT_DECISIONS: i64 = 2_000;

/// `YYYY-MM-DD` of a day number since 1970 (UTC).
fn day_name(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400).map(|t| t.date().to_string()).unwrap_or_else(|_| day.to_string())
}

impl ChartCounts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        match status {
            "extracted" => self.extracted += n,
            "in_review" | "second_key" | "disputed" => self.in_review += n,
            "approved" => self.approved += n,
            "rejected" => self.rejected += n,
            _ => {}
        }
    }
}

impl Store {
    /// Every batch with its files and charts by status, newest first.
    pub async fn batches(&self) -> Result<Vec<BatchSummary>> {
        self.batches_of(&Facilities::All).await
    }

    /// [`Store::batches`] of some facilities.
    pub async fn batches_of(&self, facilities: &Facilities) -> Result<Vec<BatchSummary>> {
        let mut out: Vec<BatchSummary> = Vec::new();
        // From the running totals of migration 0019, not the files and charts themselves.
        let rows = sqlx::query(&format!(
            "SELECT facility, batch, box_label, operator, files, started_at FROM batch_tally WHERE {} ORDER BY started_at DESC",
            facility_clause("facility", 1)
        ))
        .bind(facilities.stored())
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            out.push(BatchSummary {
                facility: r.try_get(0)?,
                batch: r.try_get(1)?,
                box_label: r.try_get(2)?,
                operator: r.try_get(3)?,
                files: r.try_get(4)?,
                started_at: r.try_get(5)?,
                charts: ChartCounts::default(),
            });
        }
        let by_status = format!(
            "SELECT facility, batch, status, CAST(SUM(n) AS BIGINT) FROM chart_tally WHERE {} GROUP BY facility, batch, status",
            facility_clause("facility", 1)
        );
        for r in sqlx::query(&by_status).bind(facilities.stored()).fetch_all(&self.pool).await? {
            let (facility, batch, status, n): (String, String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            if let Some(b) = out.iter_mut().find(|b| b.facility == facility && b.batch == batch) {
                b.charts.add(&status, n);
            }
        }
        Ok(out)
    }

    /// The most recently rejected charts, with the reason, newest first.
    pub async fn rejections(&self, limit: i64, facilities: &Facilities) -> Result<Vec<Rejection>> {
        let rows = sqlx::query(&format!(
            "SELECT c.public_id, c.facility, c.batch, f.original_name, c.reject_reason, c.reviewer, c.reviewed_at
             FROM charts c JOIN files f ON f.id = c.file_id WHERE c.status = 'rejected' AND {} ORDER BY c.reviewed_at DESC LIMIT $1",
            facility_clause("c.facility", 2)
        ))
        .bind(limit)
        .bind(facilities.stored())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Rejection {
                    chart: r.try_get(0)?,
                    facility: r.try_get(1)?,
                    batch: r.try_get(2)?,
                    file: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    reviewer: r.try_get(5)?,
                    at: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Current counts.
    pub async fn stats(&self) -> Result<Stats> {
        self.stats_of(&Facilities::All).await
    }

    /// Current counts of some facilities' charts (the committed records' counts are the
    /// whole store's).
    pub async fn stats_of(&self, facilities: &Facilities) -> Result<Stats> {
        let scope = facilities.stored();
        let mut stats = Stats { records: self.record_counts().await?, ..Stats::default() };
        // Counts come from the running totals the triggers of migration 0019 keep: a few
        // rows per facility, day and reviewer, whatever the size of the archive.
        let by_facility =
            format!("SELECT facility, status, CAST(SUM(n) AS BIGINT) FROM chart_tally WHERE {} GROUP BY facility, status", facility_clause("facility", 1));
        for r in sqlx::query(&by_facility).bind(&scope).fetch_all(&self.pool).await? {
            let (facility, status, n): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if n != 0 {
                stats.charts.add(&status, n);
                stats.by_facility.entry(facility).or_default().add(&status, n);
            }
        }
        let by_day = format!(
            "SELECT day, stage, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE stage IN ('scanned', 'approved', 'rejected') AND {} GROUP BY day, stage",
            facility_clause("facility", 1)
        );
        for r in sqlx::query(&by_day).bind(&scope).fetch_all(&self.pool).await? {
            let (day, stage, n): (i64, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let d = stats.by_day.entry(day_name(day)).or_default();
            match stage.as_str() {
                "scanned" => d.ingested += n,
                "approved" => d.approved += n,
                _ => d.rejected += n,
            }
        }
        let by_reviewer = format!(
            "SELECT reviewer, status, CAST(SUM(n) AS BIGINT) FROM chart_tally WHERE reviewer <> '' AND {} GROUP BY reviewer, status",
            facility_clause("facility", 1)
        );
        for r in sqlx::query(&by_reviewer).bind(&scope).fetch_all(&self.pool).await? {
            let (reviewer, status, n): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if n == 0 {
                continue;
            }
            let c = stats.by_reviewer.entry(reviewer).or_default();
            match status.as_str() {
                "approved" => c.approved += n,
                "rejected" => c.rejected += n,
                _ => c.in_review += n,
            }
        }
        let corrections =
            format!("SELECT actor, field, CAST(SUM(n) AS BIGINT) FROM correction_tally WHERE {} GROUP BY actor, field", facility_clause("facility", 1));
        for r in sqlx::query(&corrections).bind(&scope).fetch_all(&self.pool).await? {
            let (actor, field, n): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            stats.by_reviewer.entry(actor).or_default().fields_corrected += n;
            if !field.is_empty() {
                *stats.corrections_by_field.entry(field).or_default() += n;
            }
        }
        // Time per chart: from a reviewer's claim of a chart (the review page claims what it
        // opens) to their decision. Views are left out: there is one per request.
        let mut opened: std::collections::HashMap<(String, String), i64> = Default::default();
        let mut durations: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        // Over the most recent decisions only (each kind read newest first through its
        // index, a bounded number of rows), so that the dashboard does not read the whole log.
        let decisions = format!(
            "SELECT a.id, a.at, a.actor, a.action, a.chart_id FROM audit_log a JOIN charts c ON c.public_id = a.chart_id \
             WHERE a.action = $2 AND {} ORDER BY a.action DESC, a.id DESC LIMIT {RECENT_DECISIONS}",
            facility_clause("c.facility", 1)
        );
        let mut rows = Vec::new();
        for action in ["claim", "approve", "reject"] {
            for r in sqlx::query(&decisions).bind(&scope).bind(action).fetch_all(&self.pool).await? {
                let (id, at, actor, action, chart): (i64, i64, String, String, String) =
                    (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
                rows.push((id, at, actor, action, chart));
            }
        }
        rows.sort_by_key(|r| r.0);
        for (_, at, actor, action, chart) in rows {
            let key = (actor, chart);
            match action.as_str() {
                "claim" => {
                    opened.entry(key).or_insert(at);
                }
                _ => {
                    if let Some(start) = opened.remove(&key) {
                        durations.entry(key.0).or_default().push((at - start) as f64 / 1000.0);
                    }
                }
            }
        }
        for (reviewer, mut d) in durations {
            d.sort_by(f64::total_cmp);
            stats.by_reviewer.entry(reviewer).or_default().median_seconds_per_chart = Some(d[d.len() / 2]);
        }
        let pages = format!("SELECT status, CAST(SUM(n) AS BIGINT) FROM page_tally WHERE {} GROUP BY status", facility_clause("facility", 1));
        for r in sqlx::query(&pages).bind(&scope).fetch_all(&self.pool).await? {
            let (status, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            stats.pages.total += n;
            match status.parse::<chart::PageStatus>().map_err(crate::StoreError::Invalid)? {
                chart::PageStatus::Done => stats.pages.done += n,
                chart::PageStatus::Failed => stats.pages.failed += n,
                chart::PageStatus::Queued | chart::PageStatus::Processing => stats.pages.queued += n,
            }
        }
        Ok(stats)
    }
}
