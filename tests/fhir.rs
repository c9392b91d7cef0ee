//! FHIR R4 export and push, through the real `chartscan` binary, checked by an independent
//! FHIR implementation: Python's fhir.resources (R4 4.0.1), which `./dev test` installs into
//! `target/fhir-venv`. `tests/fhir/validate.py` validates exported bundles and
//! `tests/fhir/server.py` is the FHIR server pushes go to (it validates every bundle it is
//! sent, and can fail or hang on request).
//!
//! The charts are made through the store's API (reviewer edits and approvals, no OCR), so
//! these tests are about what happens after approval.

mod common;

use common::{fhir_python, root, validate, validation, Killed, Workspace};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use store::blobs::BlobStore;
use store::{NewFile, PageResult, Store, StoreError};

type Fields = &'static [(&'static str, &'static str)];

/// Four charts, three people: Sopheap twice (two spellings, two forms), Dara in hospital,
/// Samnang at another facility.
const CHARTS: &[(&str, &str, Fields)] = &[
    (
        "PP01",
        "OUTPATIENT CONSULTATION CARD",
        &[
            ("patient_id", "000777"),
            ("name_khmer", "សុខ សុភាព"),
            ("name_latin", "SOK Sopheap"),
            ("sex", "F"),
            ("date_of_birth", "1990-03-04"),
            ("visit_date", "2024-11-25"),
            ("phone", "012345678"),
            ("village", "Phum Thmei"),
            ("province", "Kandal"),
            ("chief_complaint", "Fever for 3 days"),
            ("diagnosis", "Dengue fever"),
            ("diagnosis_icd10", "A90"),
            ("doctor", "Dr. Keo Malis"),
        ],
    ),
    (
        "PP01",
        "ANTENATAL CARE CARD",
        &[
            ("name_latin", "Sophea SOKH"),
            ("sex", "F"),
            ("date_of_birth", "1990-03-04"),
            ("phone", "012345678"),
            ("visit_date", "2025-02-01"),
            ("lmp_date", "2024-08-17"),
            ("edd_date", "2025-05-24"),
            ("gravida", "2"),
            ("para", "1"),
            ("gestational_age_weeks", "24"),
            ("blood_pressure", "110/70"),
            ("weight_kg", "55.5"),
            ("hemoglobin_g_dl", "11.2"),
        ],
    ),
    (
        "SR01",
        "INPATIENT ADMISSION AND DISCHARGE SHEET",
        &[
            ("name_khmer", "ចាន់ ដារ៉ា"),
            ("name_latin", "CHAN Dara"),
            ("sex", "M"),
            ("date_of_birth", "1975-05-01"),
            ("ward", "Medicine"),
            ("admission_date", "2024-01-02"),
            ("discharge_date", "2024-01-09"),
            ("admission_diagnosis", "Dengue fever A90"),
            ("discharge_diagnosis", "Dengue fever, recovered"),
            ("outcome", "recovered"),
        ],
    ),
    (
        "SR01",
        "OUTPATIENT CONSULTATION CARD",
        &[
            ("name_latin", "HENG Samnang"),
            ("sex", "M"),
            ("age", "42"),
            ("visit_date", "2024-07-07"),
            ("diagnosis", "Acute upper respiratory infection"),
            ("diagnosis_icd10", "J06.9"),
        ],
    ),
];

/// Resources the four committed charts make.
fn expected_counts() -> Value {
    serde_json::json!({"Condition": 4, "DocumentReference": 4, "Encounter": 4, "Observation": 10, "Organization": 2, "Patient": 3, "Provenance": 4})
}

fn db_url(ws: &Workspace) -> String {
    format!("sqlite://{}/db/chartscan.db", ws.path().display())
}

/// Makes, reviews and approves the charts through the store; returns their ids and the
/// scanned originals' bytes.
fn approved_charts(ws: &Workspace, rt: &tokio::runtime::Runtime) -> Vec<(String, Vec<u8>)> {
    rt.block_on(async {
        let store = Store::open(&db_url(ws)).await.unwrap();
        let blobs = BlobStore::new(ws.path().join("data")).unwrap();
        let mut out = Vec::new();
        for (i, (facility, title, fields)) in CHARTS.iter().enumerate() {
            let bytes = format!("synthetic scan {i}: {title}").into_bytes();
            let sha = store::blobs::sha256_hex(&bytes);
            blobs.put(store::blobs::BlobKind::Original, &sha, &bytes).unwrap();
            let file = NewFile {
                sha256: sha.clone(),
                original_name: format!("scan_{i:04}.tiff"),
                source_path: format!("/scans/scan_{i:04}.tiff"),
                media_type: "image/tiff".into(),
                size_bytes: bytes.len() as i64,
                page_count: 1,
                facility: facility.to_string(),
                batch: "box-1".into(),
                box_label: None,
                operator: None,
                segments: vec![],
            };
            store.record_file(&file).await.unwrap();
            let job = store.claim_page("w", 60_000, 3).await.unwrap().unwrap();
            let page = chart::PageWords::typeset(1, 1000, 1400, &[title]);
            store.complete_page(job.page_id, &PageResult { image_sha256: "ab".repeat(32), width: 1000, height: 1400, skew: 0.0, words: page }).await.unwrap();
            let mut v = store.chart(&job.chart).await.unwrap().version;
            for (name, value) in fields.iter() {
                v = store.update_field(&job.chart, name, Some(&(*value).into()), v, "sokha").await.unwrap().version;
            }
            if i == 0 {
                // Her outpatient card's lab table: a measured result and a read one.
                let row = |cells: [(&str, &str); 3]| cells.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))).collect::<chart::field::Row>();
                let labs = chart::FieldValue::Rows(vec![
                    row([("test", "Platelets"), ("value", "85"), ("unit", "x10^9/L")]),
                    row([("test", "Dengue NS1"), ("value", "Positive"), ("unit", "-")]),
                ]);
                v = store.update_field(&job.chart, "lab_results", Some(&labs), v, "sokha").await.unwrap().version;
            }
            match store.approve(&job.chart, v, "sokha").await {
                Ok(_) => {}
                Err(StoreError::NeedsPatientChoice { .. }) => panic!("chart {i} should not need a choice"),
                Err(e) => panic!("approve chart {i}: {e}"),
            }
            out.push((job.chart, bytes));
        }
        store.close().await;
        out
    })
}

#[test]
fn the_fhir_export_is_valid_r4_and_says_where_every_fact_came_from() {
    let ws = Workspace::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let charts = approved_charts(&ws, &rt);
    let file = ws.path().join("bundle.json");
    let out = ws.run(&["export", "--format", "fhir", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(validate(&file), expected_counts());
    let bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let resources: Vec<&Value> = bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
    let of = |t: &str| resources.iter().filter(|r| r["resourceType"] == t).copied().collect::<Vec<_>>();

    // Sopheap's two charts, two spellings: one Patient with both names and both scripts.
    let sopheap = of("Patient").into_iter().find(|p| p["name"].as_array().unwrap().iter().any(|n| n["text"] == "SOK Sopheap")).unwrap();
    let names: Vec<&str> = sopheap["name"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert!(names.contains(&"Sophea SOKH") && names.contains(&"សុខ សុភាព"), "{names:?}");
    assert_eq!((sopheap["gender"].as_str(), sopheap["birthDate"].as_str()), (Some("female"), Some("1990-03-04")));
    assert_eq!(sopheap["telecom"][0]["value"], "012345678");
    assert!(sopheap["identifier"].as_array().unwrap().iter().any(|i| i["system"] == "urn:chartscan:facility:PP01:patient-number" && i["value"] == "000777"));
    // Samnang gave only his age: the birth year is estimated from it.
    assert!(of("Patient").iter().any(|p| p["birthDate"] == "1982"));

    let inpatient = of("Encounter").into_iter().find(|e| e["class"]["code"] == "IMP").unwrap();
    assert_eq!(inpatient["period"], serde_json::json!({"start": "2024-01-02", "end": "2024-01-09"}));
    assert_eq!(inpatient["hospitalization"]["dischargeDisposition"]["coding"][0]["code"], "home");
    let codes: Vec<&str> = of("Condition").iter().filter_map(|c| c["code"]["coding"][0]["code"].as_str()).collect();
    assert!(codes.contains(&"A90") && codes.contains(&"J06.9"), "{codes:?}");
    let hb = of("Observation").into_iter().find(|o| o["code"]["coding"][0]["code"] == "718-7").unwrap();
    assert_eq!(hb["valueQuantity"], serde_json::json!({"value": 11.2, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"}));
    // Lab results keep the test's printed name; a count per litre is coded in UCUM, a
    // positive test is a string.
    let platelets = of("Observation").into_iter().find(|o| o["code"]["text"] == "Platelets").expect("the platelet count");
    assert_eq!(platelets["valueQuantity"], serde_json::json!({"value": 85, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"}));
    let ns1 = of("Observation").into_iter().find(|o| o["code"]["text"] == "Dengue NS1").expect("the NS1 test");
    assert_eq!(ns1["valueString"], "Positive");
    // A Condition's code carries the WHO title; the chart's own words stay its text.
    let uri = of("Condition").into_iter().find(|c| c["code"]["coding"][0]["code"] == "J06.9").unwrap();
    assert_eq!(
        (uri["code"]["coding"][0]["display"].as_str(), uri["code"]["text"].as_str()),
        (Some("Acute upper respiratory infection, unspecified"), Some("Acute upper respiratory infection"))
    );

    // Scans: content type and FHIR's SHA-1 hash of the original; the Provenance names the
    // reviewer and points at the scan.
    for (chart, bytes) in &charts {
        let doc = of("DocumentReference").into_iter().find(|d| d["identifier"][0]["value"].as_str().unwrap().starts_with(chart.as_str())).unwrap();
        assert_eq!(doc["content"][0]["attachment"]["contentType"], "image/tiff");
        assert_eq!(doc["content"][0]["attachment"]["hash"], store::export::sha1_base64(bytes));
    }
    for p in of("Provenance") {
        assert_eq!(p["agent"][0]["who"]["display"], "sokha");
        assert!(p["entity"][0]["what"]["reference"].as_str().unwrap().starts_with("urn:uuid:"));
    }
    // The validator is not a rubber stamp: an Observation without its code, an impossible
    // birth date and a POST that could create a duplicate are each refused.
    for (n, break_it) in [
        |b: &mut Value| {
            b["entry"].as_array_mut().unwrap().iter_mut().find(|e| e["resource"]["resourceType"] == "Observation").unwrap()["resource"]
                .as_object_mut()
                .unwrap()
                .remove("code")
                .map(|_| ())
        },
        |b: &mut Value| {
            let patient = b["entry"].as_array_mut().unwrap().iter_mut().find(|e| e["resource"]["resourceType"] == "Patient").unwrap();
            patient["resource"]["birthDate"] = "1990-13-45".into();
            Some(())
        },
        |b: &mut Value| b["entry"][0]["request"].as_object_mut().unwrap().remove("ifNoneExist").map(|_| ()),
    ]
    .into_iter()
    .enumerate()
    {
        let mut broken = bundle.clone();
        break_it(&mut broken).unwrap();
        let path = ws.path().join(format!("broken-{n}.json"));
        std::fs::write(&path, serde_json::to_vec(&broken).unwrap()).unwrap();
        assert!(validation(&path).is_err(), "broken bundle {n} passed validation");
    }
    // Exporting again gives the same bytes.
    let again = ws.path().join("again.json");
    assert!(ws.run(&["export", "--format", "fhir", "--out", again.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&again).unwrap());
    // One form only.
    let anc = ws.path().join("anc.json");
    assert!(ws.run(&["export", "--format", "fhir", "--form", "anc", "--out", anc.to_str().unwrap()]).status.success());
    assert_eq!(validate(&anc)["Encounter"], 1);
}

/// The test FHIR server, its base URL, and its log lines.
fn fhir_server() -> (Killed, String, mpsc::Receiver<String>) {
    fhir_server_with(&[])
}

/// The test FHIR server started with `args` (`--tls-cert`...).
fn fhir_server_with(args: &[&str]) -> (Killed, String, mpsc::Receiver<String>) {
    let mut child =
        Command::new(fhir_python()).arg(root().join("tests/fhir/server.py")).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let first = BufReader::new(child.stdout.take().unwrap()).lines().next().expect("the FHIR server starts").unwrap();
    let port = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {first}")).to_string();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let scheme = if args.contains(&"--tls-cert") { "https" } else { "http" };
    (Killed(child), format!("{scheme}://127.0.0.1:{port}"), rx)
}

fn counts(url: &str) -> Value {
    let mut out = serde_json::Map::new();
    for t in ["Condition", "DocumentReference", "Encounter", "Observation", "Organization", "Patient", "Provenance"] {
        let v: Value = ureq::get(&format!("{url}/{t}")).call().unwrap().into_json().unwrap();
        out.insert(t.into(), v["total"].clone());
    }
    Value::Object(out)
}

/// The Latin names of the server's Patient who has `name` among them.
fn latin_names(url: &str, name: &str) -> Vec<String> {
    let all: Value = ureq::get(&format!("{url}/Patient")).call().unwrap().into_json().unwrap();
    let names = |p: &Value| {
        p["name"].as_array().unwrap().iter().filter(|n| n.get("extension").is_none()).map(|n| n["text"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let found: Vec<Vec<String>> = all["entry"].as_array().unwrap().iter().map(|e| names(&e["resource"])).filter(|n| n.iter().any(|x| x == name)).collect();
    assert_eq!(found.len(), 1, "one Patient named {name} on the server: {found:?}");
    found.into_iter().next().unwrap()
}

fn faults(url: &str, body: Value) {
    ureq::post(&format!("{url}/_test/faults")).send_json(body).unwrap();
}

fn pending(ws: &Workspace, rt: &tokio::runtime::Runtime) -> i64 {
    rt.block_on(async { Store::open(&db_url(ws)).await.unwrap().record_counts().await.unwrap().outbox_pending })
}

#[test]
fn push_sends_every_record_once_through_kills_failures_and_retractions() {
    let ws = Workspace::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let charts = approved_charts(&ws, &rt);
    let (_server, url, log) = fhir_server();
    assert_eq!(pending(&ws, &rt), 4);

    // 1. The server commits the first batch and hangs; the pusher is killed waiting for the
    //    answer. Nothing was marked sent, so the next push sends it again, and the server's
    //    conditional creates keep it from creating anything twice.
    faults(&url, serde_json::json!({"hang": true}));
    let mut killed = ws.cmd().args(["push", "--allow-insecure-http", "--fhir-url", &url, "--batch-size", "2"]).stderr(Stdio::null()).spawn().unwrap();
    loop {
        let line = log.recv_timeout(Duration::from_secs(60)).expect("the server logs the hanging transaction");
        if line.contains("now hanging") {
            break;
        }
    }
    // Meanwhile a second pusher is refused: it could deliver changes out of order.
    let second = ws.run(&["push", "--allow-insecure-http", "--fhir-url", &url]);
    assert!(
        !second.status.success() && String::from_utf8_lossy(&second.stderr).contains("another push is running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_eq!(pending(&ws, &rt), 4, "a killed push marks nothing sent");
    let server_after_kill = counts(&url);
    assert_eq!(server_after_kill["Encounter"], 2, "the server did commit the first batch: {server_after_kill}");
    let out = ws.run(&["push", "--allow-insecure-http", "--fhir-url", &url, "--batch-size", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(counts(&url), expected_counts(), "the resent batch created nothing twice");
    assert_eq!(pending(&ws, &rt), 0);

    // 2. Nothing left: a second push sends nothing.
    let out = ws.run(&["push", "--allow-insecure-http", "--fhir-url", &url]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("pushed 0 chart(s)"), "{}", String::from_utf8_lossy(&out.stderr));

    // 3. A manager un-approves Samnang's chart (his only one) and Sopheap's antenatal chart
    //    (she keeps her first). The server is down twice, then takes the retractions:
    //    Samnang's Patient, Encounter and Condition go, the antenatal Encounter and its
    //    measures go, and Sopheap's Patient is updated without the antenatal chart's spelling.
    assert_eq!(latin_names(&url, "SOK Sopheap"), vec!["SOK Sopheap", "Sophea SOKH"], "both spellings reached the server");
    let (samnang, anc) = (&charts[3].0, &charts[1].0);
    rt.block_on(async {
        let s = Store::open(&db_url(&ws)).await.unwrap();
        for (chart, why) in [(samnang, "wrong facility"), (anc, "belongs to another Sopheap")] {
            let v = s.chart(chart).await.unwrap().version;
            s.unapprove(chart, v, "boss", why).await.unwrap();
        }
    });
    faults(&url, serde_json::json!({"fail": 2}));
    let out = ws.run(&["push", "--allow-insecure-http", "--fhir-url", &url, "--backoff", "0.05"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 retraction(s)") && err.contains("2 attempt(s) retried"), "{err}");
    let c = counts(&url);
    assert_eq!(
        (c["Patient"].as_i64(), c["Encounter"].as_i64(), c["Condition"].as_i64(), c["Observation"].as_i64(), c["Provenance"].as_i64()),
        (Some(2), Some(2), Some(3), Some(2), Some(2)),
        "the outpatient card's two lab results stay: {c}"
    );
    assert_eq!(latin_names(&url, "SOK Sopheap"), vec!["SOK Sopheap"], "the kept patient is sent again as she is now");

    // 4. A server that refuses the bundle: a clear error, and the changes stay queued.
    rt.block_on(async {
        let s = Store::open(&db_url(&ws)).await.unwrap();
        for chart in [samnang, anc] {
            let v = s.chart(chart).await.unwrap().version;
            s.approve(chart, v, "sokha").await.unwrap();
        }
    });
    let out = ws.run(&["push", "--allow-insecure-http", "--fhir-url", &format!("{url}/not-fhir"), "--attempts", "2", "--backoff", "0.05"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(pending(&ws, &rt), 2);
    let out = ws.run(&["push", "--allow-insecure-http", "--fhir-url", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(counts(&url), expected_counts());
    assert_eq!(latin_names(&url, "SOK Sopheap"), vec!["SOK Sopheap", "Sophea SOKH"], "re-approved and linked again");

    // 5. The exported bundle, sent twice by hand, creates nothing twice either.
    let file = ws.path().join("bundle.json");
    assert!(ws.run(&["export", "--format", "fhir", "--out", file.to_str().unwrap()]).status.success());
    let bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for _ in 0..2 {
        let reply: Value = ureq::post(&url).send_json(&bundle).unwrap().into_json().unwrap();
        assert_eq!(reply["type"], "transaction-response");
    }
    assert_eq!(counts(&url), expected_counts());

    // Every push is in the audit log.
    let audit = rt.block_on(async { Store::open(&db_url(&ws)).await.unwrap().audit_entries(None).await.unwrap() });
    assert!(audit.iter().filter(|a| a.2 == "push").count() >= 6, "{:?}", audit.iter().map(|a| &a.2).collect::<Vec<_>>());
}

/// A certificate authority of the hospital's own and a server certificate it signed for
/// 127.0.0.1, made with openssl in `dir`: (CA, certificate, key).
fn hospital_ca(dir: &std::path::Path) -> (String, String, String) {
    let path = |n: &str| dir.join(n).display().to_string();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().expect("openssl is installed (./dev test installs it)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let (ca, ca_key, cert, key, csr, ext) = (path("ca.pem"), path("ca.key"), path("server.pem"), path("server.key"), path("server.csr"), path("ext.cnf"));
    openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &ca_key, "-out", &ca, "-days", "2", "-subj", "/CN=Test Hospital CA"]);
    openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(&["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-out", &cert, "-days", "2", "-extfile", &ext]);
    (ca, cert, key)
}

/// Credentials come from a file or the environment, never the URL, and are never printed or
/// audited; a hospital's own CA is trusted with --ca-file; plain http needs saying so.
#[test]
fn push_authenticates_over_tls_to_a_server_of_the_hospitals_own_authority() {
    let ws = Workspace::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    approved_charts(&ws, &rt);
    let (ca, cert, key) = hospital_ca(ws.path());
    let token = "s3cret-token-4f9a";
    let (_server, url, _log) = fhir_server_with(&["--tls-cert", &cert, "--tls-key", &key, "--require-auth", &format!("Bearer {token}")]);
    assert!(url.starts_with("https://"));
    let token_file = ws.path().join("fhir-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let push = |extra: &[&str]| {
        let mut args = vec!["push", "--fhir-url", &url, "--attempts", "1"];
        args.extend_from_slice(extra);
        let out = ws.run(&args);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    // Without the hospital's CA the server is not trusted.
    let (code, out) = push(&["--token-file", token_file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.to_lowercase().contains("certificate"), "{out}");
    // With it but without the token, the server refuses.
    let (code, out) = push(&["--ca-file", &ca]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("401"), "{out}");
    // Credentials in the URL and plain http are refused before anything is sent.
    let with_password = url.replace("https://", "https://chartscan:hunter2@");
    let out = ws.run(&["push", "--fhir-url", &with_password, "--ca-file", &ca]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("carries credentials") && !text.contains("hunter2"), "{text}");
    let out = ws.run(&["push", "--fhir-url", &url.replace("https://", "http://")]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--allow-insecure-http"));
    // The token from the environment, the CA from a file: everything is sent.
    let out = ws.cmd().args(["push", "--fhir-url", &url, "--ca-file", &ca]).env("CHARTSCAN_FHIR_TOKEN", token).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert_eq!(pending(&ws, &rt), 0, "{text}");
    assert!(!text.contains(token), "the token is never printed: {text}");
    let audit = rt.block_on(async { Store::open(&db_url(&ws)).await.unwrap().audit_entries(None).await.unwrap() });
    assert!(audit.iter().any(|a| a.2 == "push"));
    assert!(audit.iter().all(|a| !a.4.contains(token) && !a.1.contains(token)), "the token is never audited");
}
