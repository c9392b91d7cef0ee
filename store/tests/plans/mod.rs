//! Query plans at size (issue 17), shared by `plans_sqlite.rs` and `plans_postgres.rs`: a
//! store of 200,000 synthetic charts (enough for the planners to prefer indexes), the hot
//! paths of the review station, the workers and the exports run through the real `Store`,
//! and the plan of every statement they made is checked: no statement may read a large
//! table whole (a sequential scan) or sort one whole.
//!
//! The plans are the real ones. On PostgreSQL, `auto_explain` is loaded into each session
//! (`session_preload_libraries` on the test database) and reports the plan of every statement
//! as executed, with its parameters and the rows each step really read (`log_analyze`), as a
//! notice; sqlx passes notices to `tracing`, where this test collects them. A step that read
//! more than [`MAX_ROWS_READ`] rows of a large table fails it, whatever its kind (an index
//! range walked past thousands of rows is as bad as a sequential scan). On SQLite, sqlx's
//! statement log gives each statement's text and `EXPLAIN QUERY PLAN` its plan (SQLite plans
//! do not depend on the parameters); SQLite reports no row counts, so there the check is on
//! the plan's shape: no table scanned whole, no whole table sorted.
//!
//! The dashboard's aggregates (counts by facility, box, status, day and reviewer, the batch
//! list, the box reconciliation) are run too: they read the running totals of migration
//! 0019, never the charts themselves.

#![allow(dead_code)]

use chart::{ChartStatus, FieldValue, PageWords};
use std::sync::{Mutex, OnceLock};
use store::{Facilities, NewFile, PageResult, QueueFilter, Store};

/// Charts in the store: more than the planners scan rather than search.
pub const CHARTS: i64 = 200_000;

/// Tables that grow with the archive; a whole read of any of them is a failure.
const LARGE: [&str; 7] = ["charts", "pages", "fields", "files", "audit_log", "encounters", "facts"];

/// More rows than one request of a review station reads (a queue page, a chart's fields, a
/// page of an export): a node reading more grows with the store.
const MAX_ROWS_READ: f64 = 5_000.0;

/// What sqlx reported while the hot paths ran: (target, text).
static SEEN: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();

fn seen() -> &'static Mutex<Vec<(String, String)>> {
    SEEN.get_or_init(Default::default)
}

/// Collects sqlx's statement log and PostgreSQL's notices.
struct Capture;

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    message: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && self.message.is_empty() {
            self.message = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let target = event.metadata().target();
        if target != "sqlx::query" && target != "sqlx::postgres::notice" {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        // sqlx gives the whole statement only when its summary is shortened.
        let text = if target == "sqlx::postgres::notice" {
            f.message
        } else if f.statement.trim().is_empty() {
            f.summary
        } else {
            f.statement.trim().to_string()
        };
        seen().lock().unwrap().push((target.to_string(), text));
    }
}

/// Starts collecting (once per test binary).
pub fn capture() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let only_sqlx = tracing_subscriber::filter::Targets::new().with_target("sqlx", tracing::Level::TRACE);
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture.with_filter(only_sqlx))).expect("one subscriber per test binary");
    });
}

/// Forgets what was collected so far (the seeding's statements).
pub fn forget() {
    seen().lock().unwrap().clear();
}

/// What was collected since [`forget`].
pub fn collected() -> Vec<(String, String)> {
    seen().lock().unwrap().clone()
}

fn scan(sha: &str) -> NewFile {
    NewFile {
        sha256: sha.repeat(64 / sha.len()),
        original_name: format!("{sha}.jpg"),
        source_path: format!("/scans/{sha}.jpg"),
        media_type: "image/jpeg".into(),
        size_bytes: 1234,
        page_count: 1,
        facility: "PP01".into(),
        batch: "box1".into(),
        box_label: Some("box 17".into()),
        operator: Some("srey".into()),
        segments: vec![],
    }
}

/// Fills the store with [`CHARTS`] synthetic charts; returns what it took, in seconds.
pub async fn seed(url: &str) -> f64 {
    store::synthetic::seed(url, CHARTS, 2, &"ab".repeat(32)).await.unwrap().expect("an empty store to fill")
}

/// The hot paths, as the review station, the workers and the exports call them.
pub async fn exercise(s: &Store) {
    let r = "reviewer";
    // The queue, plain and filtered, as reviewers open it.
    let mut queue = s.review_queue_for(50, &QueueFilter::default(), Some(r)).await.unwrap();
    assert_eq!(queue.len(), 50, "the seeded charts await review");
    for filter in [
        QueueFilter { facility: Some("SR01".into()), ..Default::default() },
        QueueFilter { form: Some("opd".into()), batch: Some("load".into()), ..Default::default() },
        QueueFilter { senior: true, ..Default::default() },
    ] {
        s.review_queue_for(50, &filter, Some(r)).await.unwrap();
    }
    // A chart opened, its page and snippets shown, a field corrected, then approved (which
    // commits the record); another rejected; another claimed and let go.
    let id = queue.remove(7).chart;
    s.claim_chart(&id, r, 600_000).await.unwrap();
    let chart = s.chart(&id).await.unwrap();
    s.audit(r, "view_chart", Some(&id), "").await.unwrap();
    s.page_image_sha(&id, 1).await.unwrap();
    for name in ["name_latin", "phone", "diagnosis"] {
        s.field_place(&id, name).await.unwrap();
    }
    let mut version = chart.version;
    for (name, value) in [
        ("name_khmer", "សុខ សុភាព"),
        ("name_latin", "SOK Sopheap"),
        ("sex", "F"),
        ("age", "34"),
        ("date_of_birth", "1990-03-04"),
        ("visit_date", "2024-11-25"),
        ("phone", "012345678"),
        ("village", "Kouk Khleang"),
        ("commune", "Phnom Penh Thmei"),
        ("district", "Saensokh"),
        ("province", "Phnom Penh"),
        ("diagnosis", "Dengue fever"),
        ("diagnosis_icd10", "A97.0"),
        ("patient_id", "PP-000123"),
    ] {
        version = s.update_field(&id, name, Some(&FieldValue::from(value)), version, r).await.unwrap().version;
    }
    let approved = s.approve(&id, version, r).await.unwrap();
    assert_eq!(approved.status, ChartStatus::Approved);
    assert!(s.committed_chart(&id).await.unwrap().is_some(), "approval commits the record");
    let other = queue.remove(3).chart;
    let version = s.chart(&other).await.unwrap().version;
    s.reject(&other, version, "illegible", r).await.unwrap();
    let third = queue.remove(5).chart;
    s.claim_chart(&third, r, 600_000).await.unwrap();
    s.release_claim(&third, r).await.unwrap();
    s.audit_entries(Some(&id)).await.unwrap();
    // Export paging: the approved charts, and every chart, a page at a time.
    let page = s.charts_page(Some(ChartStatus::Approved), None, &Facilities::All, 0, 100).await.unwrap();
    assert_eq!(page.len(), 1);
    let page = s.charts_page(None, Some("opd"), &Facilities::Only(vec!["PP01".into()]), 0, 100).await.unwrap();
    let after = page.last().unwrap().0;
    s.charts_page(None, None, &Facilities::All, after, 100).await.unwrap();
    // A worker: a scan recorded, its page claimed and read, the chart extracted.
    s.record_file(&scan("e7")).await.unwrap();
    s.known_file(&"e7".repeat(32)).await.unwrap();
    let job = s.claim_page("host-1-0", 60_000, 3).await.unwrap().expect("the new page is queued");
    let words = PageWords::typeset(1, 1000, 1400, &["OUTPATIENT CONSULTATION CARD", "Patient ID: 000123", "Sex: F"]);
    s.complete_page(job.page_id, &PageResult { image_sha256: "cd".repeat(32), width: 1000, height: 1400, skew: 0.0, words }).await.unwrap();
    s.pending_pages().await.unwrap();
    // The dashboard, as a manager and as a user of one facility opens it.
    for scope in [Facilities::All, Facilities::Only(vec!["SR01".into()])] {
        let stats = s.stats_of(&scope).await.unwrap();
        assert!(stats.charts.total > 0, "the totals count the seeded charts");
        s.batches_of(&scope).await.unwrap();
        s.box_rows(&scope, None).await.unwrap();
        s.rejections(20, &scope).await.unwrap();
    }
    s.facility_registry().await.unwrap();
}

/// Fails the test when fewer than `at_least` plans were checked (the plans were not collected)
/// or any of them read a large table whole, listing each distinct fault once.
pub fn assert_clean(checked: usize, at_least: usize, mut faults: Vec<String>, hint: &str) {
    println!("{checked} plans checked");
    assert!(checked >= at_least, "only {checked} plans were checked: {hint}");
    let total = faults.len();
    faults.sort();
    faults.dedup();
    assert!(faults.is_empty(), "{total} plans read a large table whole; the distinct faults:\n{}", faults.join("\n"));
}

/// The first few lines of a statement, for a failure message.
pub fn short(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect()
}

/// Whether a statement reads one of the [`LARGE`] tables (by name, as a word).
pub fn mentions_large(sql: &str) -> bool {
    let words: Vec<String> = sql.split(|c: char| !c.is_alphanumeric() && c != '_').map(str::to_lowercase).collect();
    LARGE.iter().any(|t| words.iter().any(|w| w == t))
}

/// PostgreSQL: what is wrong with one plan (auto_explain's JSON), if anything.
pub fn postgres_faults(plan: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(node: &serde_json::Value, out: &mut Vec<String>) {
        let kind = node["Node Type"].as_str().unwrap_or("");
        let relation = node["Relation Name"].as_str().unwrap_or("");
        let rows = node["Plan Rows"].as_f64().unwrap_or(0.0);
        // With ANALYZE: what the node really read (the rows it passed on, and those its
        // filter threw away, per loop).
        let loops = node["Actual Loops"].as_f64().unwrap_or(1.0).max(1.0);
        let read = loops * (node["Actual Rows"].as_f64().unwrap_or(0.0) + node["Rows Removed by Filter"].as_f64().unwrap_or(0.0));
        // (A sequential scan of a table still small in this store, such as the records of
        // the few charts approved here, reads a few rows and is the planner's right choice.)
        if LARGE.contains(&relation) && read > MAX_ROWS_READ {
            out.push(format!("{kind} of {relation} read {read} rows"));
        }
        // A sort of many rows is a sort of (much of) a table.
        if kind == "Sort" && rows.max(read) > MAX_ROWS_READ {
            out.push(format!("a sort of {} rows", rows.max(read)));
        }
        for child in node["Plans"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    walk(&plan["Plan"], &mut out);
    out
}

/// SQLite: what is wrong with one plan (`EXPLAIN QUERY PLAN`'s details), if anything.
pub fn sqlite_faults(sql: &str, details: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    // Walking a table in its key's order without a condition, under a LIMIT, stops after
    // that many rows (the last audit entry: `ORDER BY id DESC LIMIT 1`).
    let upper = sql.to_uppercase();
    let stops_early = !upper.contains(" WHERE ") && upper.contains(" ORDER BY ") && upper.contains(" LIMIT ");
    // Plans name a table by its alias in the statement (`FROM charts c`: `SCAN c`).
    let words: Vec<&str> = sql.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',').filter(|w| !w.is_empty()).collect();
    let mut table_of: std::collections::HashMap<String, String> = LARGE.iter().map(|t| (t.to_string(), t.to_string())).collect();
    for w in words.windows(3) {
        let keyword = w[0].to_uppercase();
        if (keyword == "FROM" || keyword == "JOIN") && LARGE.contains(&w[1]) {
            let alias =
                if w[2].eq_ignore_ascii_case("AS") { words.iter().skip_while(|x| !std::ptr::eq(*x, &w[2])).nth(1).copied().unwrap_or("") } else { w[2] };
            table_of.insert(alias.to_string(), w[1].to_string());
        }
    }
    let large = |d: &str| d.split_whitespace().nth(1).is_some_and(|name| table_of.contains_key(name));
    for d in details {
        // `SCAN charts` reads the table whole; `SCAN charts USING INDEX ...` walks an index
        // in order (the queue, under a LIMIT), `SEARCH` looks rows up.
        if let Some(rest) = d.strip_prefix("SCAN ") {
            if large(d) && !rest.contains(" USING ") && !stops_early {
                out.push(format!("a full scan: {d}"));
            }
        }
    }
    let scans_large = details.iter().any(|d| d.starts_with("SCAN ") && large(d));
    if scans_large && details.iter().any(|d| d.contains("USE TEMP B-TREE")) {
        out.push(format!("a sort of a table walked whole: {}", details.join(" / ")));
    }
    out
}
