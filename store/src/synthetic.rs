//! A store filled with synthetic charts by SQL, for the load benchmark and the query-plan
//! test: no OCR, no patients, just rows shaped like a busy review station's.

use crate::Result;
use std::time::Instant;

/// The fields every synthetic chart has (an outpatient card's).
pub const FIELDS: [&str; 17] = [
    "patient_id",
    "name_khmer",
    "name_latin",
    "sex",
    "age",
    "date_of_birth",
    "visit_date",
    "phone",
    "village",
    "commune",
    "district",
    "province",
    "chief_complaint",
    "diagnosis",
    "diagnosis_icd10",
    "treatment",
    "doctor",
];

/// Fills the database at `url` (already migrated: open a [`crate::Store`] on it first) with
/// `charts` one-page charts awaiting review, across three facilities, each with the
/// [`FIELDS`] (values of its own, a third needing review) and a page showing the image `page_sha`, plus
/// `audit_per_chart` audit rows per chart (views, as a station that has been in use for a
/// while has; their hash chain is not kept). Does nothing when the store holds that many
/// charts already. Returns the seconds it took, or `None` when there was nothing to do.
pub async fn seed(url: &str, charts: i64, audit_per_chart: i64, page_sha: &str) -> Result<Option<f64>> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await?;
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM charts").fetch_one(&pool).await?;
    if have >= charts {
        return Ok(None);
    }
    let started = Instant::now();
    let postgres = url.starts_with("postgres");
    let series = |n: i64| {
        if postgres {
            format!("SELECT g AS i FROM generate_series(1, {n}) g")
        } else {
            format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT i FROM n")
        }
    };
    let now = crate::now_ms();
    let hex = if postgres { "lpad(to_hex(i), 64, '0')" } else { "printf('%064x', i)" };
    let pid = if postgres { "'c' || lpad(to_hex(f.id), 16, '0')" } else { "printf('c%016x', f.id)" };
    let facility = "CASE i % 3 WHEN 0 THEN 'PP01' WHEN 1 THEN 'SR01' ELSE 'BB01' END";
    let mut statements = vec![
        format!("INSERT INTO files (sha256, original_name, source_path, media_type, size_bytes, page_count, facility, batch, ingested_at) SELECT {hex}, 'scan.jpg', '/scans/scan.jpg', 'image/jpeg', 500000, 1, {facility}, 'load', {now} FROM ({}) s", series(charts)),
        format!("INSERT INTO charts (public_id, file_id, facility, batch, form, status, confidence, version, created_at, updated_at) SELECT {pid}, f.id, f.facility, 'load', 'opd', 'extracted', (f.id % 1000) / 1000.0, 1, {now}, {now} FROM files f WHERE f.batch = 'load'"),
        format!("INSERT INTO pages (chart_id, file_id, page_no, file_page, status, image_sha256, width, height, skew, words_json, processed_at) SELECT c.id, c.file_id, 1, 0, 'done', '{page_sha}', 1748, 2480, 0.0, NULL, {now} FROM charts c WHERE c.batch = 'load'"),
    ];
    for (k, name) in FIELDS.iter().enumerate() {
        let bbox = format!("[{}, {}, 300, 45]", 300 + 50 * (k % 2), 380 + 110 * k);
        statements.push(format!(
            "INSERT INTO fields (chart_id, name, value, raw, confidence, needs_review, page, bbox, issue, corrected) SELECT c.id, '{name}', 'value {k} ' || c.id, 'value {k} ' || c.id, 0.8, CASE WHEN (c.id + {k}) % 3 = 0 THEN 1 ELSE 0 END, 1, '{bbox}', NULL, 0 FROM charts c WHERE c.batch = 'load'"
        ));
    }
    for a in 0..audit_per_chart {
        statements.push(format!(
            "INSERT INTO audit_log (at, actor, action, chart_id, detail) SELECT {now} + {a}, 'seed', 'view_chart', c.public_id, '' FROM charts c WHERE c.batch = 'load'"
        ));
    }
    let mut tx = pool.begin().await?;
    for sql in &statements {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    sqlx::query(if postgres { "VACUUM ANALYZE" } else { "ANALYZE" }).execute(&pool).await?;
    if !postgres {
        // The seeding's write-ahead log (as large as the database) is folded in, as SQLite's
        // own checkpoints keep it small in use: reads would otherwise look pages up in it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await?;
    }
    pool.close().await;
    Ok(Some(started.elapsed().as_secs_f64()))
}
