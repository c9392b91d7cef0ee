//! Query plans at size on PostgreSQL (see `plans/mod.rs`): the real server `./dev test`
//! starts on loopback (`CHARTSCAN_TEST_PG_URL`); without it this test fails loudly.

mod plans;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_paths_read_no_large_table_whole_on_postgres() {
    plans::capture();
    let admin = std::env::var("CHARTSCAN_TEST_PG_URL")
        .expect("CHARTSCAN_TEST_PG_URL is not set: the plan test needs a real PostgreSQL server. Run ./dev test, which starts one on loopback");
    sqlx::any::install_default_drivers();
    let name = format!("chartscan_plans_{}", std::process::id());
    let pool = sqlx::AnyPool::connect(&admin).await.expect("connect to the test PostgreSQL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&pool).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let s = store::Store::open(&url).await.unwrap();
    let secs = plans::seed(&url).await;
    println!("seeded {} charts in {secs:.1} s", plans::CHARTS);
    // Every session opened from now on reports each statement's plan as a notice.
    for setting in [
        "session_preload_libraries = 'auto_explain'",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_level = 'notice'",
        "auto_explain.log_format = 'json'",
        "auto_explain.log_analyze = on",
        "auto_explain.log_timing = off",
        // The statements of the running totals' triggers too.
        "auto_explain.log_nested_statements = on",
    ] {
        sqlx::query(&format!("ALTER DATABASE {name} SET {setting}")).execute(&pool).await.unwrap();
    }
    // The store's connections were opened before: a fresh store picks the settings up.
    s.close().await;
    let s = store::Store::open(&url).await.unwrap();
    plans::forget();
    plans::exercise(&s).await;
    s.close().await;
    let (mut checked, mut faults) = (0, Vec::new());
    for (_, notice) in plans::collected().into_iter().filter(|(t, _)| t == "sqlx::postgres::notice") {
        let Some(at) = notice.find('{') else { continue };
        let plan: serde_json::Value = serde_json::from_str(&notice[at..]).unwrap_or_else(|e| panic!("{e}: {notice}"));
        let sql = plan["Query Text"].as_str().unwrap_or("").to_string();
        if !plans::mentions_large(&sql) {
            continue;
        }
        checked += 1;
        for f in plans::postgres_faults(&plan) {
            faults.push(format!("{f}\n    in: {}", plans::short(&sql)));
        }
    }
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await.unwrap();
    plans::assert_clean(checked, 25, faults, "is auto_explain loaded (Debian's postgresql-15 has it)?");
}
