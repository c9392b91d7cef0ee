//! Query plans at size on SQLite (see `plans/mod.rs`).

mod plans;

use sqlx::Row;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_paths_read_no_large_table_whole_on_sqlite() {
    plans::capture();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/plans.db", dir.path().display());
    let s = store::Store::open(&url).await.unwrap();
    let secs = plans::seed(&url).await;
    println!("seeded {} charts in {secs:.1} s", plans::CHARTS);
    plans::forget();
    plans::exercise(&s).await;
    let mut statements: Vec<String> = plans::collected().into_iter().filter(|(t, _)| t == "sqlx::query").map(|(_, sql)| sql).collect();
    statements.sort();
    statements.dedup();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (mut checked, mut faults) = (0, Vec::new());
    for sql in statements.iter().filter(|s| plans::mentions_large(s)) {
        let head = sql.trim_start().to_uppercase();
        if !["SELECT", "UPDATE", "DELETE", "INSERT", "WITH"].iter().any(|k| head.starts_with(k)) {
            continue;
        }
        // Parameters stay unbound (NULL): SQLite's plan does not depend on them.
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}")).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{e}: {}", plans::short(sql)));
        let details: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
        checked += 1;
        if std::env::var_os("PLANS_DEBUG").is_some() {
            println!("{}\n    {}", plans::short(sql), details.join(" / "));
        }
        for f in plans::sqlite_faults(sql, &details) {
            faults.push(format!("{f}\n    in: {}", plans::short(sql)));
        }
    }
    plans::assert_clean(checked, 25, faults, "is sqlx's statement log collected?");
}
