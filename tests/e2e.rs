//! End-to-end: the real binary, real Tesseract, a fresh SQLite store, the bundled samples.
//!
//! One scenario, in the order a programme lives it: a clerk ingests the three facilities'
//! boxes, the same boxes again (nothing new), a reviewer logs in to the real server, corrects
//! a field and approves, a manager exports.

mod common;

use common::{root, Workspace};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// Field accuracy (the 1,194 fields of the 60 charts, handwritten ones included) below this
/// fails the test. Measured 90.3%; the floor leaves room for Tesseract version drift, not
/// for regressions in extraction (`chart/tests/recorded_samples.rs` holds those, chart by
/// chart).
const ACCURACY_FLOOR: f64 = 0.87;
/// Table cells (visits, lab results). Measured 94.6%.
const CELLS_FLOOR: f64 = 0.90;
/// Auto-accepted fields (nobody looks at them) must be right at least this often.
/// Measured 99.8%.
const AUTO_ACCEPT_PRECISION_FLOOR: f64 = 0.99;

fn truth() -> BTreeMap<String, Value> {
    store::evaluate::truth_files(&root().join("samples/truth")).unwrap()
}

fn facilities() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("samples/charts")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    v.sort();
    v
}

fn export(ws: &Workspace, format: &str, status: &str) -> String {
    let out = ws.run(&["export", "--format", format, "--status", status]);
    assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn samples_ingest_review_and_export() {
    let ws = Workspace::new();
    let truth = truth();

    // 1. Ingest each facility's folder through the real binary with real Tesseract.
    let mut charts = 0;
    for facility in facilities() {
        let dir = root().join("samples/charts").join(&facility);
        let (code, report) = ws.json(&["ingest", dir.to_str().unwrap(), "--facility", &facility, "--jobs", "2", "--json"]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["rejected"], serde_json::json!([]));
        assert_eq!(report["accepted"], report["files"]);
        assert_eq!(report["processed_pages"], report["pages"]);
        assert_eq!(report["failed_pages"], 0);
        charts += report["charts"].as_u64().unwrap();
    }
    assert_eq!(charts as usize, truth.len());

    // 2. Every chart's fields against the ground truth, scored as `chartscan evaluate` does.
    let exported: Vec<Value> = export(&ws, "jsonl", "any").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(exported.len(), truth.len());
    let mut report = chart::eval::Report::default();
    for chart in &exported {
        let file = chart["sources"][0]["file"].as_str().unwrap();
        let t = &truth[file];
        assert_eq!(chart["form"], t["form"], "{file}");
        assert_eq!(chart["facility"], t["facility"], "{file}");
        assert_eq!(chart["sources"].as_array().unwrap().len() as u64, t["pages"].as_u64().unwrap(), "{file}");
        let fields = serde_json::from_value(chart["fields"].clone()).unwrap();
        report.add(
            &chart::eval::Truth::from_json(t).unwrap(),
            &chart::Extraction { form: chart["form"].as_str().filter(|f| *f != chart::UNKNOWN_FORM).map(String::from), variant: None, fields },
        );
    }
    println!("{}", report.render());
    let fields = report.figures(|o| o.group != chart::eval::Group::Cell);
    let cells = report.figures(|o| o.group == chart::eval::Group::Cell);
    assert!(fields.accuracy() >= ACCURACY_FLOOR, "field accuracy {:.3} is below the floor {ACCURACY_FLOOR}", fields.accuracy());
    assert!(cells.accuracy() >= CELLS_FLOOR, "table cells {:.3} are below the floor {CELLS_FLOOR}", cells.accuracy());
    assert!(fields.precision() >= AUTO_ACCEPT_PRECISION_FLOOR, "auto-accept precision {:.3} is below {AUTO_ACCEPT_PRECISION_FLOOR}", fields.precision());

    // One spreadsheet per form: its charts, its fields as columns.
    let out = ws.run(&["export", "--format", "csv", "--status", "any", "--form", "ipd"]);
    let ipd = String::from_utf8(out.stdout).unwrap();
    let header = ipd.lines().next().unwrap();
    assert!(header.contains(",ward,bed,admission_date,discharge_date,length_of_stay_days,admission_diagnosis,admission_diagnosis_icd10,discharge_diagnosis,discharge_diagnosis_icd10,treatment,outcome,referred_to,doctor"), "{header}");
    assert!(!header.contains("lmp_date"));
    assert_eq!(ipd.lines().count() - 1, truth.values().filter(|t| t["form"] == "ipd").count());

    // 3. Re-ingesting the same folders adds nothing.
    let before: Value = ws.json(&["stats", "--json"]).1;
    let (code, again) = ws.json(&["ingest", root().join("samples/charts").to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64(), again["pages"].as_u64()), (Some(0), Some(truth.len() as u64), Some(0)));
    assert_eq!(ws.json(&["stats", "--json"]).1, before, "a second ingest must change nothing");

    // 4. A reviewer corrects a field and approves, through the real server.
    ws.add_user("sokha", "reviewer", "tamarind-kettle-oxbow-7");
    let server = ws.serve();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let anonymous = agent.get(&format!("{}/api/queue", server.1)).call();
    assert!(matches!(anonymous, Err(ureq::Error::Status(401, _))), "anonymous API access must be refused");
    let login = agent.post(&format!("{}/login", server.1)).send_form(&[("username", "sokha"), ("password", "tamarind-kettle-oxbow-7")]).unwrap();
    assert_eq!(login.status(), 303);
    let session: Value = agent.get(&format!("{}/api/session", server.1)).call().unwrap().into_json().unwrap();
    let csrf = session["csrf"].as_str().unwrap().to_string();
    let queue: Vec<Value> = agent.get(&format!("{}/api/queue", server.1)).call().unwrap().into_json().unwrap();
    assert_eq!(queue.len(), truth.len());
    let confidences: Vec<f64> = queue.iter().map(|q| q["confidence"].as_f64().unwrap()).collect();
    assert!(confidences.windows(2).all(|w| w[0] <= w[1]), "queue is least confident first: {confidences:?}");
    let id = queue[0]["chart"].as_str().unwrap();
    let chart: Value = agent.get(&format!("{}/api/charts/{id}", server.1)).call().unwrap().into_json().unwrap();
    let version = chart["version"].as_i64().unwrap();
    let edited: Value = agent
        .put(&format!("{}/api/charts/{id}/fields/phone", server.1))
        .set("X-CSRF-Token", &csrf)
        .send_json(serde_json::json!({"value": "+855 12 999 888", "version": version}))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(edited["fields"]["phone"]["value"], "012999888");
    let approved: Value = agent
        .post(&format!("{}/api/charts/{id}/approve", server.1))
        .set("X-CSRF-Token", &csrf)
        .send_json(serde_json::json!({"version": version + 1}))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(approved["status"], "approved");
    drop(server);

    // 5. The export holds the approved chart with the corrected value; CSV too.
    let lines: Vec<Value> = export(&ws, "jsonl", "approved").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["chart"], id);
    assert_eq!(lines[0]["fields"]["phone"]["value"], "012999888");
    assert_eq!(lines[0]["fields"]["phone"]["corrected"], true);
    let csv = export(&ws, "csv", "approved");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("chart,facility,batch,status,form,file,sha256,pages,hospital,patient_id"));
    assert!(csv.contains("012999888"));
    let stats = ws.json(&["stats", "--json"]).1;
    assert_eq!(stats["charts"]["approved"], 1);

    // 6. Every other chart approved as read (a reviewer choosing "new patient" where matching
    //    asks), then the whole set as FHIR R4, validated by fhir.resources.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let asked = rt.block_on(async {
        let store = store::Store::open(&format!("sqlite://{}/db/chartscan.db", ws.path().display())).await.unwrap();
        let mut asked = 0;
        for c in store.charts(None).await.unwrap().into_iter().filter(|c| c.status != chart::ChartStatus::Approved) {
            match store.approve(&c.chart, c.version, "sokha").await {
                Ok(_) => {}
                Err(store::StoreError::NeedsPatientChoice { .. }) => {
                    asked += 1;
                    store.approve_with(&c.chart, c.version, "sokha", &[], &store::PatientChoice::New).await.unwrap();
                }
                Err(e) => panic!("approving {}: {e}", c.chart),
            }
        }
        asked
    });
    let bundle = ws.path().join("samples.fhir.json");
    let out = ws.run(&["export", "--format", "fhir", "--out", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = common::validate(&bundle);
    // Kept for people to read, as the browser tests keep their screenshots.
    let keep = root().join("target/fhir");
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::copy(&bundle, keep.join("samples.fhir.json")).unwrap();
    println!("FHIR bundle of the {} sample charts ({asked} patient choices asked): {counts}", truth.len());
    let n = truth.len() as i64;
    for t in ["Encounter", "DocumentReference", "Provenance"] {
        assert_eq!(counts[t].as_i64(), Some(n), "{t}: {counts}");
    }
    assert!(counts["Patient"].as_i64().unwrap() <= n && counts["Patient"].as_i64().unwrap() >= n / 2, "{counts}");
    let with_codes = truth.values().filter(|t| t["fields"]["diagnosis_icd10"].is_string() || t["form"] == "ipd").count() as i64;
    assert!(counts["Condition"].as_i64().unwrap() >= with_codes, "{counts}: {with_codes} charts carry a diagnosis");
    assert!(counts["Observation"].as_i64().unwrap() >= 5 * truth.values().filter(|t| t["form"] == "anc").count() as i64, "{counts}");
}

#[test]
fn corrupt_and_unsupported_files_are_rejected_and_the_batch_completes() {
    let ws = Workspace::new();
    let batch = ws.path().join("box");
    std::fs::create_dir(&batch).unwrap();
    std::fs::copy(root().join("samples/charts/SR01/ipd-0002.png"), batch.join("good.png")).unwrap();
    let jpeg = std::fs::read(root().join("samples/charts/PP01/opd-0001.jpg")).unwrap();
    let mut broken = jpeg[..600].to_vec();
    broken.extend(std::iter::repeat_n(0xAB, 400));
    std::fs::write(batch.join("broken.jpg"), &broken).unwrap();
    std::fs::write(batch.join("notes.docx"), b"PK\x03\x04 this is a word document").unwrap();
    let report_csv = ws.path().join("rejected.csv");
    let report_json = ws.path().join("rejected.json");
    let (code, report) = ws.json(&[
        "ingest",
        batch.to_str().unwrap(),
        "--facility",
        "KP01",
        "--box",
        "KP-2019-box-4",
        "--operator",
        "srey",
        "--report",
        report_csv.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 3, "some files rejected: exit code 3 ({report})");
    let csv = std::fs::read_to_string(&report_csv).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("path,reason\n") && csv.contains("broken.jpg") && csv.contains("notes.docx"), "{csv}");
    assert_eq!((report["files"].as_u64(), report["accepted"].as_u64(), report["processed_pages"].as_u64()), (Some(3), Some(1), Some(1)));
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    let reason_of =
        |name: &str| rejected.iter().find(|r| r["path"].as_str().unwrap().ends_with(name)).map(|r| r["reason"].as_str().unwrap().to_string()).unwrap();
    assert!(reason_of("broken.jpg").starts_with("corrupt or truncated JPEG"), "{}", reason_of("broken.jpg"));
    assert!(reason_of("notes.docx").starts_with("unsupported file type"), "{}", reason_of("notes.docx"));
    // The human-readable summary names them too, and a JSON report carries the batch.
    let out =
        ws.run(&["ingest", batch.to_str().unwrap(), "--no-process", "--batch", "kp-4", "--box", "KP-2019-box-4", "--report", report_json.to_str().unwrap()]);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report_json).unwrap()).unwrap();
    assert_eq!((json["batch"].as_str(), json["box"].as_str(), json["duplicates"].as_u64()), (Some("kp-4"), Some("KP-2019-box-4"), Some(1)));
    assert_eq!(json["rejected"].as_array().unwrap().len(), 2);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 duplicate(s), 2 rejected") && text.contains("broken.jpg: corrupt"), "{text}");
}

#[test]
fn malformed_corpus_is_rejected_cleanly() {
    let corpus = common::corpus().join("malformed");
    assert!(corpus.is_dir(), "THE MALFORMED CORPUS IS MISSING at {}", corpus.display());
    let ws = Workspace::new();
    let started = std::time::Instant::now();
    let mut cmd = ws.cmd();
    cmd.args(["ingest", corpus.to_str().unwrap(), "--no-process", "--json"]);
    // A hard bound: the process may not map more than 2 GiB (threads and libraries
    // included); past it an allocation fails and the test sees a crash, not a pass.
    const ADDRESS_SPACE: u64 = 2 << 30;
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: ADDRESS_SPACE, rlim_max: ADDRESS_SPACE };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let code =
        out.status.code().unwrap_or_else(|| panic!("killed by a signal (memory bound hit?): {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr)));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(code == 0 || code == 3, "exit code {code}: the batch must complete");
    let files = report["files"].as_u64().unwrap();
    let rejected = report["rejected"].as_array().unwrap();
    assert!(files >= 100, "the corpus has hundreds of files, saw {files}");
    assert_eq!(report["accepted"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap() + rejected.len() as u64, files, "every file is accounted for");
    assert!(rejected.iter().all(|r| !r["reason"].as_str().unwrap().is_empty() && !r["path"].as_str().unwrap().is_empty()));
    let rss = report["peak_rss_mib"].as_f64().unwrap();
    println!(
        "malformed corpus: {files} files, {} accepted, {} duplicates, {} rejected, {seconds:.1} s, peak RSS {rss:.0} MiB",
        report["accepted"],
        report["duplicates"],
        rejected.len()
    );
    assert!(seconds < 120.0, "the corpus took {seconds:.0} s");
    assert!(rss < 1024.0, "peak RSS {rss:.0} MiB");
}

/// Four charts in four formats, one of them two pages long.
const KILL_BATCH: [&str; 4] = ["SR01/ipd-0002.png", "SR01/opd-0008.tif", "SR01/anc-0005.pdf", "BB01/ipd-0009.pdf"];

#[test]
fn killing_ingest_loses_nothing_and_rerunning_duplicates_nothing() {
    let files = KILL_BATCH.len() as u64;
    // Kill points from start-up through importing to OCR; after each, the same command again.
    let points = [30u64, 60, 90, 150, 300, 800, 1500, 2500];
    let (mut runs, mut lost, mut duplicated) = (0, 0, 0);
    for kill_after_ms in points {
        let ws = Workspace::new();
        let dir = ws.samples(&KILL_BATCH);
        let mut child = ws
            .cmd()
            .args(["ingest", dir.to_str().unwrap(), "--facility", "SR01", "--jobs", "1", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(kill_after_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (code, report) = ws.json(&["ingest", dir.to_str().unwrap(), "--facility", "SR01", "--jobs", "1", "--json"]);
        assert_eq!(code, 0, "re-run after a kill at {kill_after_ms} ms: {report}");
        assert_eq!(report["accepted"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(), files);
        let stats = ws.json(&["stats", "--json"]).1;
        runs += 1;
        let total = stats["charts"]["total"].as_u64().unwrap();
        lost += files.saturating_sub(total);
        duplicated += total.saturating_sub(files);
        assert_eq!(stats["charts"]["total"], files, "kill at {kill_after_ms} ms: every file is one chart, none lost, none twice");
        assert_eq!(stats["pages"]["done"], stats["pages"]["total"], "kill at {kill_after_ms} ms: every page processed after the re-run: {stats}");
        assert_eq!(stats["charts"]["extracted"], files);
        println!(
            "killed at {kill_after_ms} ms: re-run accepted {}, found {} duplicate(s); {} charts, {} pages done",
            report["accepted"], report["duplicates"], stats["charts"]["total"], stats["pages"]["done"]
        );
    }
    println!("kill test: {runs} runs, {lost} charts lost, {duplicated} duplicated");
}

/// A database password given in the environment shows neither in `--help` nor in an error.
#[test]
fn the_database_password_is_never_printed() {
    let ws = Workspace::new();
    let help = ws.cmd().env("CHARTSCAN_DB", "postgres://chartscan:hunter2@db.local/charts").arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success() && text.contains("CHARTSCAN_DB") && !text.contains("hunter2"), "{text}");
    let failed = ws.cmd().env("CHARTSCAN_DB", "mysql://chartscan:hunter2@db.local/charts").arg("stats").output().unwrap();
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(err.contains("chartscan:***@db.local") && !err.contains("hunter2"), "{err}");
}

/// `user add` refuses a name taken; `user passwd` and `user role` change a user and end their
/// sessions; the audit names the operating-system user; `demo` refuses a store with real users.
#[test]
fn users_are_changed_on_purpose_and_the_demo_keeps_off_real_stores() {
    let ws = Workspace::new();
    ws.add_user("sokha", "reviewer", "tamarind-kettle-oxbow-7");
    let add = |password: &str, args: &[&str]| {
        let mut c = ws.cmd().args(args).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        c.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, err) = add("copper-monsoon-bamboo-9", &["user", "add", "sokha", "--role", "admin"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("exists already") && err.contains("user passwd"), "{err}");
    let (code, err) = add("password12345", &["user", "add", "vanna", "--role", "reviewer"]);
    assert!(code == Some(1) && err.contains("too easy to guess"), "a common password is refused: {err}");
    let (code, err) = add("copper-monsoon-bamboo-9", &["user", "passwd", "sokha"]);
    assert_eq!(code, Some(0), "{err}");
    let out = ws.run(&["user", "role", "sokha", "manager"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Facilities: one user for Siem Reap only, then for every facility.
    let (code, err) = add("copper-monsoon-bamboo-9", &["user", "add", "vanna", "--role", "reviewer", "--facility", "SR01"]);
    assert!(code == Some(0) && err.contains("SR01"), "{err}");
    let out = ws.run(&["user", "facilities", "vanna", "--all"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stderr).contains("all facilities"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let audit = runtime.block_on(async {
        let store = store::Store::open(&format!("sqlite://{}/db/chartscan.db", ws.path().display())).await.unwrap();
        assert_eq!(store.verify_login("sokha", "copper-monsoon-bamboo-9").await.unwrap().map(|u| u.role), Some(chart::Role::Manager));
        store.audit_entries(None).await.unwrap()
    });
    let changes: Vec<&(i64, String, String, Option<String>, String)> = audit.iter().filter(|e| e.2.starts_with("user_")).collect();
    assert_eq!(changes.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), ["user_add", "user_password", "user_role", "user_add", "user_facilities"]);
    assert!(changes.iter().all(|e| e.1.starts_with("cli:") && e.1 != "cli:unknown"), "the OS user is named: {changes:?}");
    // The audit log's chain holds (tampering is tested on both backends in the store's suite).
    let (code, check) = ws.json(&["audit", "verify", "--json"]);
    assert_eq!((code, check["broken"].clone()), (0, Value::Null), "{check}");
    assert_eq!(check["chained"].as_u64(), Some(audit.len() as u64), "{check}");

    // The database and its folder are their owner's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&ws.path().join("db")), mode(&ws.path().join("db/chartscan.db"))), (0o700, 0o600));

    let out = ws.run(&["demo", "--bind", "127.0.0.1:0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("other than the demo's (sokha, vanna)"), "{err}");
}

/// A manager's commands: the facility registry from a CSV (every bad row reported, nothing
/// taken from a bad file), the archive's boxes, charts scanned into a box with `ingest --box`,
/// the reconciliation, and the monthly report.
#[test]
fn a_manager_registers_facilities_and_boxes_and_reconciles_what_was_scanned() {
    let ws = Workspace::new();
    let write = |name: &str, text: &str| {
        let p = ws.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let bad = write("bad.csv", "code,name,province,target\nPP01,Example Hospital,Atlantis,100\nSR 1,Other,,x\n");
    let out = ws.run(&["facility", "import", &bad]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.csv:line 2") && err.contains("Atlantis") && err.contains("bad.csv:line 3") && err.contains("nothing was imported"), "{err}");
    let good = write(
        "facilities.csv",
        "code,name,name_km,province,target,start_date\nPP01,Example Hospital,មន្ទីរពេទ្យឧទាហរណ៍,ភ្នំពេញ,100,2026-01-05\nSR01,Other Clinic,,siem reap,20,\n",
    );
    assert!(ws.run(&["facility", "import", &good]).status.success());
    assert!(ws.run(&["facility", "add", "BB01", "--name", "Third Clinic", "--province", "Battambang", "--target", "5"]).status.success());
    let (code, list) = ws.json(&["facility", "list", "--json"]);
    assert_eq!(code, 0);
    let provinces: Vec<&str> = list.as_array().unwrap().iter().map(|f| f["province"].as_str().unwrap()).collect();
    assert_eq!(provinces, ["Battambang", "Phnom Penh", "Siem Reap"], "by code, each province the gazetteer's");
    let boxes = write("boxes.csv", "facility,box,expected,years,shelf\nPP01,PP-B1,1,2019,R1\nPP01,PP-B2,30,2020,R1\n");
    assert!(ws.run(&["boxes", "import", &boxes]).status.success());
    let dir = ws.samples(&["PP01/opd-0001.jpg", "PP01/anc-0007.jpg", "PP01/opd-0010.jpg"]);
    let ingest = ws.run(&["ingest", dir.to_str().unwrap(), "--facility", "PP01", "--box", "PP-B1", "--operator", "srey"]);
    assert!(ingest.status.success(), "{}", String::from_utf8_lossy(&ingest.stderr));
    assert!(!String::from_utf8_lossy(&ingest.stderr).contains("not in the inventory"));
    let typo = ws.samples(&["PP01/opd-0019.jpg"]);
    let ingest = ws.run(&["ingest", typo.to_str().unwrap(), "--facility", "PP01", "--box", "PP-81", "--no-process"]);
    assert!(ingest.status.success() && String::from_utf8_lossy(&ingest.stderr).contains("box \"PP-81\" of PP01 is not in the inventory"));
    let (code, status) = ws.json(&["boxes", "status", "--facility", "PP01", "--json"]);
    assert_eq!(code, 0);
    let b1 = status.as_array().unwrap().iter().find(|b| b["label"] == "PP-B1").unwrap();
    // Three charts from a box of one: more than its one chart of slack, scanned twice?
    assert_eq!(
        (b1["expected"].as_i64(), b1["scanned"].as_i64(), b1["in_review"].as_i64(), b1["state"].as_str()),
        (Some(1), Some(3), Some(3), Some("too_many"))
    );
    let b2 = status.as_array().unwrap().iter().find(|b| b["label"] == "PP-B2").unwrap();
    assert_eq!(b2["state"], "not_started");
    let table = String::from_utf8_lossy(&ws.run(&["boxes", "status"]).stdout).to_string();
    assert!(table.contains("PP-B1") && table.contains("scanned twice?") && table.contains("not started") && table.contains("PP-81"), "{table}");
    assert_eq!(ws.run(&["boxes", "status", "--tolerance", "2"]).status.code(), Some(1), "a tolerance is a share");
    let stats = String::from_utf8_lossy(&ws.run(&["stats"]).stdout).to_string();
    assert!(stats.contains("PP01 = Example Hospital (មន្ទីរពេទ្យឧទាហរណ៍)"), "stats names the facilities: {stats}");
    // The monthly report: this month's three charts, the names, the plots.
    let out = ws.run(&["report", "--out", "report.html", "--lang", "km"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(ws.path().join("report.html")).unwrap();
    assert!(html.contains("មន្ទីរពេទ្យឧទាហរណ៍") && html.contains("របាយការណ៍ប្រចាំខែ") && html.matches("<svg").count() >= 6 && html.contains("@page{size:A4"));
    let audit = String::from_utf8_lossy(&ws.run(&["audit", "verify"]).stdout).to_string() + &String::from_utf8_lossy(&ws.run(&["audit", "verify"]).stderr);
    assert!(!audit.contains("broken"), "{audit}");
    assert_eq!(ws.run(&["report", "--month", "2026-13"]).status.code(), Some(1));
}

/// `doctor` checks the machine and says what to fix: all well after an ingest; a data
/// directory others can read, a missing Tesseract language and an unreachable database each
/// fail with their fix.
#[test]
fn doctor_says_what_to_fix() {
    let ws = Workspace::new();
    let dir = ws.samples(&["PP01/opd-0001.jpg"]);
    assert!(ws.run(&["ingest", dir.to_str().unwrap(), "--no-process"]).status.success());
    let (code, report) = ws.json(&["doctor", "--json"]);
    assert_eq!(code, 0, "{report}");
    let verdict = |r: &Value, name: &str| {
        r["checks"].as_array().unwrap().iter().filter(|c| c["check"] == name).map(|c| c["verdict"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(verdict(&report, "tesseract languages"), ["ok", "ok", "ok"]);
    assert_eq!(verdict(&report, "database schema"), ["ok"]);
    assert_eq!(verdict(&report, "data directory"), ["ok"]);
    // Others may read the data directory.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(ws.path().join("data"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = ws.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  data directory") && text.contains("fix: chmod 700"), "{text}");
    std::fs::set_permissions(ws.path().join("data"), std::fs::Permissions::from_mode(0o700)).unwrap();
    // No Khmer model where Tesseract looks.
    let empty = tempfile::tempdir().unwrap();
    let out = ws.cmd().arg("doctor").env("TESSDATA_PREFIX", empty.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(1) && text.contains("FAIL  tesseract languages") && text.contains("tesseract-ocr-khm"), "{text}");
    // A database nobody answers at.
    let out = ws.cmd().arg("doctor").env("CHARTSCAN_DB", "postgres://chartscan:secret-pw@127.0.0.1:9/charts").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(1) && text.contains("FAIL  database") && !text.contains("secret-pw"), "{text}");
}

/// Restores `bk` (the newest snapshot, or `snapshot`) into a fresh place; returns its
/// workspace-like environment: (database URL, data directory).
fn restored(ws: &Workspace, bk: &std::path::Path, name: &str, snapshot: Option<&str>) -> (String, std::path::PathBuf) {
    let db = format!("sqlite://{}/{name}/db/chartscan.db", ws.path().display());
    let data = ws.path().join(name).join("data");
    let mut args = vec!["restore".to_string(), bk.display().to_string()];
    if let Some(s) = snapshot {
        args.extend(["--snapshot".to_string(), s.to_string()]);
    }
    let out = ws.cmd().args(&args).env("CHARTSCAN_DB", &db).env("CHARTSCAN_DATA", &data).output().unwrap();
    assert!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));
    (db, data)
}

/// Every original and page image the restored database names is in the restored data
/// directory, and the audit chain is whole.
fn restored_store_is_whole(ws: &Workspace, db: &str, data: &std::path::Path) -> (i64, i64) {
    let verify = ws.cmd().args(["audit", "verify"]).env("CHARTSCAN_DB", db).env("CHARTSCAN_DATA", data).output().unwrap();
    assert!(verify.status.success(), "the restored audit chain: {}", String::from_utf8_lossy(&verify.stdout));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(db).await.unwrap();
        use sqlx::Row;
        let mut blobs = Vec::new();
        for r in sqlx::query("SELECT 'originals', sha256 FROM files UNION ALL SELECT 'pages', image_sha256 FROM pages WHERE image_sha256 IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            let (kind, sha): (String, String) = (r.try_get(0).unwrap(), r.try_get(1).unwrap());
            blobs.push(data.join(&kind).join(&sha[..2]).join(&sha));
        }
        for b in &blobs {
            assert!(b.is_file(), "{} is named by the restored database but missing", b.display());
        }
        let charts: i64 = sqlx::query("SELECT COUNT(*) FROM charts").fetch_one(&pool).await.unwrap().try_get(0).unwrap();
        let approved: i64 = sqlx::query("SELECT COUNT(*) FROM charts WHERE status = 'approved'").fetch_one(&pool).await.unwrap().try_get(0).unwrap();
        pool.close().await;
        (charts, approved)
    })
}

/// Back up while a batch is ingested and a reviewer approves charts; every snapshot restores
/// whole into a fresh place; a quiet backup restores to the same export byte for byte; the
/// data directory is copied once; a damaged backup is reported and not restored; a target
/// that is not empty is refused unless told.
#[test]
fn backups_taken_during_ingest_and_review_restore_whole() {
    let ws = Workspace::new();
    let first = ws.samples(&["PP01/opd-0001.jpg", "PP01/anc-0007.jpg", "SR01/opd-0026.png"]);
    assert!(ws.run(&["ingest", first.to_str().unwrap(), "--facility", "PP01"]).status.success());
    ws.add_user("sokha", "reviewer", "tamarind-kettle-oxbow-7");
    let server = ws.serve();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    agent.post(&format!("{}/login", server.1)).send_form(&[("username", "sokha"), ("password", "tamarind-kettle-oxbow-7")]).unwrap();
    let session: Value = agent.get(&format!("{}/api/session", server.1)).call().unwrap().into_json().unwrap();
    let csrf = session["csrf"].as_str().unwrap().to_string();
    let bk = ws.path().join("backups");
    // A second batch goes in, in a process of its own, while the reviewer approves the first
    // three charts and backups are taken.
    let second = ws.samples(&["BB01/anc-0003.pdf", "BB01/anc-0012.tif", "SR01/ipd-0011.png", "PP01/ipd-0004.jpg"]);
    let mut ingest = ws.cmd().args(["ingest", second.to_str().unwrap(), "--facility", "BB01"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let base = server.1.clone();
    let reviewer = std::thread::spawn(move || {
        let queue: Vec<Value> = agent.get(&format!("{base}/api/queue")).call().unwrap().into_json().unwrap();
        let mut approved = 0;
        for item in queue.iter().take(3) {
            let id = item["chart"].as_str().unwrap();
            let chart: Value = agent.get(&format!("{base}/api/charts/{id}")).call().unwrap().into_json().unwrap();
            let r = agent
                .post(&format!("{base}/api/charts/{id}/approve"))
                .set("X-CSRF-Token", &csrf)
                .send_json(serde_json::json!({"version": chart["version"], "patient": "new"}));
            approved += r.is_ok() as usize;
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        approved
    });
    for _ in 0..3 {
        let out = ws.run(&["backup", bk.to_str().unwrap()]);
        assert!(out.status.success(), "backup during work: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(ingest.wait().unwrap().success());
    assert_eq!(reviewer.join().unwrap(), 3, "the reviewer approved while backups ran");
    drop(server);
    // Every snapshot taken during the work restores whole.
    let snaps: Vec<String> = std::fs::read_dir(bk.join("snapshots")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert_eq!(snaps.len(), 3);
    for (k, snap) in snaps.iter().enumerate() {
        let (db, data) = restored(&ws, &bk, &format!("during-{k}"), Some(snap));
        let (charts, approved) = restored_store_is_whole(&ws, &db, &data);
        assert!((3..=7).contains(&charts) && approved <= 3, "{snap}: {charts} charts, {approved} approved");
    }
    // A quiet backup restores to the same export, byte for byte; nothing new is copied.
    let source = export(&ws, "jsonl", "any");
    assert!(ws.run(&["backup", bk.to_str().unwrap()]).status.success());
    let out = ws.run(&["backup", bk.to_str().unwrap(), "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["blobs_copied"], 0, "originals and page images are copied once: {report}");
    assert!(report["blobs"].as_u64().unwrap() >= 14, "{report}");
    let (db, data) = restored(&ws, &bk, "quiet", None);
    let again = ws.cmd().args(["export", "--format", "jsonl", "--status", "any"]).env("CHARTSCAN_DB", &db).env("CHARTSCAN_DATA", &data).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&again.stdout), source, "the restored store exports what the source did");
    assert_eq!(restored_store_is_whole(&ws, &db, &data), (7, 3));
    // Restoring over it is refused; with --force it goes ahead.
    let over = ws.cmd().args(["restore", bk.to_str().unwrap()]).env("CHARTSCAN_DB", &db).env("CHARTSCAN_DATA", &data).output().unwrap();
    assert_eq!(over.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&over.stderr).contains("--force"));
    let forced = ws.cmd().args(["restore", bk.to_str().unwrap(), "--force"]).env("CHARTSCAN_DB", &db).env("CHARTSCAN_DATA", &data).output().unwrap();
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    // A damaged file is found by --verify, and a damaged snapshot is not restored.
    assert!(ws.run(&["backup", bk.to_str().unwrap(), "--verify"]).status.success());
    let victim = std::fs::read_dir(bk.join("blobs/pages")).unwrap().next().unwrap().unwrap().path();
    let victim = std::fs::read_dir(victim).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&victim, bytes).unwrap();
    let out = ws.run(&["backup", bk.to_str().unwrap(), "--verify"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(1) && err.contains(&victim.file_name().unwrap().to_string_lossy().to_string()) && err.contains("altered or damaged"),
        "{err}"
    );
    let db2 = format!("sqlite://{}/damaged/db.sqlite", ws.path().display());
    let out =
        ws.cmd().args(["restore", bk.to_str().unwrap()]).env("CHARTSCAN_DB", &db2).env("CHARTSCAN_DATA", ws.path().join("damaged/data")).output().unwrap();
    assert!(out.status.code() == Some(1) && String::from_utf8_lossy(&out.stderr).contains("damaged, nothing was restored"));
}

/// The same on PostgreSQL (`pg_dump` and `pg_restore`, the password kept off their command
/// line): a store backed up and restored into a fresh database exports the same bytes.
#[test]
fn a_postgres_store_is_backed_up_and_restored() {
    let admin = std::env::var("CHARTSCAN_TEST_PG_URL").expect("CHARTSCAN_TEST_PG_URL is not set: this test needs the PostgreSQL server ./dev test starts");
    let tag = std::process::id();
    let (source, target) = (format!("chartscan_bk_src_{tag}"), format!("chartscan_bk_dst_{tag}"));
    let base = admin.rsplit_once('/').unwrap().0.to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
        for db in [&source, &target] {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {db}")).execute(&pool).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {db}")).execute(&pool).await.unwrap();
        }
    });
    let ws = Workspace::new();
    let (src, dst) = (format!("{base}/{source}"), format!("{base}/{target}"));
    let run = |db: &str, args: &[&str]| ws.cmd().args(args).env("CHARTSCAN_DB", db).output().unwrap();
    let batch = ws.samples(&["PP01/opd-0001.jpg", "SR01/opd-0026.png"]);
    assert!(run(&src, &["ingest", batch.to_str().unwrap()]).status.success());
    let exported = run(&src, &["export", "--format", "jsonl", "--status", "any"]).stdout;
    assert_eq!(String::from_utf8_lossy(&exported).lines().count(), 2);
    let bk = ws.path().join("pg-backups");
    let out = run(&src, &["backup", bk.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_dir(bk.join("snapshots")).unwrap().next().unwrap().unwrap().path().join("database.pgdump").is_file());
    let restore =
        ws.cmd().args(["restore", bk.to_str().unwrap()]).env("CHARTSCAN_DB", &dst).env("CHARTSCAN_DATA", ws.path().join("pg-restored")).output().unwrap();
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let again = ws
        .cmd()
        .args(["export", "--format", "jsonl", "--status", "any"])
        .env("CHARTSCAN_DB", &dst)
        .env("CHARTSCAN_DATA", ws.path().join("pg-restored"))
        .output()
        .unwrap();
    assert_eq!(again.stdout, exported, "the restored database exports what the source did");
    let over = ws.cmd().args(["restore", bk.to_str().unwrap()]).env("CHARTSCAN_DB", &dst).env("CHARTSCAN_DATA", ws.path().join("pg-other")).output().unwrap();
    assert!(over.status.code() == Some(1) && String::from_utf8_lossy(&over.stderr).contains("holds a chartscan store already"));
}

/// Ingest into a nearly full file system (a 16 MiB tmpfs the test mounts in a mount namespace
/// of its own) fails with a clear error and leaves nothing half-written; the same command
/// succeeds once space is freed, every file accepted once.
#[test]
fn a_full_disk_stops_ingest_clearly_and_the_same_command_finishes_once_space_is_freed() {
    let ws = Workspace::new();
    let files = [
        "PP01/anc-0007.jpg",
        "PP01/anc-0016.jpg",
        "PP01/anc-0025.jpg",
        "PP01/anc-0034.jpg",
        "PP01/ipd-0004.jpg",
        "PP01/ipd-0013.jpg",
        "PP01/opd-0001.jpg",
        "PP01/opd-0010.jpg",
    ];
    let batch = ws.samples(&files);
    let mnt = ws.path().join("small-disk");
    let out = ws.path().join("results");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let bin = env!("CARGO_BIN_EXE_chartscan");
    let (m, o, b) = (mnt.display(), out.display(), batch.display());
    let chartscan = format!("{bin} --db sqlite://{m}/db/chartscan.db --data {m}/data");
    let script = format!(
        "set -e\nmount -t tmpfs -o size=16m,mode=700 tmpfs {m}\nhead -c 12000000 /dev/zero > {m}/filler\nset +e\n\
         {chartscan} ingest {b} --no-process > /dev/null 2> {o}/first.err; echo $? > {o}/first.code\n\
         find {m} -name '*.tmp' -o -name '*.part*' > {o}/leftovers\n\
         rm {m}/filler\n\
         {chartscan} ingest {b} --no-process --json > {o}/second.json 2> {o}/second.err; echo $? > {o}/second.code\n\
         {chartscan} stats --json > {o}/stats.json\n\
         find {m}/data/originals -type f | wc -l > {o}/originals\n"
    );
    let run = Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]).env("OMP_THREAD_LIMIT", "1").output().unwrap();
    assert!(
        run.status.success(),
        "this test mounts a small tmpfs in a mount namespace of its own (unshare --mount, as root); the machine refused: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let first = read("first.err");
    assert_eq!(read("first.code").trim(), "1", "{first}");
    assert!(first.contains("disk is full") || first.contains("No space left on device"), "{first}");
    assert!(first.contains("free space") && first.contains("run the same command again"), "a hint to the clerk: {first}");
    assert_eq!(read("leftovers").trim(), "", "nothing half-written is left behind");
    assert_eq!(read("second.code").trim(), "0", "{}", read("second.err"));
    let second: Value = serde_json::from_str(&read("second.json")).unwrap();
    assert_eq!(second["accepted"].as_u64().unwrap() + second["duplicates"].as_u64().unwrap(), files.len() as u64, "{second}");
    let stats: Value = serde_json::from_str(&read("stats.json")).unwrap();
    assert_eq!(stats["charts"]["total"].as_u64(), Some(files.len() as u64), "every file once: {stats}");
    assert_eq!(read("originals").trim(), files.len().to_string(), "every original on disk once");
}

/// SIGKILL of `serve` while a reviewer approves charts loses no approval it answered: every
/// chart whose approval came back 200 is approved (and its record committed) after a restart,
/// and the store's totals agree with its rows.
#[test]
fn killing_the_server_during_approvals_loses_no_approved_change() {
    let ws = Workspace::new();
    let batch = ws.samples(&["PP01/anc-0007.jpg", "PP01/anc-0016.jpg", "PP01/anc-0025.jpg", "PP01/ipd-0004.jpg", "PP01/ipd-0013.jpg", "PP01/opd-0001.jpg"]);
    assert!(ws.run(&["ingest", batch.to_str().unwrap(), "--facility", "PP01"]).status.success());
    ws.add_user("sokha", "reviewer", "tamarind-kettle-oxbow-7");
    let (mut server, base) = ws.serve();
    let agent = ureq::AgentBuilder::new().redirects(0).timeout(std::time::Duration::from_secs(5)).build();
    agent.post(&format!("{base}/login")).send_form(&[("username", "sokha"), ("password", "tamarind-kettle-oxbow-7")]).unwrap();
    let session: Value = agent.get(&format!("{base}/api/session")).call().unwrap().into_json().unwrap();
    let csrf = session["csrf"].as_str().unwrap().to_string();
    let queue: Vec<Value> = agent.get(&format!("{base}/api/queue")).call().unwrap().into_json().unwrap();
    assert_eq!(queue.len(), 6);
    let (tx, rx) = std::sync::mpsc::channel();
    let approver = std::thread::spawn(move || {
        let mut answered = Vec::new();
        for item in &queue {
            let id = item["chart"].as_str().unwrap().to_string();
            let Ok(chart) = agent.get(&format!("{base}/api/charts/{id}")).call() else { break };
            let chart: Value = chart.into_json().unwrap();
            match agent
                .post(&format!("{base}/api/charts/{id}/approve"))
                .set("X-CSRF-Token", &csrf)
                .send_json(serde_json::json!({"version": chart["version"], "patient": "new"}))
            {
                Ok(r) if r.status() == 200 => {
                    answered.push(id);
                    let _ = tx.send(());
                }
                Ok(_) | Err(ureq::Error::Status(..)) => {}
                Err(_) => break, // the server is gone
            }
        }
        answered
    });
    // SIGKILL once two approvals are answered: the third is on its way.
    rx.recv().unwrap();
    rx.recv().unwrap();
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let answered = approver.join().unwrap();
    // Started again on the same store: every approval answered is there, committed.
    let (code, stats) = ws.json(&["stats", "--json"]);
    assert_eq!(code, 0);
    let approved: Vec<String> =
        export(&ws, "jsonl", "approved").lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["chart"].as_str().unwrap().to_string()).collect();
    for id in &answered {
        assert!(approved.contains(id), "{id} was approved (200) before the kill but is not after it");
    }
    assert!(approved.len() >= answered.len() && approved.len() <= 6);
    assert!(answered.len() < 6, "the kill came before the last approval");
    assert_eq!(stats["records"]["encounters"].as_u64(), Some(approved.len() as u64), "each approval committed its record in the same transaction: {stats}");
    println!("{} approval(s) answered before the kill, {} approved after it", answered.len(), approved.len());
    let (again, _) = ws.serve();
    drop(again);
}
