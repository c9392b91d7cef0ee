//! The ledger of accepted files and the page work queue.
//!
//! A page moves `queued -> processing -> done | failed`. A worker claims a page with a
//! lease; a page whose worker died is claimed again when its lease expires, and after
//! `max_attempts` claims it is marked failed so that a poison page never blocks a batch.
//! When the last page of a chart is finished, the chart's fields are extracted (in the same
//! transaction) and the chart waits for review.

use crate::extraction::extract_if_complete;
use crate::{audit, now_ms, Result, Store};
use chart::{ChartStatus, PageStatus, PageWords};
use sqlx::Row;

/// A file accepted by ingest, about to be recorded.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// The file's name as scanned.
    pub original_name: String,
    /// Where it was found.
    pub source_path: String,
    /// `image/jpeg`, `application/pdf`, ...
    pub media_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// How many pages it holds.
    pub page_count: u32,
    /// Facility code.
    pub facility: String,
    /// Batch name.
    pub batch: String,
    /// Label of the archive box the paper came from.
    pub box_label: Option<String>,
    /// Who scanned it.
    pub operator: Option<String>,
    /// How its pages make charts: each entry is one chart's pages (index in the file, flag).
    /// Empty: one chart of all `page_count` pages.
    pub segments: Vec<Vec<(u32, Option<String>)>>,
}

/// What recording a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// New: recorded as one chart (or several, when split) with its pages queued.
    Accepted {
        /// The new charts, in page order.
        charts: Vec<String>,
    },
    /// Its content was recorded before.
    Duplicate {
        /// The chart it was recorded as.
        chart: String,
        /// The name it had then.
        first_name: String,
    },
}

/// A claimed page: what a worker needs to process it.
#[derive(Debug, Clone)]
pub struct PageJob {
    /// Page row id.
    pub page_id: i64,
    /// The chart's public id.
    pub chart: String,
    /// Page number within the chart, from 1.
    pub page_no: u32,
    /// Index of the page within its file, from 0.
    pub file_page: u32,
    /// SHA-256 of the original file.
    pub file_sha256: String,
    /// Media type of the original.
    pub media_type: String,
    /// Original file name.
    pub file_name: String,
    /// This is attempt number N (from 1).
    pub attempt: u32,
    /// `blank` or `separator` when ingest flagged the page (it is not read by OCR).
    pub flag: Option<String>,
}

/// A claimed page's row, as stored.
#[derive(sqlx::FromRow)]
struct JobRow {
    page_id: i64,
    chart: String,
    page_no: i64,
    file_page: i64,
    file_sha256: String,
    media_type: String,
    file_name: String,
    attempts: i64,
    flag: Option<String>,
}

/// What processing a page produced.
#[derive(Debug, Clone)]
pub struct PageResult {
    /// SHA-256 of the stored page image (in the blob store under `pages`).
    pub image_sha256: String,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Skew corrected, degrees.
    pub skew: f32,
    /// The recognised words.
    pub words: PageWords,
}

/// The public id of the chart made from the file with this hash: stable, so re-running an
/// ingest can never make a second chart of the same file.
pub fn chart_id_for(sha256: &str) -> String {
    format!("c{}", &sha256[..16.min(sha256.len())])
}

impl Store {
    /// Records an accepted file as a chart with its pages queued, or reports it as a
    /// duplicate. Call only after the original is stored durably.
    pub async fn record_file(&self, file: &NewFile) -> Result<FileOutcome> {
        let mut tx = self.begin_write().await?;
        if let Some(row) =
            sqlx::query("SELECT c.public_id, f.original_name FROM files f JOIN charts c ON c.file_id = f.id WHERE f.sha256 = $1 ORDER BY c.id LIMIT 1")
                .bind(&file.sha256)
                .fetch_optional(&mut *tx)
                .await?
        {
            return Ok(FileOutcome::Duplicate { chart: row.try_get(0)?, first_name: row.try_get(1)? });
        }
        let now = now_ms();
        let file_id: i64 = sqlx::query(
            "INSERT INTO files (sha256, original_name, source_path, media_type, size_bytes, page_count, facility, batch, ingested_at, box_label, operator)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&file.sha256)
        .bind(&file.original_name)
        .bind(&file.source_path)
        .bind(&file.media_type)
        .bind(file.size_bytes)
        .bind(file.page_count as i64)
        .bind(&file.facility)
        .bind(&file.batch)
        .bind(now)
        .bind(&file.box_label)
        .bind(&file.operator)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let segments = if file.segments.is_empty() { vec![(0..file.page_count).map(|p| (p, None)).collect()] } else { file.segments.clone() };
        let mut charts = Vec::new();
        for (n, pages) in segments.iter().enumerate() {
            let chart = if n == 0 { chart_id_for(&file.sha256) } else { format!("{}-{}", chart_id_for(&file.sha256), n + 1) };
            let chart_id: i64 = sqlx::query(
                "INSERT INTO charts (public_id, file_id, facility, batch, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .bind(&chart)
            .bind(file_id)
            .bind(&file.facility)
            .bind(&file.batch)
            .bind(ChartStatus::Ingested.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            for (i, (file_page, flag)) in pages.iter().enumerate() {
                sqlx::query("INSERT INTO pages (chart_id, file_id, page_no, file_page, status, flag) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(chart_id)
                    .bind(file_id)
                    .bind(i as i64 + 1)
                    .bind(*file_page as i64)
                    .bind(PageStatus::Queued.as_str())
                    .bind(flag)
                    .execute(&mut *tx)
                    .await?;
            }
            let flagged: Vec<String> = pages.iter().enumerate().filter_map(|(i, (_, f))| f.as_ref().map(|f| format!("page {} {f}", i + 1))).collect();
            let detail = format!(
                "{} ({} of {} page(s), sha256 {}){}",
                file.original_name,
                pages.len(),
                file.page_count,
                file.sha256,
                if flagged.is_empty() { String::new() } else { format!("; flagged: {}", flagged.join(", ")) }
            );
            audit(&mut tx, "ingest", "ingest", Some(&chart), &detail).await?;
            charts.push(chart);
        }
        tx.commit().await?;
        Ok(FileOutcome::Accepted { charts })
    }

    /// The chart a file with this content was recorded as, if it was.
    pub async fn known_file(&self, sha256: &str) -> Result<Option<String>> {
        Ok(sqlx::query("SELECT c.public_id FROM files f JOIN charts c ON c.file_id = f.id WHERE f.sha256 = $1 ORDER BY c.id LIMIT 1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    /// Claims the next page to process for `worker`, leasing it for `lease_ms`. Pages whose
    /// lease expired after `max_attempts` claims are marked failed first.
    pub async fn claim_page(&self, worker: &str, lease_ms: i64, max_attempts: u32) -> Result<Option<PageJob>> {
        let now = now_ms();
        // Give up on pages that crashed their workers too often.
        let exhausted: Vec<i64> = sqlx::query("SELECT id FROM pages WHERE status = $1 AND lease_until < $2 AND attempts >= $3")
            .bind(PageStatus::Processing.as_str())
            .bind(now)
            .bind(max_attempts as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for page_id in exhausted {
            self.fail_page(page_id, &format!("gave up after {max_attempts} attempts (the worker stopped or crashed while processing it)"), 0).await?;
        }
        let lock = if self.backend == crate::Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE pages SET status = $1, attempts = attempts + 1, lease_owner = $2, lease_until = $3
             WHERE id = (SELECT id FROM pages WHERE status = $4 OR (status = $1 AND lease_until < $5 AND attempts < $6) ORDER BY id LIMIT 1 {lock})
             RETURNING id"
        );
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&sql)
            .bind(PageStatus::Processing.as_str())
            .bind(worker)
            .bind(now + lease_ms)
            .bind(PageStatus::Queued.as_str())
            .bind(now)
            .bind(max_attempts as i64)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let page_id: i64 = row.try_get(0)?;
        let job = sqlx::query_as::<_, JobRow>(
            "SELECT p.id AS page_id, c.public_id AS chart, p.page_no, p.file_page, f.sha256 AS file_sha256, f.media_type, f.original_name AS file_name,
                    p.attempts, p.flag
             FROM pages p JOIN charts c ON c.id = p.chart_id JOIN files f ON f.id = p.file_id WHERE p.id = $1",
        )
        .bind(page_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(PageJob {
            page_id: job.page_id,
            chart: job.chart,
            page_no: job.page_no as u32,
            file_page: job.file_page as u32,
            file_sha256: job.file_sha256,
            media_type: job.media_type,
            file_name: job.file_name,
            attempt: job.attempts as u32,
            flag: job.flag,
        }))
    }

    /// Records a processed page; extracts the chart when it was its last page.
    pub async fn complete_page(&self, page_id: i64, result: &PageResult) -> Result<()> {
        self.complete_page_timed(page_id, result, None).await
    }

    /// [`Store::complete_page`], counting the seconds the page took in the page-time
    /// histogram of `/metrics`, in the same transaction.
    pub async fn complete_page_timed(&self, page_id: i64, result: &PageResult, seconds: Option<f64>) -> Result<()> {
        let words = serde_json::to_string(&result.words).map_err(|e| crate::StoreError::Invalid(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE pages SET status = $1, image_sha256 = $2, width = $3, height = $4, skew = $5, words_json = $6, processed_at = $7,
             lease_owner = NULL, lease_until = NULL, error = NULL WHERE id = $8 AND status <> $1",
        )
        .bind(PageStatus::Done.as_str())
        .bind(&result.image_sha256)
        .bind(result.width as i64)
        .bind(result.height as i64)
        .bind(result.skew as f64)
        .bind(words)
        .bind(now_ms())
        .bind(page_id)
        .execute(&mut *tx)
        .await?;
        if let Some(seconds) = seconds {
            let bucket = crate::monitor::PAGE_SECONDS_BUCKETS.iter().position(|le| seconds <= *le).unwrap_or(crate::monitor::PAGE_SECONDS_BUCKETS.len()) as i64;
            sqlx::query("INSERT INTO page_seconds (bucket, n, sum_ms) VALUES ($1, 1, $2) ON CONFLICT (bucket) DO UPDATE SET n = page_seconds.n + 1, sum_ms = page_seconds.sum_ms + excluded.sum_ms")
                .bind(bucket)
                .bind((seconds * 1000.0).round() as i64)
                .execute(&mut *tx)
                .await?;
        }
        extract_if_complete(&mut tx, self, page_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: the page is queued again, or failed for good once it has
    /// had `max_attempts` attempts (0: fail now).
    pub async fn fail_page(&self, page_id: i64, error: &str, max_attempts: u32) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE pages SET status = CASE WHEN attempts >= $1 THEN $2 ELSE $3 END, error = $4, lease_owner = NULL, lease_until = NULL
             WHERE id = $5 AND status = $6",
        )
        .bind(max_attempts as i64)
        .bind(PageStatus::Failed.as_str())
        .bind(PageStatus::Queued.as_str())
        .bind(error)
        .bind(page_id)
        .bind(PageStatus::Processing.as_str())
        .execute(&mut *tx)
        .await?;
        extract_if_complete(&mut tx, self, page_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The workers holding leases now.
    pub async fn lease_owners(&self) -> Result<Vec<String>> {
        sqlx::query("SELECT DISTINCT lease_owner FROM pages WHERE status = $1 AND lease_owner IS NOT NULL")
            .bind(PageStatus::Processing.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    /// Puts back in the queue the pages leased by workers whose name starts with `prefix`
    /// (a process known to be dead); their attempts stay counted.
    pub async fn release_leases(&self, prefix: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE pages SET status = $1, lease_owner = NULL, lease_until = NULL WHERE status = $2 AND substr(lease_owner, 1, CAST($3 AS INTEGER)) = $4",
        )
        .bind(PageStatus::Queued.as_str())
        .bind(PageStatus::Processing.as_str())
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// How many pages are not finished (queued or processing).
    pub async fn pending_pages(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM pages WHERE status IN ($1, $2)")
            .bind(PageStatus::Queued.as_str())
            .bind(PageStatus::Processing.as_str())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }
}
