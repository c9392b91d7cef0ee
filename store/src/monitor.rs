//! What `/healthz` and `/metrics` report, read from the store: the whole installation's
//! pages, queue, charts, review actions and push backlog (every worker on every machine
//! writes here), from the running totals, so a scrape costs the same at any size.

use crate::{Result, Store};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// The upper bounds (seconds) of the page-time histogram's buckets; one more bucket holds the
/// rest.
pub const PAGE_SECONDS_BUCKETS: [f64; 8] = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// A snapshot for monitoring.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Monitor {
    /// Pages by state (`queued`, `processing`, `done`, `failed`).
    pub pages: BTreeMap<String, i64>,
    /// Charts by status.
    pub charts: BTreeMap<String, i64>,
    /// When the chart of the oldest page waiting for a worker was scanned (Unix ms).
    pub oldest_queued_at: Option<i64>,
    /// Charts approved and rejected, net, and fields corrected, since the store began.
    pub approvals: i64,
    /// Charts rejected.
    pub rejections: i64,
    /// Fields corrected by reviewers.
    pub corrections: i64,
    /// Committed changes not yet confirmed by the hospital system.
    pub push_backlog: i64,
    /// Page-time histogram: pages per bucket (not cumulative; one more than
    /// [`PAGE_SECONDS_BUCKETS`]) and the seconds they took in all.
    pub page_seconds: Vec<u64>,
    /// Sum of the seconds of every page counted.
    pub page_seconds_sum: f64,
}

impl Store {
    /// Reads the monitoring snapshot; an error means the store is not reachable.
    pub async fn monitor(&self) -> Result<Monitor> {
        let mut m = Monitor { page_seconds: vec![0; PAGE_SECONDS_BUCKETS.len() + 1], ..Monitor::default() };
        for r in sqlx::query("SELECT status, CAST(SUM(n) AS BIGINT) FROM page_tally GROUP BY status").fetch_all(&self.pool).await? {
            m.pages.insert(r.try_get(0)?, r.try_get(1)?);
        }
        for r in sqlx::query("SELECT status, CAST(SUM(n) AS BIGINT) FROM chart_tally GROUP BY status").fetch_all(&self.pool).await? {
            m.charts.insert(r.try_get(0)?, r.try_get(1)?);
        }
        m.oldest_queued_at =
            sqlx::query_scalar("SELECT c.created_at FROM pages p JOIN charts c ON c.id = p.chart_id WHERE p.status = 'queued' ORDER BY p.id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        for r in sqlx::query("SELECT stage, CAST(SUM(n) AS BIGINT) FROM day_tally WHERE stage IN ('approved', 'rejected') GROUP BY stage")
            .fetch_all(&self.pool)
            .await?
        {
            let (stage, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            if stage == "approved" {
                m.approvals = n;
            } else {
                m.rejections = n;
            }
        }
        m.corrections = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM correction_tally").fetch_one(&self.pool).await?;
        m.push_backlog = sqlx::query_scalar("SELECT n FROM record_tally WHERE kind = 'outbox_pending'").fetch_optional(&self.pool).await?.unwrap_or(0);
        for r in sqlx::query("SELECT bucket, n, sum_ms FROM page_seconds").fetch_all(&self.pool).await? {
            let (bucket, n, sum_ms): (i64, i64, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if let Some(slot) = m.page_seconds.get_mut(bucket as usize) {
                *slot += n.max(0) as u64;
            }
            m.page_seconds_sum += sum_ms as f64 / 1000.0;
        }
        Ok(m)
    }
}
