//! Upgrades (issue 19), on both backends: a database made at every earlier schema version
//! (the migrations up to it, applied as that release applied them) and filled with charts,
//! pages, fields, users and audit entries, is opened by this release: the remaining
//! migrations run, every row is still there with its values, the running totals of the
//! newer schema count what was there, and the store works. A database a newer release
//! upgraded is refused with a clear message, and left as it was. And the database the last
//! release made, stored as it was (`tests/fixtures/`), upgrades: its migrations' checksums
//! are in it, so a change to an old migration file fails here as it would on a clinic's
//! machine.

use sqlx::Row;
use std::path::{Path, PathBuf};
use store::{Store, StoreError};

fn migrations(backend: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "sql")).collect();
    files.sort();
    assert!(files.len() >= 19, "{}: the migrations", dir.display());
    files
}

/// Applies these migration files, as the release that had only them did.
async fn apply(url: &str, files: &[PathBuf]) {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    migrator.run(&pool).await.unwrap();
    pool.close().await;
}

/// Rows every schema since the first has the columns for: two files, three charts (one
/// approved, one rejected, one waiting), their pages and fields, a user and audit entries.
async fn fill(url: &str) {
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let statements = [
        "INSERT INTO files (sha256, original_name, source_path, media_type, size_bytes, page_count, facility, batch, ingested_at) VALUES \
         ('aa', 'a.jpg', '/s/a.jpg', 'image/jpeg', 10, 1, 'PP01', 'b1', 1700000000000), ('bb', 'b.pdf', '/s/b.pdf', 'application/pdf', 20, 2, 'SR01', 'b2', 1700000100000)",
        "INSERT INTO charts (public_id, file_id, facility, batch, form, status, confidence, version, reviewer, reviewed_at, reject_reason, created_at, updated_at) VALUES \
         ('c1', 1, 'PP01', 'b1', 'opd', 'approved', 0.9, 3, 'rev', 1700000500000, NULL, 1700000000000, 1700000500000), \
         ('c2', 2, 'SR01', 'b2', 'anc', 'rejected', 0.5, 2, 'rev', 1700000600000, 'illegible', 1700000100000, 1700000600000), \
         ('c3', 2, 'SR01', 'b2', 'opd', 'extracted', 0.7, 1, NULL, NULL, NULL, 1700000100000, 1700000100000)",
        "INSERT INTO pages (chart_id, file_id, page_no, file_page, status, attempts, image_sha256, width, height, skew, words_json, processed_at) VALUES \
         (1, 1, 1, 0, 'done', 1, 'i1', 1000, 1400, 0.5, NULL, 1700000001000), (2, 2, 1, 0, 'done', 1, 'i2', 1000, 1400, 0.0, NULL, 1700000101000), \
         (3, 2, 1, 1, 'failed', 3, NULL, NULL, NULL, NULL, NULL, NULL)",
        "INSERT INTO fields (chart_id, name, value, raw, confidence, needs_review, page, bbox, issue, corrected) VALUES \
         (1, 'patient_id', '004512', '004512', 0.99, 0, 1, '[1, 2, 3, 4]', NULL, 0), (1, 'phone', '012345678', '0l2345678', 0.6, 0, 1, NULL, NULL, 1), \
         (3, 'name_khmer', 'សុខ សុភាព', 'សុខ សុភាព', 0.8, 1, 1, NULL, 'low confidence', 0)",
        "INSERT INTO users (name, role, password_hash, created_at) VALUES ('rev', 'reviewer', 'x', 1690000000000)",
        "INSERT INTO audit_log (at, actor, action, chart_id, detail) VALUES (1700000400000, 'rev', 'edit_field', 'c1', '{\"field\":\"phone\",\"from\":\"0l2345678\",\"to\":\"012345678\"}'), \
         (1700000500000, 'rev', 'approve', 'c1', '')",
    ];
    for sql in statements {
        sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    pool.close().await;
}

async fn check(url: &str, from: &str) {
    let s = Store::open(url).await.unwrap_or_else(|e| panic!("opening a database of schema {from}: {e}"));
    let c1 = s.chart("c1").await.unwrap();
    assert_eq!(
        (c1.status, c1.version, c1.fields["phone"].text(), c1.fields["phone"].corrected),
        (chart::ChartStatus::Approved, 3, Some("012345678"), true),
        "{from}"
    );
    assert_eq!(s.chart("c3").await.unwrap().fields["name_khmer"].text(), Some("សុខ សុភាព"), "{from}");
    let st = s.stats().await.unwrap();
    assert_eq!((st.charts.total, st.charts.approved, st.charts.rejected, st.charts.extracted), (3, 1, 1, 1), "{from}");
    assert_eq!((st.pages.total, st.pages.done, st.pages.failed), (3, 2, 1), "{from}");
    assert_eq!((st.by_reviewer["rev"].approved, st.corrections_by_field.get("phone").copied()), (1, Some(1)), "{from}");
    let drift = s.check_tallies().await.unwrap();
    assert!(drift.is_empty(), "upgraded from {from}, the running totals disagree:\n{}", drift.join("\n"));
    assert_eq!(s.audit_entries(Some("c1")).await.unwrap().len(), 2, "{from}");
    // And it works: a new file, the user still there.
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE name = 'rev'").fetch_one(&pool).await.unwrap().try_get(0).unwrap();
    assert_eq!(users, 1);
    pool.close().await;
    s.reject("c3", 1, "upgrade check", "rev").await.unwrap();
    assert!(s.check_tallies().await.unwrap().is_empty());
    s.close().await;
}

async fn every_schema_upgrades(backend: &str, new_db: impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = String>>>) {
    sqlx::any::install_default_drivers();
    let files = migrations(backend);
    for k in 1..files.len() {
        let url = new_db(k).await;
        apply(&url, &files[..k]).await;
        fill(&url).await;
        check(&url, &files[k - 1].file_name().unwrap().to_string_lossy()).await;
    }
    // A newer release's database: one migration more than this binary knows.
    let url = new_db(99).await;
    let future = tempfile::tempdir().unwrap();
    let newer = future.path().join("9999_from_a_newer_release.sql");
    std::fs::write(&newer, "CREATE TABLE from_the_future (x INTEGER);").unwrap();
    let mut all = files.clone();
    all.push(newer);
    apply(&url, &all).await;
    match Store::open(&url).await {
        Err(e @ StoreError::SchemaTooNew { database: 9999, .. }) => {
            let message = e.to_string();
            assert!(message.contains("newer release") && message.contains("9999") && message.contains("nothing was changed"), "{message}");
        }
        other => panic!("a newer database must be refused, got {:?}", other.map(|_| "a store")),
    }
}

#[tokio::test]
async fn sqlite_databases_of_every_earlier_schema_upgrade_with_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    every_schema_upgrades("sqlite", move |k| {
        let url = format!("sqlite://{}/v{k}.db?mode=rwc", root.display());
        Box::pin(async move { url })
    })
    .await;
}

#[tokio::test]
async fn postgres_databases_of_every_earlier_schema_upgrade_with_their_data() {
    let admin = std::env::var("CHARTSCAN_TEST_PG_URL")
        .expect("CHARTSCAN_TEST_PG_URL is not set: the PostgreSQL half needs a real server. Run ./dev test, which starts one on loopback");
    let tag = std::process::id();
    every_schema_upgrades("postgres", move |k| {
        let admin = admin.clone();
        Box::pin(async move {
            sqlx::any::install_default_drivers();
            let name = format!("chartscan_upgrade_{tag}_{k}");
            let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&pool).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
            pool.close().await;
            format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
        })
    })
    .await;
}

/// The stored SQLite database of the release before the archive and operations work
/// (schema 18), made by that release's migrations and filled as above. Regenerate a missing
/// fixture with `CHARTSCAN_WRITE_FIXTURES=1` (only for a new release's schema: a stored one is
/// never remade).
#[tokio::test]
async fn the_stored_database_of_the_last_release_upgrades() {
    sqlx::any::install_default_drivers();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqlite-schema-18.db");
    if !fixture.exists() && std::env::var_os("CHARTSCAN_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
        let url = format!("sqlite://{}?mode=rwc", fixture.display());
        apply(&url, &migrations("sqlite")[..18]).await;
        fill(&url).await;
    }
    assert!(fixture.is_file(), "{} is missing: it is part of the repository", fixture.display());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("old.db");
    std::fs::copy(&fixture, &copy).unwrap();
    check(&format!("sqlite://{}", copy.display()), "the stored database of schema 18").await;
}
