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
    let series = |n: i64| series(postgres, n);
    let now = crate::now_ms();
    let hex = hex64(postgres);
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
    run(&pool, postgres, &statements).await?;
    Ok(Some(started.elapsed().as_secs_f64()))
}

/// Fills an empty, migrated database at `url` with a digitisation programme's history for the
/// dashboard (its benchmark, its browser test and the README's screenshot): `facilities`
/// facilities in the registry with targets and Khmer names, boxes of 100 charts in the
/// inventory (one in seven holding 96 by the inventory, one in eleven 104: counts that come out
/// too many and too few), and `charts` charts scanned over the last `days`
/// days at a rising pace by five operators into those boxes, each decided by one of six
/// reviewers 1 to 25 days later (one in twenty rejected) or still waiting; a tenth with five fields each,
/// a twentieth with a correction, and claims and approvals in the audit log. Everything goes
/// in by SQL through the running totals' triggers, as real work would. Synthetic names only.
pub async fn seed_programme(url: &str, charts: i64, facilities: i64, days: i64) -> Result<f64> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await?;
    let started = Instant::now();
    let postgres = url.starts_with("postgres");
    let series = |n: i64| series(postgres, n);
    let now = crate::now_ms();
    let span = days * 86_400_000;
    let start = now - span;
    let pad = |e: &str, w: usize| if postgres { format!("lpad(CAST({e} AS TEXT), {w}, '0')") } else { format!("printf('%0{w}d', {e})") };
    let hex = hex64(postgres);
    let pid = if postgres { "'p' || lpad(to_hex(f.id), 16, '0')" } else { "printf('p%016x', f.id)" };
    let n = charts.max(1);
    let per_facility = (n / facilities.max(1)).max(1);
    let provinces = crate::synthetic_provinces();
    let mut statements = Vec::new();
    for k in 0..facilities {
        let code = format!("F{:02}", k + 1);
        let province = provinces[k as usize % provinces.len()];
        let target = per_facility * 3 / 2;
        let km_digits: String = format!("{:02}", k + 1).chars().map(|c| char::from_u32(0x17E0 + c.to_digit(10).unwrap_or(0)).unwrap_or(c)).collect();
        statements.push(format!(
            "INSERT INTO facilities (code, name, name_km, province, target_charts, start_date, updated_at) VALUES ('{code}', 'Facility {:02} Referral Hospital', 'មន្ទីរពេទ្យ {km_digits}', '{province}', {target}, '{}', {now})",
            k + 1,
            time::OffsetDateTime::from_unix_timestamp(start / 1000).map(|t| t.date().to_string()).unwrap_or_default()
        ));
    }
    // Facility of chart i: i % facilities; its box: the i-th chart of its facility / 100.
    let facility = format!("'F' || {}", pad(&format!("(i % {facilities}) + 1"), 2));
    let box_label = format!("'B-' || {}", pad(&format!("(i / {facilities}) / 100 + 1"), 4));
    let boxes = per_facility / 100 + 2;
    statements.push(format!(
        "INSERT INTO boxes (facility, label, expected_charts, years, shelf, imported_at) SELECT 'F' || {}, 'B-' || {}, CASE WHEN i % 7 = 0 THEN 96 WHEN i % 11 = 0 THEN 104 ELSE 100 END, '2019-2021', 'R' || CAST(i % 9 AS TEXT), {now} FROM ({}) s",
        pad(&format!("((i - 1) % {facilities}) + 1"), 2),
        pad(&format!("(i - 1) / {facilities} + 1"), 4),
        series(boxes * facilities)
    ));
    // Scanned at a rising pace: the time of chart i grows as (i/n)(1.5 - i/2n).
    let at = format!("CAST({start} + {span} * (1.0 * i / {n}) * (1.5 - 0.5 * i / {n}) AS BIGINT)");
    let operator = "CASE i % 5 WHEN 0 THEN 'dara' WHEN 1 THEN 'srey' WHEN 2 THEN 'vanna' WHEN 3 THEN 'kosal' ELSE 'malis' END";
    statements.push(format!(
        "INSERT INTO files (sha256, original_name, source_path, media_type, size_bytes, page_count, facility, batch, ingested_at, box_label, operator) \
         SELECT {hex}, 'scan.jpg', '/scans/scan.jpg', 'image/jpeg', 500000, 1, {facility}, 'day-' || CAST({at} / 86400000 AS TEXT) || '-' || {operator}, {at}, {box_label}, {operator} FROM ({}) s",
        series(n)
    ));
    // Each chart is decided 1 to 25 days after it was scanned (one in twenty rejected): those
    // whose day has come are approved or rejected, those due within 3 days are in review, the
    // rest wait.
    let reviewer = "CASE f.id % 6 WHEN 0 THEN 'sophea' WHEN 1 THEN 'rithy' WHEN 2 THEN 'chenda' WHEN 3 THEN 'bopha' WHEN 4 THEN 'visal' ELSE 'nary' END";
    let due = "(f.ingested_at + ((f.id * 7) % 25 + 1) * 86400000 + (f.id % 24) * 3600000)";
    let status = format!("CASE WHEN {due} < {now} THEN CASE WHEN (f.id / 7) % 20 = 0 THEN 'rejected' ELSE 'approved' END WHEN {due} < {now} + 259200000 THEN 'in_review' ELSE 'extracted' END");
    statements.push(format!(
        "INSERT INTO charts (public_id, file_id, facility, batch, form, status, confidence, version, reviewer, reviewed_at, reject_reason, created_at, updated_at) \
         SELECT {pid}, f.id, f.facility, f.batch, 'opd', {status}, 0.9, 2, CASE WHEN {due} < {now} + 259200000 THEN {reviewer} END, CASE WHEN {due} < {now} THEN {due} END, \
         CASE WHEN (f.id / 7) % 20 = 0 AND {due} < {now} THEN CASE f.id % 3 WHEN 0 THEN 'illegible scan' WHEN 1 THEN 'not a patient chart' ELSE 'pages missing' END END, \
         f.ingested_at, CASE WHEN {due} < {now} THEN {due} ELSE f.ingested_at END FROM files f"
    ));
    statements.push(
        "INSERT INTO pages (chart_id, file_id, page_no, file_page, status, image_sha256, width, height, skew, processed_at) \
         SELECT c.id, c.file_id, 1, 0, 'done', 'ab', 1748, 2480, 0.0, c.created_at FROM charts c"
            .to_string(),
    );
    for (k, name) in ["patient_id", "name_latin", "sex", "phone", "diagnosis"].iter().enumerate() {
        statements.push(format!(
            "INSERT INTO fields (chart_id, name, value, raw, confidence, needs_review, page, corrected) \
             SELECT c.id, '{name}', 'v', 'v', 0.9, CASE WHEN (c.id + {k}) % 3 = 0 THEN 1 ELSE 0 END, 1, 0 FROM charts c WHERE c.id % 10 = 0"
        ));
    }
    statements.push(
        "INSERT INTO audit_log (at, actor, action, chart_id, detail) SELECT COALESCE(c.reviewed_at, c.created_at + 3600000), c.reviewer, 'edit_field', c.public_id, '{\"field\":\"phone\"}' \
         FROM charts c WHERE c.reviewer IS NOT NULL AND c.id % 20 = 3"
            .to_string(),
    );
    statements.push(
        "INSERT INTO audit_log (at, actor, action, chart_id, detail) SELECT c.reviewed_at - 60000 - (c.id % 7) * 20000, c.reviewer, 'claim', c.public_id, '' \
         FROM charts c WHERE c.reviewer IS NOT NULL AND c.status IN ('approved', 'rejected') AND c.id % 7 = 1"
            .to_string(),
    );
    statements.push(
        "INSERT INTO audit_log (at, actor, action, chart_id, detail) SELECT c.reviewed_at, c.reviewer, CASE c.status WHEN 'approved' THEN 'approve' ELSE 'reject' END, c.public_id, '' \
         FROM charts c WHERE c.reviewer IS NOT NULL AND c.status IN ('approved', 'rejected') AND c.id % 7 = 1"
            .to_string(),
    );
    run(&pool, postgres, &statements).await?;
    Ok(started.elapsed().as_secs_f64())
}

/// The numbers 1..=n as rows `i`, in either database's SQL.
fn series(postgres: bool, n: i64) -> String {
    if postgres {
        format!("SELECT g AS i FROM generate_series(1, {n}) g")
    } else {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT i FROM n")
    }
}

/// `i` as 64 hexadecimal digits (a file hash), in either database's SQL.
fn hex64(postgres: bool) -> &'static str {
    if postgres {
        "lpad(to_hex(i), 64, '0')"
    } else {
        "printf('%064x', i)"
    }
}

/// Runs the seeding statements in one transaction, brings the planner's statistics up to
/// date, and closes the pool.
async fn run(pool: &sqlx::AnyPool, postgres: bool, statements: &[String]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for sql in statements {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    sqlx::query(if postgres { "VACUUM ANALYZE" } else { "ANALYZE" }).execute(pool).await?;
    if !postgres {
        // The seeding's write-ahead log (as large as the database) is folded in, as SQLite's
        // own checkpoints keep it small in use: reads would otherwise look pages up in it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
    }
    pool.close().await;
    Ok(())
}
