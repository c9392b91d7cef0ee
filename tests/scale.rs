//! Whole-pipeline checks with the real binary: a scan fed in sideways or upside down is
//! read upright and its fields extracted; two worker processes sharing one real PostgreSQL
//! store process every page exactly once.

mod common;

use common::{root, Killed, Workspace};
use serde_json::Value;
use std::process::Stdio;

fn truth(file: &str) -> Value {
    store::evaluate::truth_files(&root().join("samples/truth")).unwrap().remove(file).unwrap_or_else(|| panic!("no truth for {file}"))
}

#[test]
fn turned_scans_are_read_upright() {
    let ws = Workspace::new();
    let dir = ws.path().join("turned");
    std::fs::create_dir(&dir).unwrap();
    let page = image::open(root().join("samples/charts/SR01/ipd-0002.png")).unwrap();
    page.rotate90().save(dir.join("sideways.png")).unwrap();
    page.rotate180().save(dir.join("upside-down.png")).unwrap();
    let (code, report) = ws.json(&["ingest", dir.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{report}");
    let expected = truth("ipd-0002.png");
    let out = ws.run(&["export", "--format", "jsonl", "--status", "any"]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let chart: Value = serde_json::from_str(line).unwrap();
        let file = chart["sources"][0]["file"].as_str().unwrap().to_string();
        for field in ["patient_id", "name_latin", "admission_date"] {
            assert_eq!(chart["fields"][field]["value"], expected["fields"][field], "{file} {field}");
        }
    }
}

#[test]
fn two_workers_share_one_postgresql_store() {
    let admin = std::env::var("CHARTSCAN_TEST_PG_URL").expect("CHARTSCAN_TEST_PG_URL is not set: ./dev test starts PostgreSQL on loopback");
    let name = format!("chartscan_workers_{}", std::process::id());
    let created = std::process::Command::new("psql")
        .args([admin.as_str(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {name}"), "-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let db = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let ws = Workspace::new();
    let with_pg = |args: &[&str]| {
        let mut c = ws.cmd();
        c.env("CHARTSCAN_DB", &db).args(args);
        c
    };
    let batch = ws.samples(&[
        "SR01/ipd-0002.png",
        "SR01/opd-0008.tif",
        "SR01/anc-0005.pdf",
        "BB01/ipd-0009.pdf",
        "BB01/opd-0006.png",
        "BB01/opd-0015.tif",
        "PP01/opd-0001.jpg",
        "PP01/anc-0007.jpg",
    ]);
    let out = with_pg(&["ingest", batch.to_str().unwrap(), "--no-process", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pages = report["pages"].as_u64().unwrap();
    assert_eq!(pages, 10, "six one-page scans and two two-page PDFs");
    let workers: Vec<Killed> =
        (0..2).map(|_| Killed(with_pg(&["worker", "--once", "--jobs", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap())).collect();
    for mut w in workers {
        assert!(w.0.wait().unwrap().success());
    }
    let stats: Value = serde_json::from_slice(&with_pg(&["stats", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!((stats["pages"]["done"].as_u64(), stats["pages"]["failed"].as_u64()), (Some(pages), Some(0)), "{stats}");
    assert_eq!(stats["charts"]["extracted"], report["charts"], "{stats}");
    // Each chart was extracted exactly once, whichever worker finished its last page.
    let extracts = std::process::Command::new("psql").args([db.as_str(), "-tAc", "SELECT COUNT(*) FROM audit_log WHERE action = 'extract'"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&extracts.stdout).trim(), report["charts"].to_string());
}
