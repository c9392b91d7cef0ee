//! Counts for project managers: charts by status, pages by state, per facility.

use crate::{Result, Store};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// Charts by status (CONTRACT.md `stats --json`).
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Charts by status.
    pub charts: ChartCounts,
    /// Pages by state.
    pub pages: PageCounts,
    /// Charts by status for each facility.
    pub by_facility: BTreeMap<String, ChartCounts>,
}

impl ChartCounts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        match status {
            "extracted" => self.extracted += n,
            "in_review" => self.in_review += n,
            "approved" => self.approved += n,
            "rejected" => self.rejected += n,
            _ => {}
        }
    }
}

impl Store {
    /// Current counts.
    pub async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        for r in sqlx::query("SELECT facility, status, COUNT(*) FROM charts GROUP BY facility, status").fetch_all(&self.pool).await? {
            let (facility, status, n): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            stats.charts.add(&status, n);
            stats.by_facility.entry(facility).or_default().add(&status, n);
        }
        for r in sqlx::query("SELECT status, COUNT(*) FROM pages GROUP BY status").fetch_all(&self.pool).await? {
            let (status, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            stats.pages.total += n;
            match status.as_str() {
                "done" => stats.pages.done += n,
                "failed" => stats.pages.failed += n,
                _ => stats.pages.queued += n,
            }
        }
        Ok(stats)
    }
}
