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

pub mod archive;
pub mod backup;
pub mod blobs;
mod charts;
mod committed;
pub mod evaluate;
pub mod export;
mod extraction;
mod locks;
pub mod monitor;
mod outbox;
mod queue;
mod records;
mod stats;
pub mod synthetic;
mod templates;
pub mod users;

pub use charts::{ChartRecord, FieldRecord, PageInfo, QueueFilter, QueueItem, Source};
pub use committed::RecordCounts;
pub use outbox::{OutboxItem, OutboxOp, Retraction};
pub use queue::{FileOutcome, NewFile, PageJob, PageResult};
pub use records::{Candidate, Committed, MatchHow, MatchOutcome, PatientChoice};
pub use stats::{BatchSummary, ChartCounts, DayCounts, PageCounts, Rejection, ReviewerCounts, Stats};
pub use templates::StoredTemplate;
pub use users::{Facilities, Session, User};

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
    /// The database was made or upgraded by a newer chartscan: this one does not know its
    /// schema and must not write to it.
    #[error(
        "this database's schema is version {database}, newer than this chartscan knows (version {binary}): it was upgraded by a newer release. \
         Run that release (or newer), or restore a backup made for this one; nothing was changed"
    )]
    SchemaTooNew {
        /// The newest schema version applied to the database.
        database: i64,
        /// The newest this binary knows.
        binary: i64,
    },
    /// The URL is not one the store understands.
    #[error("unsupported database URL {:?}: use sqlite://PATH or postgres://...", redact_url(.0))]
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
    /// The user may not make this change (a plain reviewer changing a disputed chart).
    #[error("not allowed: {0}")]
    NotAllowed(String),
}

/// A database URL (`sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`) that never shows
/// its password: `Display` and `Debug` print `postgres://USER:***@HOST/DB`, so the URL can be
/// logged, put in an error message or `Debug`-formatted with the command line safely.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL itself, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(DatabaseUrl(s.to_string()))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?})", redact_url(&self.0))
    }
}

/// `url` with the password of its user-information part (`USER:PASSWORD@`) and of a
/// `password=` query parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find(['/', '?']).map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@').map(|i| rest_start + i) {
            if let Some(colon) = out[rest_start..at].find(':').map(|i| rest_start + i) {
                out.replace_range(colon + 1..at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query: Vec<String> =
            query.split('&').map(|kv| if kv.to_ascii_lowercase().starts_with("password=") { format!("{}=***", &kv[..8]) } else { kv.to_string() }).collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run. On SQLite, one connection: writers wait their turn in
    /// the pool, first come first served, instead of retrying SQLite's lock in its
    /// busy handler's growing sleeps (which made readers' slowest requests wait for
    /// connections held by sleeping writers). On PostgreSQL, the same pool.
    writer: AnyPool,
    /// Audit entries waiting to be written together (see [`Store::audit`]).
    audit_batch: std::sync::Arc<AuditBatch>,
    backend: Backend,
    /// The form templates charts are extracted with, held once here (and shared by the
    /// store's clones): a chart is extracted when its last page is stored, and again when a
    /// reviewer merges or flags pages or a new template version is tried on it.
    template_set: std::sync::Arc<std::sync::RwLock<templates::TemplateSet>>,
    /// How long a session lasts without use.
    session_idle_ms: i64,
}

/// One entry of the audit log, waiting to be written.
#[derive(Debug)]
struct AuditEntry {
    actor: String,
    action: String,
    chart: Option<String>,
    detail: String,
}

/// The audit entries of [`Store::audit`] waiting for a commit, numbered in the order they came.
#[derive(Debug, Default)]
struct AuditBatch {
    /// Entries queued and not yet taken by a writer, with their numbers.
    pending: std::sync::Mutex<Vec<(u64, AuditEntry)>>,
    /// The last number given.
    next: std::sync::atomic::AtomicU64,
    /// Held while a batch is written; says how far writing got.
    written: std::sync::Arc<tokio::sync::Mutex<Written>>,
}

/// How far the audit batches got: every entry up to `upto` was written, except those of the
/// (recent) batches in `failed`, which failed with that error.
#[derive(Debug, Default)]
struct Written {
    upto: u64,
    failed: Vec<(u64, u64, String)>,
}

impl Written {
    /// Whether entry `seq` (written, or in a failed batch) is in the log.
    fn outcome_of(&self, seq: u64) -> Result<()> {
        match self.failed.iter().find(|(a, b, _)| (*a..=*b).contains(&seq)) {
            Some((_, _, e)) => Err(StoreError::Database(sqlx::Error::Protocol(format!("writing the audit entry failed: {e}")))),
            None => Ok(()),
        }
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

/// Province names for synthetic facilities: the CONTRACT's English names.
pub(crate) fn synthetic_provinces() -> Vec<&'static str> {
    chart::province::CANONICAL.iter().map(|(_, name)| *name).collect()
}

/// Unix milliseconds as an RFC 3339 UTC instant (to the second).
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{}T{:02}:{:02}:{:02}Z", t.date(), t.hour(), t.minute(), t.second())
}

/// A database's schema as found, without changing it (`chartscan doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration applied (`None`: an empty database, or none made by chartscan).
    pub applied: Option<i64>,
    /// The newest this binary knows.
    pub known: i64,
    /// The server's version (PostgreSQL) or the library's (SQLite).
    pub server: String,
}

/// Connects to `url` and reads its schema version and server version, changing nothing.
pub async fn inspect(url: &str) -> Result<SchemaStatus> {
    sqlx::any::install_default_drivers();
    let postgres = !url.starts_with("sqlite:");
    let known =
        if postgres { sqlx::migrate!("./migrations/postgres") } else { sqlx::migrate!("./migrations/sqlite") }.iter().map(|m| m.version).max().unwrap_or(0);
    let mut url = url.to_string();
    if !postgres && !url.contains('?') {
        url.push_str("?mode=ro");
    }
    let pool = AnyPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(10)).connect(&url).await?;
    let server: String = sqlx::query_scalar(if postgres { "SELECT version()" } else { "SELECT 'SQLite ' || sqlite_version()" }).fetch_one(&pool).await?;
    let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&pool).await.ok().flatten();
    pool.close().await;
    Ok(SchemaStatus { applied, known, server })
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
                    blobs::create_private_dir(dir)?;
                }
                // Patient data: the database file is its owner's alone (its -wal and -shm
                // files take the same permissions).
                blobs::create_private_file(std::path::Path::new(&path))?;
            }
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        let options = |connections: u32| {
            AnyPoolOptions::new().max_connections(connections).acquire_timeout(Duration::from_secs(30)).after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;").await?;
                    }
                    Ok(())
                })
            })
        };
        let pool = options(if backend == Backend::Sqlite { 8 } else { 16 }).connect(&url).await?;
        let writer = match backend {
            Backend::Sqlite => options(1).connect(&url).await?,
            Backend::Postgres => pool.clone(),
        };
        // Forward only, each migration in its own transaction (sqlx's default); a database
        // a newer release upgraded is refused before anything is written to it.
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        let binary = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        if let Err(e) = migrator.run(&pool).await {
            return Err(match e {
                sqlx::migrate::MigrateError::VersionMissing(missing) => {
                    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&pool).await.ok().flatten();
                    StoreError::SchemaTooNew { database: newest.unwrap_or(missing).max(missing), binary }
                }
                other => other.into(),
            });
        }
        let store = Store { pool, writer, audit_batch: Default::default(), backend, template_set: Default::default(), session_idle_ms: users::SESSION_IDLE_MS };
        store.template_set.write().expect("not poisoned").set_base(std::sync::Arc::new(chart::standard_templates()));
        store.reload_templates().await?;
        Ok(store)
    }

    /// The same store, ending sessions after `idle` without use (default 30 minutes).
    pub fn with_session_idle(mut self, idle: Duration) -> Store {
        self.session_idle_ms = (idle.as_millis() as i64).max(1000);
        self
    }

    /// The same store, with `templates` as the base set instead of the bundled ones (the
    /// stored templates still take the place of theirs). Other clones keep their set.
    pub fn with_templates(mut self, templates: std::sync::Arc<Vec<chart::Template>>) -> Store {
        let mut set = templates::TemplateSet::new(templates.clone());
        set.set_base(templates);
        let stored = self.template_set.read().expect("not poisoned").clone_stored();
        set.set_stored(stored);
        self.template_set = std::sync::Arc::new(std::sync::RwLock::new(set));
        self
    }

    /// The form templates charts are extracted with, now.
    pub fn templates(&self) -> std::sync::Arc<Vec<chart::Template>> {
        self.template_set.read().expect("not poisoned").merged()
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction that takes the write lock at once on SQLite.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Writes an entry to the audit log.
    ///
    /// Entries written at the same moment share one transaction (group commit): each caller
    /// queues its entry, and whoever gets the writer's turn first writes every entry queued
    /// so far, in order, and commits once. Every caller returns only once its own entry is
    /// committed (or with the error that stopped it), so nothing is acknowledged unwritten;
    /// but twenty reviewers opening charts cost one synced commit, not twenty, under SQLite's
    /// one writer and PostgreSQL's chain lock alike.
    pub async fn audit(&self, actor: &str, action: &str, chart: Option<&str>, detail: &str) -> Result<()> {
        let entry = AuditEntry { actor: actor.to_string(), action: action.to_string(), chart: chart.map(str::to_string), detail: detail.to_string() };
        let seq = {
            let mut pending = self.audit_batch.pending.lock().expect("not poisoned");
            let seq = self.audit_batch.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            pending.push((seq, entry));
            seq
        };
        let written = self.audit_batch.written.clone().lock_owned().await;
        if written.upto >= seq {
            return written.outcome_of(seq);
        }
        // This caller's turn: everything queued so far is written, in a task of its own so
        // that a caller going away (a closed connection) cannot stop a batch half-way.
        let store = self.clone();
        let write = tokio::spawn(async move {
            let mut written = written;
            let batch: Vec<(u64, AuditEntry)> = std::mem::take(&mut *store.audit_batch.pending.lock().expect("not poisoned"));
            let (first, last) = (batch.first().map_or(seq, |b| b.0), batch.last().map_or(seq, |b| b.0));
            let outcome = async {
                let mut tx = store.begin_write().await?;
                for (_, e) in &batch {
                    audit(&mut tx, &e.actor, &e.action, e.chart.as_deref(), &e.detail).await?;
                }
                tx.commit().await?;
                Ok::<(), StoreError>(())
            }
            .await;
            if let Err(e) = outcome {
                written.failed.push((first, last, e.to_string()));
                let excess = written.failed.len().saturating_sub(64);
                written.failed.drain(..excess);
            }
            written.upto = written.upto.max(last);
            written.outcome_of(seq)
        });
        write.await.map_err(|e| StoreError::Database(sqlx::Error::Protocol(format!("writing the audit log stopped: {e}"))))?
    }

    /// Walks the audit log's hash chain from the first entry: every entry's link must be the
    /// previous entry's hash and its hash must match its content.
    pub async fn verify_audit(&self) -> Result<AuditCheck> {
        use sqlx::Row;
        let mut check = AuditCheck::default();
        let mut prev: Option<String> = None;
        let mut after = i64::MIN;
        loop {
            let rows: Vec<AnyRow> =
                sqlx::query("SELECT id, at, actor, action, chart_id, detail, prev_hash, hash FROM audit_log WHERE id > $1 ORDER BY id LIMIT 10000")
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            for r in &rows {
                let id: i64 = r.try_get(0)?;
                let (link, hash): (Option<String>, Option<String>) = (r.try_get(6)?, r.try_get(7)?);
                check.entries += 1;
                let Some(hash) = hash else {
                    if prev.is_none() {
                        check.unchained += 1; // written before the chain existed
                        continue;
                    }
                    return Ok(check.broken(id, "the entry has no hash (written outside chartscan, or its hash removed)"));
                };
                let expected_link = prev.clone().unwrap_or_default();
                if link.as_deref().unwrap_or_default() != expected_link {
                    return Ok(check.broken(id, "its link does not match the entry before it (an entry before it was deleted or changed)"));
                }
                let content = audit_hash(
                    &expected_link,
                    r.try_get(1)?,
                    &r.try_get::<String, _>(2)?,
                    &r.try_get::<String, _>(3)?,
                    r.try_get::<Option<String>, _>(4)?.as_deref(),
                    &r.try_get::<String, _>(5)?,
                );
                if content != hash {
                    return Ok(check.broken(id, "its content does not match its hash (the entry was changed)"));
                }
                check.chained += 1;
                prev = Some(hash);
            }
        }
        check.head = prev;
        Ok(check)
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
        self.writer.close().await;
    }
}

/// An SQL condition on `column` (a facility code) for the facilities bound at parameter
/// `param` in their stored form ([`Facilities::stored`]): `*` matches every facility.
pub(crate) fn facility_clause(column: &str, param: u32) -> String {
    format!("(${param} = '*' OR ${param} LIKE '%,' || {column} || ',%')")
}

/// What walking the audit log's chain found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditCheck {
    /// Entries read.
    pub entries: u64,
    /// Entries from before the chain existed (no hash, all before the first chained one).
    pub unchained: u64,
    /// Entries whose link and hash hold.
    pub chained: u64,
    /// The first entry where the chain breaks, and why.
    pub broken: Option<(i64, String)>,
    /// The last entry's hash when the chain is whole: written down elsewhere, it also shows
    /// later whether entries were cut off the end.
    pub head: Option<String>,
}

impl AuditCheck {
    fn broken(mut self, id: i64, why: &str) -> AuditCheck {
        self.broken = Some((id, why.to_string()));
        self
    }
}

/// The hash of an audit entry: SHA-256 over the previous entry's hash and the entry's fields,
/// as one JSON array (so that no two different entries encode alike).
pub fn audit_hash(prev: &str, at: i64, actor: &str, action: &str, chart: Option<&str>, detail: &str) -> String {
    let encoded = serde_json::json!([prev, at, actor, action, chart, detail]).to_string();
    blobs::sha256_hex(encoded.as_bytes())
}

/// An arbitrary constant naming the PostgreSQL advisory lock that puts audit writers in line.
const AUDIT_LOCK: i64 = 0x0063_6861_7274_6175; // "chartau"

/// Writes an audit entry on the given connection, inside the caller's transaction, chained to
/// the entry before it. Writers take turns: SQLite's write transactions are exclusive
/// (`BEGIN IMMEDIATE`), and on PostgreSQL a transaction-scoped advisory lock is held until the
/// caller commits, so that no two entries link to the same predecessor.
pub(crate) async fn audit(conn: &mut sqlx::AnyConnection, actor: &str, action: &str, chart: Option<&str>, detail: &str) -> Result<()> {
    use sqlx::Row;
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *conn).await?;
    }
    let prev: String = sqlx::query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>(0))
        .transpose()?
        .flatten()
        .unwrap_or_default();
    let at = now_ms();
    let hash = audit_hash(&prev, at, actor, action, chart, detail);
    sqlx::query("INSERT INTO audit_log (at, actor, action, chart_id, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(chart)
        .bind(detail)
        .bind(&prev)
        .bind(&hash)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_never_show_their_password() {
        use super::{redact_url, DatabaseUrl};
        assert_eq!(redact_url("postgres://chartscan:s3cret@db.local:5432/charts"), "postgres://chartscan:***@db.local:5432/charts");
        assert_eq!(redact_url("postgres://chartscan@db/charts?password=s3cret&sslmode=require"), "postgres://chartscan@db/charts?password=***&sslmode=require");
        assert_eq!(redact_url("sqlite://chartscan-data/chartscan.db"), "sqlite://chartscan-data/chartscan.db");
        assert_eq!(redact_url("postgres://a:b@c/d?x=@y:z"), "postgres://a:***@c/d?x=@y:z", "an @ in the query is not the user part");
        let url: DatabaseUrl = "postgres://u:hunter2@h/d".parse().unwrap();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://u:hunter2@h/d");
        let err = super::StoreError::UnsupportedUrl("mysql://u:hunter2@h/d".into());
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn instants_are_rfc3339() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_764_124_911_000), "2025-11-26T02:41:51Z");
    }
}
