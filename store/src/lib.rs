//! The store: one database (SQLite embedded by default, PostgreSQL from a `postgres://`
//! URL) holding the ledger of accepted files, the page work queue, charts and their fields,
//! users and sessions, and the audit log. Page images and originals live in the
//! content-addressed [`blobs`] directory beside it.
//!
//! Invariant: the backend is chosen once, from the URL scheme, in [`Store::open`]; every
//! query is written once in SQL both backends accept (`$1` placeholders, `RETURNING`).
//! Invariant: SQLite write transactions start with `BEGIN IMMEDIATE` (a deferred transaction
//! that reads and then writes fails at once under concurrency), and SQLite runs in WAL mode
//! with `synchronous=FULL` because the ledger of accepted scans must survive power loss.
//! Invariant: a float that may be NULL is bound as text and CAST in SQL: sqlx 0.8's Any
//! driver binds a NULL f64 as float4 on PostgreSQL, and the connection's cached statement
//! then refuses every later f64 (found by the store suite: "incorrect binary data format").
//! Invariant: this crate knows nothing of HTTP or Tesseract.

pub mod blobs;
mod charts;
pub mod export;
mod queue;
pub mod records;
mod stats;
mod users;

pub use charts::{ChartRecord, FieldRecord, PageInfo, QueueFilter, QueueItem, Source};
pub use queue::{FileOutcome, NewFile, PageJob, PageResult};
pub use records::{Candidate, Committed, MatchOutcome, OutboxItem, PatientChoice, RecordCounts, Retraction};
pub use stats::{BatchSummary, ChartCounts, DayCounts, PageCounts, Rejection, ReviewerCounts, Stats};
pub use users::{Session, User};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or refused.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The URL is not one the store understands.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A file system operation on the data directory failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No such chart, field or user.
    #[error("not found: {0}")]
    NotFound(String),
    /// The version given is not the current one: someone else changed the chart.
    #[error("conflict: chart {chart} is at version {current}, not {given}")]
    Conflict {
        /// The chart.
        chart: String,
        /// The version the caller had.
        given: i64,
        /// The version in the store.
        current: i64,
    },
    /// Another reviewer holds a live claim on the chart.
    #[error("chart {chart} is being reviewed by {by}")]
    Claimed {
        /// The chart.
        chart: String,
        /// Who holds the claim.
        by: String,
    },
    /// The operation does not apply to the chart in its current state.
    #[error("{0}")]
    InvalidState(String),
    /// Matching found stored patients the chart's patient may be, none clearly: a reviewer
    /// must say which (or that it is a new patient).
    #[error("chart {chart}: the patient may be one of {} stored patients; choose one or a new patient", candidates.len())]
    NeedsPatientChoice {
        /// The chart.
        chart: String,
        /// Candidates, best first.
        candidates: Vec<records::Candidate>,
    },
    /// A value could not be stored as given.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path).to_string();
            if path != ":memory:" {
                if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { context: format!("creating {}", dir.display()), source })?;
                }
            }
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Store { pool, backend })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction that takes the write lock at once on SQLite.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Writes an entry to the audit log.
    pub async fn audit(&self, actor: &str, action: &str, chart: Option<&str>, detail: &str) -> Result<()> {
        audit(&mut *self.pool.acquire().await?, actor, action, chart, detail).await
    }

    /// The audit log entries of a chart (or all, with `None`), oldest first:
    /// (time ms, actor, action, chart, detail).
    pub async fn audit_entries(&self, chart: Option<&str>) -> Result<Vec<(i64, String, String, Option<String>, String)>> {
        let rows: Vec<AnyRow> = match chart {
            Some(c) => {
                sqlx::query("SELECT at, actor, action, chart_id, detail FROM audit_log WHERE chart_id = $1 ORDER BY id").bind(c).fetch_all(&self.pool).await?
            }
            None => sqlx::query("SELECT at, actor, action, chart_id, detail FROM audit_log ORDER BY id").fetch_all(&self.pool).await?,
        };
        use sqlx::Row;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?))).collect()
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Writes an audit entry on the given connection (inside the caller's transaction).
pub(crate) async fn audit(conn: &mut sqlx::AnyConnection, actor: &str, action: &str, chart: Option<&str>, detail: &str) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, chart_id, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(now_ms())
        .bind(actor)
        .bind(action)
        .bind(chart)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}
