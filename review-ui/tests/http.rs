//! The HTTP surface, in process (`app(state)`, no socket) on a real SQLite store: login,
//! roles, CSRF, optimistic locking, validation, escaping of OCR text, audit, export.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chart::{PageWords, Role};
use http_body_util::BodyExt;
use review_ui::{app, AppState};
use serde_json::{json, Value};
use std::sync::Arc;
use store::blobs::BlobStore;
use store::{NewFile, PageResult, Store};
use tower::ServiceExt;

struct Env {
    state: AppState,
    store: Store,
    chart: String,
    _dir: tempfile::TempDir,
}

const EVIL: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

async fn env() -> Env {
    let mut jpeg = Vec::new();
    image_jpeg(&mut jpeg);
    env_with_page(jpeg).await
}

/// The environment with `jpeg` as the chart's page image.
async fn env_with_page(jpeg: Vec<u8>) -> Env {
    env_with(jpeg, &["OUTPATIENT CONSULTATION CARD", "Patient ID: 004512", "Phone: 12", &format!("Diagnosis: {EVIL}")]).await
}

/// The environment with one chart whose page is `jpeg` and reads as `lines`.
async fn env_with(jpeg: Vec<u8>, lines: &[&str]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
    let blobs = BlobStore::new(dir.path().join("data")).unwrap();
    store
        .record_file(&NewFile {
            sha256: "ab".repeat(32),
            original_name: "card.jpg".into(),
            source_path: "/s/card.jpg".into(),
            media_type: "image/jpeg".into(),
            size_bytes: 10,
            page_count: 1,
            facility: "PP01".into(),
            batch: "b".into(),
            box_label: None,
            operator: None,
            segments: vec![],
        })
        .await
        .unwrap();
    let job = store.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    let sha = store::blobs::sha256_hex(&jpeg);
    blobs.put(store::blobs::BlobKind::Page, &sha, &jpeg).unwrap();
    store
        .complete_page(job.page_id, &PageResult { image_sha256: sha, width: 800, height: 600, skew: 0.0, words: PageWords::typeset(1, 800, 600, lines) })
        .await
        .unwrap();
    for (name, role) in [("rev", Role::Reviewer), ("rev2", Role::Reviewer), ("boss", Role::Manager), ("clerk", Role::Clerk), ("root", Role::Admin)] {
        store.add_user(name, role, "lotus-quarry-violet-58", "admin").await.unwrap();
    }
    Env { state: AppState::new(store.clone(), blobs), store, chart: job.chart, _dir: dir }
}

/// A tiny valid JPEG (the page image route serves stored bytes as they are).
fn image_jpeg(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]);
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

async fn send(state: &AppState, method: Method, uri: &str, cookie: Option<&str>, csrf: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

async fn login(state: &AppState, user: &str, password: &str) -> Option<(String, String)> {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username={user}&password={password}&next=/charts/x")))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers().get(header::SET_COOKIE)?.to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert_eq!(res.headers()[header::LOCATION], "/charts/x");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let session = send(state, Method::GET, "/api/session", Some(&cookie), None, None).await.json();
    Some((cookie, session["csrf"].as_str().unwrap().to_string()))
}

#[tokio::test]
async fn anonymous_requests_are_refused_on_every_route() {
    let e = env().await;
    let c = &e.chart;
    let api: Vec<(Method, String)> = vec![
        (Method::GET, "/api/session".into()),
        (Method::GET, "/api/queue".into()),
        (Method::GET, format!("/api/charts/{c}")),
        (Method::PUT, format!("/api/charts/{c}/fields/phone")),
        (Method::POST, format!("/api/charts/{c}/approve")),
        (Method::POST, format!("/api/charts/{c}/reject")),
        (Method::GET, "/api/stats".into()),
        (Method::GET, "/api/export".into()),
        (Method::GET, format!("/charts/{c}/pages/1/image")),
        (Method::POST, format!("/api/charts/{c}/claim")),
        (Method::POST, format!("/api/charts/{c}/release")),
        (Method::GET, format!("/api/charts/{c}/fields/phone/snippet")),
        (Method::GET, "/api/users".into()),
        (Method::GET, "/api/templates".into()),
        (Method::POST, "/api/templates/check".into()),
        (Method::GET, "/api/batches".into()),
        (Method::GET, "/api/rejections".into()),
        (Method::POST, "/api/users".into()),
        (Method::PUT, "/api/users/rev/disabled".into()),
        (Method::POST, "/logout".into()),
        (Method::GET, format!("/api/charts/{c}/patient-match")),
        (Method::POST, format!("/api/charts/{c}/unapprove")),
        (Method::GET, "/api/reference/icd10?q=J0".into()),
        (Method::GET, "/api/programme".into()),
        (Method::GET, "/api/plots/throughput.svg".into()),
        (Method::GET, "/api/plots/burnup.csv".into()),
        (Method::GET, "/api/facilities".into()),
        (Method::GET, "/api/boxes".into()),
    ];
    for (m, uri) in api {
        let r = send(&e.state, m.clone(), &uri, None, None, Some(json!({"version": 1, "value": "x", "reason": "x"}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {uri}");
        let r = send(&e.state, m.clone(), &uri, Some("chartscan_session=forged"), None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {uri} with a forged cookie");
    }
    for uri in ["/", &format!("/charts/{c}"), "/dashboard", "/admin", "/report?month=2026-11"] {
        let r = send(&e.state, Method::GET, uri, None, None, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
        assert!(r.headers[header::LOCATION].to_str().unwrap().starts_with("/login?next="), "{uri}");
    }
    // Open: the login page and static assets only.
    assert_eq!(send(&e.state, Method::GET, "/login", None, None, None).await.status, StatusCode::OK);
    assert_eq!(send(&e.state, Method::GET, "/static/app.js", None, None, None).await.status, StatusCode::OK);
    assert_eq!(login(&e.state, "rev", "wrong-password").await, None, "a wrong password gets no session");
    let audit = e.store.audit_entries(None).await.unwrap();
    assert!(audit.iter().any(|a| a.2 == "login_failed" && a.1 == "rev"));
}

#[tokio::test]
async fn reviewer_edits_with_csrf_and_versions_then_approves_and_manager_exports() {
    let e = env().await;
    let c = e.chart.clone();
    let (cookie, csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let queue = send(&e.state, Method::GET, "/api/queue", Some(&cookie), None, None).await.json();
    assert_eq!(queue[0]["chart"], c.as_str());
    let chart = send(&e.state, Method::GET, &format!("/api/charts/{c}"), Some(&cookie), None, None).await.json();
    let v = chart["version"].as_i64().unwrap();
    assert_eq!(chart["fields"]["phone"]["needs_review"], true);
    assert_eq!(chart["pages"][0]["image"], format!("/charts/{c}/pages/1/image"));

    let url = format!("/api/charts/{c}/fields/phone");
    let no_csrf = send(&e.state, Method::PUT, &url, Some(&cookie), None, Some(json!({"value": "012345678", "version": v}))).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let bad_csrf = send(&e.state, Method::PUT, &url, Some(&cookie), Some("0000"), Some(json!({"value": "012345678", "version": v}))).await;
    assert_eq!(bad_csrf.status, StatusCode::FORBIDDEN);
    let invalid = send(&e.state, Method::PUT, &url, Some(&cookie), Some(&csrf), Some(json!({"value": "call me", "version": v}))).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", invalid.text());
    assert!(invalid.json()["error"].as_str().unwrap().contains("phone"));
    let ok = send(&e.state, Method::PUT, &url, Some(&cookie), Some(&csrf), Some(json!({"value": "+855 12 345 678", "version": v}))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let edited = ok.json();
    assert_eq!(edited["fields"]["phone"]["value"], "012345678");
    assert_eq!(edited["fields"]["phone"]["corrected"], true);
    assert_eq!(edited["version"], v + 1);
    let stale = send(&e.state, Method::PUT, &url, Some(&cookie), Some(&csrf), Some(json!({"value": "099999999", "version": v}))).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["current_version"], v + 1);
    let stale_approve = send(&e.state, Method::POST, &format!("/api/charts/{c}/approve"), Some(&cookie), Some(&csrf), Some(json!({"version": v}))).await;
    assert_eq!(stale_approve.status, StatusCode::CONFLICT);
    let approved = send(&e.state, Method::POST, &format!("/api/charts/{c}/approve"), Some(&cookie), Some(&csrf), Some(json!({"version": v + 1}))).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(approved.json()["status"], "approved");

    // A reviewer may not see statistics or export; a manager may.
    assert_eq!(send(&e.state, Method::GET, "/api/stats", Some(&cookie), None, None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&e.state, Method::GET, "/dashboard", Some(&cookie), None, None).await.status, StatusCode::FORBIDDEN);
    let (boss, _) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    let stats = send(&e.state, Method::GET, "/api/stats", Some(&boss), None, None).await.json();
    assert_eq!(stats["charts"]["approved"], 1);
    assert_eq!(stats["by_reviewer"]["rev"]["approved"], 1);
    assert_eq!(stats["by_day"].as_object().unwrap().values().map(|d| d["approved"].as_i64().unwrap()).sum::<i64>(), 1);
    let export = send(&e.state, Method::GET, "/api/export?format=jsonl", Some(&boss), None, None).await;
    assert_eq!(export.status, StatusCode::OK);
    let line: Value = serde_json::from_str(export.text().lines().next().unwrap()).unwrap();
    assert_eq!(line["chart"], c.as_str());
    assert_eq!(line["fields"]["phone"]["value"], "012345678");
    let csv = send(&e.state, Method::GET, "/api/export?format=csv", Some(&boss), None, None).await.text();
    assert!(csv.contains("012345678"), "{csv}");
    // Every forms' fields, each once (the forms share patient_id, sex, phone, ...), and the
    // very bytes `chartscan export --format csv` writes: both call one function.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let mut unique = header.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), header.len(), "a column repeats in {header:?}");
    for shared in ["patient_id", "sex", "phone", "visit_date", "admission_date", "gravida"] {
        assert_eq!(header.iter().filter(|h| **h == shared).count(), 1, "{shared} in {header:?}");
    }
    let mut cli = Vec::new();
    let request = store::export::Request { format: store::export::Format::Csv, approved_only: true, form: None, facilities: store::Facilities::All };
    store::export::export(&e.store, &BlobStore::new(e._dir.path().join("data")).unwrap(), &request, "cli", &mut cli).await.unwrap();
    assert_eq!(String::from_utf8(cli).unwrap(), csv, "the command line and the API export the same CSV");
    let opd = send(&e.state, Method::GET, "/api/export?format=csv&form=opd", Some(&boss), None, None).await.text();
    assert!(!opd.lines().next().unwrap().contains("gravida"), "a form's CSV has that form's columns only");
    let unknown = send(&e.state, Method::GET, "/api/export?format=csv&form=dental", Some(&boss), None, None).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "a form without a template is refused");

    let actions: Vec<String> = e.store.audit_entries(Some(&c)).await.unwrap().into_iter().map(|a| a.2).collect();
    for needed in ["view", "edit_field", "approve"] {
        assert!(actions.iter().any(|a| a == needed), "audit log lacks {needed}: {actions:?}");
    }
    let all: Vec<String> = e.store.audit_entries(None).await.unwrap().into_iter().map(|a| a.2).collect();
    assert!(all.contains(&"export".to_string()) && all.contains(&"login".to_string()));
}

#[tokio::test]
async fn reviewers_get_places_and_codes_from_the_reference_lists() {
    let e = env().await;
    let (rev, _) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let get = |uri: String| {
        let state = e.state.clone();
        let rev = rev.clone();
        async move { send(&state, Method::GET, &uri, Some(&rev), None, None).await }
    };
    let codes = get("/api/reference/icd10?q=j06".into()).await.json();
    let values: Vec<&str> = codes.as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert!(values.contains(&"J06.9") && values.iter().all(|v| v.starts_with("J06")), "{values:?}");
    assert!(codes[0]["label"].as_str().unwrap().contains("Acute upper respiratory"), "{codes}");
    // Districts are narrowed to the province the chart gives; Khmer typed, Khmer offered.
    let in_takeo = get("/api/reference/district?q=Tr&province=Takeo".into()).await.json();
    let names: Vec<&str> = in_takeo.as_array().unwrap().iter().map(|p| p["value"].as_str().unwrap()).collect();
    assert!(names.contains(&"Treang"), "{names:?}");
    let anywhere = get("/api/reference/district?q=Tr".into()).await.json();
    assert!(anywhere.as_array().unwrap().len() > in_takeo.as_array().unwrap().len(), "the province narrows: {anywhere}");
    let khmer = get(format!("/api/reference/province?q={}", "%E1%9E%9F%E1%9F%80%E1%9E%98")).await.json();
    assert!(khmer.as_array().unwrap().iter().any(|p| p["value"] == "Siem Reap"), "provinces are offered by their canonical name: {khmer}");
    assert_eq!(get("/api/reference/icd10?q=".into()).await.json(), json!([]));
    assert_eq!(get("/api/reference/patients?q=a".into()).await.status, StatusCode::NOT_FOUND);
    let (clerk, _) = login(&e.state, "clerk", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(send(&e.state, Method::GET, "/api/reference/icd10?q=J0", Some(&clerk), None, None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_ward_printed_in_khmer_is_exported_by_its_english_name_and_the_wards_are_offered() {
    let mut jpeg = Vec::new();
    image_jpeg(&mut jpeg);
    let e = env_with(jpeg, &["INPATIENT ADMISSION AND DISCHARGE SHEET", "Patient ID: 004513", "Ward: ផ្នែកកុមារ"]).await;
    let (rev, _) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let chart = send(&e.state, Method::GET, &format!("/api/charts/{}", e.chart), Some(&rev), None, None).await.json();
    assert_eq!(chart["form"], "ipd", "{chart}");
    assert_eq!(chart["fields"]["ward"]["value"], "Paediatrics", "{}", chart["fields"]["ward"]);
    let wards: Vec<&str> = chart["terms"]["ward"].as_array().unwrap().iter().map(|t| t["value"].as_str().unwrap()).collect();
    assert!(wards.contains(&"Paediatrics") && wards.contains(&"Surgery"), "{wards:?}");
    assert!(chart["terms"]["ward"][0]["label"].as_str().unwrap().contains("ផ្នែក"), "Khmer names are offered too: {}", chart["terms"]);
    assert!(chart["terms"].get("patient_id").is_none());
}

#[tokio::test]
async fn a_table_is_saved_whole_with_each_cell_made_canonical_and_checked() {
    let e = env().await;
    let c = e.chart.clone();
    let (cookie, csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let chart = send(&e.state, Method::GET, &format!("/api/charts/{c}"), Some(&cookie), None, None).await.json();
    let columns: Vec<&str> = chart["columns"]["lab_results"].as_array().expect("the lab table's columns").iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(columns, ["test", "value", "unit"]);
    let v = chart["version"].as_i64().unwrap();
    let url = format!("/api/charts/{c}/fields/lab_results");
    let rows = json!([{"test": "Haemoglobin", "value": "9,8", "unit": "g/dL"}, {"test": "Malaria RDT", "value": "negative", "unit": null}]);
    let ok = send(&e.state, Method::PUT, &url, Some(&cookie), Some(&csrf), Some(json!({"value": rows, "version": v}))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let saved = &ok.json()["fields"]["lab_results"];
    assert_eq!(saved["value"][0]["value"], "9.8", "a decimal comma is a point: {saved}");
    assert_eq!(saved["corrected"], true);
    let not_rows = send(&e.state, Method::PUT, &url, Some(&cookie), Some(&csrf), Some(json!({"value": [{"colour": "red"}], "version": v + 1}))).await;
    assert_eq!(not_rows.status, StatusCode::UNPROCESSABLE_ENTITY, "a column the table does not have: {}", not_rows.text());
    let text_in_table = send(&e.state, Method::PUT, &url, Some(&cookie), Some(&csrf), Some(json!({"value": "Hb 9.8", "version": v + 1}))).await;
    assert_eq!(text_in_table.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text_in_table.text());
    let rows_in_text = send(
        &e.state,
        Method::PUT,
        &format!("/api/charts/{c}/fields/phone"),
        Some(&cookie),
        Some(&csrf),
        Some(json!({"value": [{"a": "1"}], "version": v + 1})),
    )
    .await;
    assert_eq!(rows_in_text.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", rows_in_text.text());
}

#[tokio::test]
async fn roles_are_enforced() {
    let e = env().await;
    let (clerk, csrf) = login(&e.state, "clerk", "lotus-quarry-violet-58").await.unwrap();
    for uri in ["/api/queue".to_string(), format!("/api/charts/{}", e.chart), format!("/charts/{}/pages/1/image", e.chart), "/api/stats".into()] {
        assert_eq!(send(&e.state, Method::GET, &uri, Some(&clerk), None, None).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let r = send(&e.state, Method::POST, &format!("/api/charts/{}/approve", e.chart), Some(&clerk), Some(&csrf), Some(json!({"version": 1}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Clerks follow their batches and the charts reviewers rejected.
    let batches = send(&e.state, Method::GET, "/api/batches", Some(&clerk), None, None).await;
    assert_eq!(batches.status, StatusCode::OK);
    assert_eq!(batches.json()[0]["batch"], "b");
    assert_eq!(send(&e.state, Method::GET, "/api/rejections", Some(&clerk), None, None).await.json(), json!([]));
    assert_eq!(send(&e.state, Method::GET, &format!("/charts/{}", e.chart), Some(&clerk), None, None).await.status, StatusCode::FORBIDDEN);
    let (boss, _) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(send(&e.state, Method::GET, "/admin", Some(&boss), None, None).await.status, StatusCode::FORBIDDEN, "managers do not manage users");
    let (root, _) = login(&e.state, "root", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(send(&e.state, Method::GET, "/admin", Some(&root), None, None).await.status, StatusCode::OK);
    // Logging out ends the session.
    assert_eq!(send(&e.state, Method::POST, "/logout", Some(&clerk), Some(&csrf), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(send(&e.state, Method::GET, "/api/session", Some(&clerk), None, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ocr_text_never_becomes_markup() {
    let e = env().await;
    let (cookie, csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    // The API carries OCR text as JSON data only.
    let r = send(&e.state, Method::GET, &format!("/api/charts/{}", e.chart), Some(&cookie), None, None).await;
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    assert!(r.json()["fields"]["diagnosis"]["raw"].as_str().unwrap().contains("<script>"), "the raw text is kept as data");
    // The HTML page is a static shell, with a CSP that forbids inline script.
    let page = send(&e.state, Method::GET, &format!("/charts/{}", e.chart), Some(&cookie), None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("alert("), "no chart data in the markup");
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // The front end writes data with textContent/value only.
    let js = send(&e.state, Method::GET, "/static/app.js", None, None, None).await.text();
    for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }
    // A reviewer's value with markup is stored as text and returned as JSON text.
    let v = send(&e.state, Method::GET, &format!("/api/charts/{}", e.chart), Some(&cookie), None, None).await.json()["version"].as_i64().unwrap();
    let r = send(
        &e.state,
        Method::PUT,
        &format!("/api/charts/{}/fields/diagnosis", e.chart),
        Some(&cookie),
        Some(&csrf),
        Some(json!({"value": EVIL, "version": v})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // CSV export neutralises formulas.
    let (boss, _) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    let r = send(
        &e.state,
        Method::PUT,
        &format!("/api/charts/{}/fields/doctor", e.chart),
        Some(&cookie),
        Some(&csrf),
        Some(json!({"value": "=HYPERLINK(\"http://x\")", "version": v + 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let csv = send(&e.state, Method::GET, "/api/export?format=csv&status=any", Some(&boss), None, None).await.text();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
}

#[tokio::test]
async fn a_claimed_chart_is_skipped_and_two_editors_get_one_success_and_one_409() {
    let e = env().await;
    let c = &e.chart;
    let (a, a_csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let (b, b_csrf) = login(&e.state, "rev2", "lotus-quarry-violet-58").await.unwrap();
    let claimed = send(&e.state, Method::POST, &format!("/api/charts/{c}/claim"), Some(&a), Some(&a_csrf), None).await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text());
    assert_eq!(claimed.json()["claimed_by"], "rev");
    // The other reviewer's queue skips it, and they can neither claim nor change it.
    assert_eq!(send(&e.state, Method::GET, "/api/queue", Some(&b), None, None).await.json(), json!([]));
    assert_eq!(send(&e.state, Method::GET, "/api/queue", Some(&a), None, None).await.json().as_array().unwrap().len(), 1);
    let refused = send(&e.state, Method::POST, &format!("/api/charts/{c}/claim"), Some(&b), Some(&b_csrf), None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.json()["error"].as_str().unwrap().contains("being reviewed by rev"));
    let v = send(&e.state, Method::GET, &format!("/api/charts/{c}"), Some(&b), None, None).await.json()["version"].as_i64().unwrap();
    let edit = |cookie: String, csrf: String, value: &'static str| {
        let state = e.state.clone();
        let uri = format!("/api/charts/{c}/fields/phone");
        async move { send(&state, Method::PUT, &uri, Some(&cookie), Some(&csrf), Some(json!({"value": value, "version": v}))).await.status }
    };
    assert_eq!(edit(b.clone(), b_csrf.clone(), "012000111").await, StatusCode::CONFLICT);
    // Released, both edit the same version at once: one wins, the other gets 409.
    assert_eq!(send(&e.state, Method::POST, &format!("/api/charts/{c}/release"), Some(&a), Some(&a_csrf), None).await.status, StatusCode::NO_CONTENT);
    let (x, y) = tokio::join!(edit(a.clone(), a_csrf.clone(), "012345678"), edit(b.clone(), b_csrf.clone(), "098765432"));
    let mut statuses = [x, y];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    // Queue filters.
    assert_eq!(send(&e.state, Method::GET, "/api/queue?facility=PP01&form=opd", Some(&a), None, None).await.json().as_array().unwrap().len(), 1);
    assert_eq!(send(&e.state, Method::GET, "/api/queue?facility=SR01", Some(&a), None, None).await.json(), json!([]));
}

/// A sign-in attempt from `addr` (with `origin` as the browser's `Origin`, if any): status
/// and the Set-Cookie header.
async fn sign_in(state: &AppState, user: &str, password: &str, addr: [u8; 4], origin: Option<&str>) -> (StatusCode, Option<String>) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, "clinic.local:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let mut req = req.body(Body::from(format!("username={user}&password={password}"))).unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((addr, 40000))));
    let res = app(state.clone()).oneshot(req).await.unwrap();
    (res.status(), res.headers().get(header::SET_COOKIE).map(|c| c.to_str().unwrap().to_string()))
}

#[tokio::test]
async fn a_stranger_guessing_passwords_is_slowed_but_cannot_lock_the_user_out() {
    let e = env().await;
    let stranger = [10, 0, 0, 66];
    let mut refused = 0;
    for _ in 0..12 {
        match sign_in(&e.state, "rev", "wrong-password", stranger, None).await.0 {
            StatusCode::SEE_OTHER => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert!(refused >= 8, "after {} free guesses the stranger waits: {refused} of 12 refused", review_ui::throttle::FREE_FAILURES);
    // Even the right password waits, from the stranger's address...
    assert_eq!(sign_in(&e.state, "rev", "lotus-quarry-violet-58", stranger, None).await.0, StatusCode::TOO_MANY_REQUESTS);
    // ...but the reviewer at her own computer signs in.
    let (status, cookie) = sign_in(&e.state, "rev", "lotus-quarry-violet-58", [10, 0, 0, 5], Some("http://clinic.local:8080")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookie.is_some_and(|c| c.starts_with("chartscan_session=") && !c.contains("Secure")));
    // Failures are audited, but not every one.
    let audited = e.store.audit_entries(None).await.unwrap().into_iter().filter(|a| a.2.starts_with("login_")).count();
    assert!((1..=4).contains(&audited), "{audited} audit entries for 12 guesses");
}

#[tokio::test]
async fn sign_in_from_another_site_is_refused_and_https_cookies_are_host_only() {
    let e = env().await;
    // Login CSRF: a form on another site posting the clinic's browser into an account.
    let (status, cookie) = sign_in(&e.state, "rev", "lotus-quarry-violet-58", [10, 0, 0, 5], Some("https://evil.example")).await;
    assert_eq!((status, cookie), (StatusCode::FORBIDDEN, None));
    // Served at an https address (behind a TLS proxy): Secure, __Host- prefixed.
    let state = e.state.clone().with_public_url("https://charts.hospital.kh");
    let (status, cookie) = sign_in(&state, "rev", "lotus-quarry-violet-58", [127, 0, 0, 1], None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("__Host-chartscan_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"), "{cookie}");
    let token = cookie.split(';').next().unwrap();
    assert_eq!(send(&state, Method::GET, "/api/session", Some(token), None, None).await.status, StatusCode::OK);
    // The plain cookie name means nothing to an https server.
    let plain = token.replace("__Host-", "");
    assert_eq!(send(&state, Method::GET, "/api/session", Some(&plain), None, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn admins_add_and_disable_users_and_nobody_else_can() {
    let e = env().await;
    let (root, csrf) = login(&e.state, "root", "lotus-quarry-violet-58").await.unwrap();
    let (rev, rev_csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(send(&e.state, Method::GET, "/api/users", Some(&rev), None, None).await.status, StatusCode::FORBIDDEN);
    let r = send(
        &e.state,
        Method::POST,
        "/api/users",
        Some(&rev),
        Some(&rev_csrf),
        Some(json!({"name": "x", "role": "admin", "password": "lotus-quarry-violet-58"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let added = send(
        &e.state,
        Method::POST,
        "/api/users",
        Some(&root),
        Some(&csrf),
        Some(json!({"name": "srey", "role": "reviewer", "password": "a long passphrase"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    assert!(login(&e.state, "srey", "a long passphrase").await.is_some());
    let r = send(&e.state, Method::PUT, "/api/users/srey/disabled", Some(&root), Some(&csrf), Some(json!({"disabled": true}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(login(&e.state, "srey", "a long passphrase").await.is_none(), "a disabled user cannot sign in");
    let list = send(&e.state, Method::GET, "/api/users", Some(&root), None, None).await.json();
    assert!(list.as_array().unwrap().iter().any(|u| u["name"] == "srey" && u["disabled"] == true), "{list}");
    let selfie = send(&e.state, Method::PUT, "/api/users/root/disabled", Some(&root), Some(&csrf), Some(json!({"disabled": true}))).await;
    assert_eq!(selfie.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Templates: the ones in use, and a check of a new one.
    let forms: Vec<String> = send(&e.state, Method::GET, "/api/templates", Some(&root), None, None)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["form"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(forms, ["opd", "ipd", "anc"]);
    assert_eq!(send(&e.state, Method::GET, "/api/templates", Some(&rev), None, None).await.status, StatusCode::FORBIDDEN);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/templates/check")
        .header(header::COOKIE, &root)
        .header("x-csrf-token", &csrf)
        .body(Body::from("form = 'Bad'\nname = 'x'\n[[fields]]\nname = 'a'\ntype = 'date'\nlabels = ['P']"))
        .unwrap();
    let res = app(e.state.clone()).oneshot(req).await.unwrap();
    let checked: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(checked["ok"], false);
    assert!(checked["problems"].as_array().unwrap().len() >= 2, "{checked}");
}

#[tokio::test]
async fn page_images_go_out_small_and_snippets_are_cut_on_the_server() {
    let page = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/charts/PP01/opd-0001.jpg")).unwrap();
    let e = env_with_page(page).await;
    let c = &e.chart;
    let (rev, _) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let full = send(&e.state, Method::GET, &format!("/charts/{c}/pages/1/image"), Some(&rev), None, None).await;
    let small = send(&e.state, Method::GET, &format!("/charts/{c}/pages/1/image?width=1000"), Some(&rev), None, None).await;
    assert_eq!(small.status, StatusCode::OK);
    assert!(small.body.len() <= 250 * 1024, "a page for a slow link is {} KB", small.body.len() / 1024);
    assert!(small.body.len() < full.body.len());
    let img = image::load_from_memory(&small.body).unwrap();
    assert_eq!(img.width(), 1000);
    let cut = send(&e.state, Method::GET, &format!("/api/charts/{c}/fields/patient_id/snippet"), Some(&rev), None, None).await;
    assert_eq!(cut.status, StatusCode::OK, "{}", cut.text());
    assert_eq!(cut.headers[header::CONTENT_TYPE], "image/jpeg");
    // Shared clinic computers keep no copy of a patient's page.
    assert_eq!((full.headers[header::CACHE_CONTROL].to_str().unwrap(), cut.headers[header::CACHE_CONTROL].to_str().unwrap()), ("no-store", "no-store"));
    let snip = image::load_from_memory(&cut.body).unwrap();
    assert!(snip.width() < 400 && snip.height() < 100 && cut.body.len() < 20 * 1024, "{}x{}, {} bytes", snip.width(), snip.height(), cut.body.len());
    let missing = send(&e.state, Method::GET, &format!("/api/charts/{c}/fields/doctor/snippet"), Some(&rev), None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_user_chooses_the_interface_language_and_the_khmer_font_is_served_locally() {
    let e = env().await;
    let (rev, csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(send(&e.state, Method::GET, "/api/session", Some(&rev), None, None).await.json()["lang"], "en");
    let r = send(&e.state, Method::PUT, "/api/session/lang", Some(&rev), Some(&csrf), Some(json!({"lang": "km"}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(send(&e.state, Method::GET, "/api/session", Some(&rev), None, None).await.json()["lang"], "km");
    let (rev2, _) = login(&e.state, "rev2", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(send(&e.state, Method::GET, "/api/session", Some(&rev2), None, None).await.json()["lang"], "en", "per user");
    let bad = send(&e.state, Method::PUT, "/api/session/lang", Some(&rev), Some(&csrf), Some(json!({"lang": "fr"}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let chart = send(&e.state, Method::GET, &format!("/api/charts/{}", e.chart), Some(&rev), None, None).await.json();
    assert_eq!(chart["labels_km"]["phone"], "ទូរស័ព្ទ");
    let font = send(&e.state, Method::GET, "/static/khmer.ttf", None, None, None).await;
    assert_eq!(font.status, StatusCode::OK, "the Khmer font (fonts-khmeros, installed by ./dev) is served from this machine");
    assert_eq!(font.headers[header::CONTENT_TYPE], "font/ttf");
    assert!(font.body.len() > 100_000);
}

#[tokio::test]
async fn double_keyed_fields_are_typed_blind_by_a_second_reviewer() {
    let e = env().await;
    let mut templates = chart::standard_templates();
    templates.iter_mut().for_each(|t| t.fields.iter_mut().filter(|f| f.name == "patient_id").for_each(|f| f.double_key = true));
    let state = AppState::new(e.store.clone().with_templates(Arc::new(templates)), BlobStore::new(e._dir.path().join("data")).unwrap());
    let c = &e.chart;
    let (a, a_csrf) = login(&state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let (b, b_csrf) = login(&state, "rev2", "lotus-quarry-violet-58").await.unwrap();
    let v = send(&state, Method::GET, &format!("/api/charts/{c}"), Some(&a), None, None).await.json()["version"].as_i64().unwrap();
    let first = send(&state, Method::POST, &format!("/api/charts/{c}/approve"), Some(&a), Some(&a_csrf), Some(json!({"version": v}))).await;
    assert_eq!(first.json()["status"], "second_key");
    assert_eq!(send(&state, Method::GET, "/api/queue", Some(&a), None, None).await.json(), json!([]), "not back to its first reviewer");
    // The second reviewer sees neither the first value nor what OCR read.
    let blind = send(&state, Method::GET, &format!("/api/charts/{c}"), Some(&b), None, None).await.json();
    assert_eq!(blind["blind"], json!(["patient_id"]));
    assert_eq!((blind["fields"]["patient_id"]["value"].clone(), blind["fields"]["patient_id"]["raw"].clone()), (Value::Null, json!("")));
    let seen = send(&state, Method::GET, &format!("/api/charts/{c}"), Some(&a), None, None).await.json();
    assert_eq!(seen["fields"]["patient_id"]["value"], "004512", "the first reviewer still sees their value");
    let v = blind["version"].as_i64().unwrap();
    let mine = send(
        &state,
        Method::POST,
        &format!("/api/charts/{c}/second-key"),
        Some(&a),
        Some(&a_csrf),
        Some(json!({"version": v, "values": {"patient_id": "004512"}})),
    )
    .await;
    assert_eq!(mine.status, StatusCode::CONFLICT);
    let bad = send(
        &state,
        Method::POST,
        &format!("/api/charts/{c}/second-key"),
        Some(&b),
        Some(&b_csrf),
        Some(json!({"version": v, "values": {"patient_id": "no digits"}})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = send(
        &state,
        Method::POST,
        &format!("/api/charts/{c}/second-key"),
        Some(&b),
        Some(&b_csrf),
        Some(json!({"version": v, "values": {"patient_id": "០០៤៥១២"}})),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!((done.json()["agreed"].clone(), done.json()["status"].clone()), (json!(true), json!("approved")), "Khmer digits key the same number");
}

/// A one-page scan of PP01 whose hash is `sha` repeated.
fn scan(sha: &str) -> NewFile {
    NewFile {
        sha256: sha.repeat(64 / sha.len()),
        original_name: format!("{sha}.jpg"),
        source_path: format!("/s/{sha}.jpg"),
        media_type: "image/jpeg".into(),
        size_bytes: 10,
        page_count: 1,
        facility: "PP01".into(),
        batch: "b".into(),
        box_label: None,
        operator: None,
        segments: vec![],
    }
}

/// Another outpatient chart in the environment's store (its own file).
async fn add_chart(e: &Env, sha: &str) -> String {
    e.store.record_file(&scan(sha)).await.unwrap();
    let job = e.store.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    e.store
        .complete_page(
            job.page_id,
            &PageResult {
                image_sha256: "cd".repeat(32),
                width: 800,
                height: 600,
                skew: 0.0,
                words: PageWords::typeset(1, 800, 600, &["OUTPATIENT CONSULTATION CARD"]),
            },
        )
        .await
        .unwrap();
    job.chart
}

/// Sets fields through the API as a reviewer; returns the chart's version after.
async fn key_fields(e: &Env, chart: &str, cookie: &str, csrf: &str, values: &[(&str, &str)]) -> i64 {
    let mut v = send(&e.state, Method::GET, &format!("/api/charts/{chart}"), Some(cookie), None, None).await.json()["version"].as_i64().unwrap();
    for (name, value) in values {
        let r =
            send(&e.state, Method::PUT, &format!("/api/charts/{chart}/fields/{name}"), Some(cookie), Some(csrf), Some(json!({"value": value, "version": v})))
                .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text());
        v = r.json()["version"].as_i64().unwrap();
    }
    v
}

#[tokio::test]
async fn an_uncertain_patient_is_the_reviewers_choice_and_a_manager_can_take_an_approval_back() {
    let e = env().await;
    let (rev, csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let first = e.chart.clone();
    let v = key_fields(
        &e,
        &first,
        &rev,
        &csrf,
        &[("name_latin", "SOK Sopheap"), ("sex", "F"), ("date_of_birth", "04/03/1990"), ("visit_date", "25/11/2024"), ("diagnosis_icd10", "A90")],
    )
    .await;
    let r = send(&e.state, Method::POST, &format!("/api/charts/{first}/approve"), Some(&rev), Some(&csrf), Some(json!({"version": v}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let patient = e.store.committed_chart(&first).await.unwrap().unwrap().patient.public_id;
    let shown = send(&e.state, Method::GET, &format!("/api/charts/{first}"), Some(&rev), None, None).await.json();
    assert_eq!(
        (shown["record"]["patient"].as_str(), shown["record"]["how"].as_str(), shown["record"]["facts"].as_u64()),
        (Some(patient.as_str()), Some("new"), Some(1)),
        "{}",
        shown["record"]
    );

    let second = add_chart(&e, "ef").await;
    let v = key_fields(&e, &second, &rev, &csrf, &[("name_latin", "Sopheap SOK"), ("sex", "F"), ("age", "34"), ("visit_date", "25/11/2024")]).await;
    let m = send(&e.state, Method::GET, &format!("/api/charts/{second}/patient-match"), Some(&rev), None, None).await.json();
    assert_eq!(m["decision"], "ask", "{m}");
    assert_eq!(m["candidates"][0]["patient"], patient.as_str());
    let asked = send(&e.state, Method::POST, &format!("/api/charts/{second}/approve"), Some(&rev), Some(&csrf), Some(json!({"version": v}))).await;
    assert_eq!(asked.status, StatusCode::CONFLICT);
    assert_eq!(asked.json()["candidates"][0]["patient"], patient.as_str(), "{}", asked.text());
    let chosen =
        send(&e.state, Method::POST, &format!("/api/charts/{second}/approve"), Some(&rev), Some(&csrf), Some(json!({"version": v, "patient": patient}))).await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text());
    assert_eq!(e.store.committed_chart(&second).await.unwrap().unwrap().patient.public_id, patient);

    // Only a manager un-approves, and only with a reason.
    let v = chosen.json()["version"].as_i64().unwrap();
    let url = format!("/api/charts/{second}/unapprove");
    assert_eq!(send(&e.state, Method::POST, &url, Some(&rev), Some(&csrf), Some(json!({"version": v, "reason": "oops"}))).await.status, StatusCode::FORBIDDEN);
    let (boss, boss_csrf) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    assert_eq!(
        send(&e.state, Method::POST, &url, Some(&boss), Some(&boss_csrf), Some(json!({"version": v, "reason": ""}))).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let back = send(&e.state, Method::POST, &url, Some(&boss), Some(&boss_csrf), Some(json!({"version": v, "reason": "linked to the wrong patient"}))).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text());
    assert_eq!(back.json()["status"], "in_review");
    let audit: Vec<(String, String)> = e.store.audit_entries(Some(&second)).await.unwrap().into_iter().map(|a| (a.1, a.2)).collect();
    for (who, what) in [("rev", "view_patient_match"), ("rev", "commit"), ("boss", "unapprove")] {
        assert!(audit.contains(&(who.to_string(), what.to_string())), "{who} {what}: {audit:?}");
    }

    // The manager's FHIR export holds the one chart still approved.
    let fhir = send(&e.state, Method::GET, "/api/export?format=fhir", Some(&boss), None, None).await;
    assert_eq!(fhir.status, StatusCode::OK);
    assert_eq!(fhir.headers[header::CONTENT_TYPE], "application/fhir+json");
    let counts = chart::fhir::resource_counts(&fhir.json());
    assert_eq!((counts["Patient"], counts["Encounter"], counts["Condition"]), (1, 1, 1), "{counts:?}");
    let stats = send(&e.state, Method::GET, "/api/stats", Some(&boss), None, None).await.json();
    assert_eq!(stats["records"], json!({"patients": 1, "encounters": 1, "facts": 1, "outbox_pending": 3}), "two commits and a retraction wait to be pushed");
}

#[tokio::test]
async fn managers_teach_a_form_in_the_studio_and_others_may_not() {
    let e = env().await;
    let c = &e.chart;
    let (rev, rev_csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let (boss, csrf) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    // Reviewers and anonymous users may not.
    assert_eq!(send(&e.state, Method::GET, "/api/studio/charts", Some(&rev), None, None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&e.state, Method::GET, "/api/studio/charts", None, None, None).await.status, StatusCode::UNAUTHORIZED);
    let taught = json!({"chart": c, "taught": {"form": "opd", "name": "PP01 card", "facility": "PP01", "title": [0, 1, 2],
        "fields": [{"name": "patient_id", "type": "patient_id", "label": [3, 4], "value": [5]}, {"name": "phone", "type": "phone", "label": [6], "value": [7]}]}});
    assert_eq!(send(&e.state, Method::POST, "/api/studio/save", Some(&rev), Some(&rev_csrf), Some(taught.clone())).await.status, StatusCode::FORBIDDEN);
    // The manager sees the words to point at (audited), tries and saves.
    let words = send(&e.state, Method::GET, &format!("/api/studio/charts/{c}/words"), Some(&boss), None, None).await.json();
    assert_eq!((words["words"][5]["text"].as_str(), words["facility"].as_str()), (Some("004512"), Some("PP01")));
    let listed = send(&e.state, Method::GET, "/api/studio/charts?facility=PP01", Some(&boss), None, None).await.json();
    assert_eq!(listed[0]["chart"].as_str(), Some(c.as_str()));
    let fields = send(&e.state, Method::GET, "/api/studio/fields?form=opd", Some(&boss), None, None).await.json();
    assert_eq!(fields[0]["name"], "patient_id", "the form's labelled fields first: {fields}");
    let tried = send(&e.state, Method::POST, "/api/studio/try", Some(&boss), Some(&csrf), Some(taught.clone())).await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.text());
    assert_eq!(tried.json()["fields"], json!(["patient_id", "phone"]));
    assert_eq!(send(&e.state, Method::POST, "/api/studio/save", Some(&boss), None, Some(taught.clone())).await.status, StatusCode::FORBIDDEN, "CSRF");
    let first = send(&e.state, Method::POST, "/api/studio/save", Some(&boss), Some(&csrf), Some(taught.clone())).await.json();
    let second = send(&e.state, Method::POST, "/api/studio/save", Some(&boss), Some(&csrf), Some(taught.clone())).await.json();
    assert_eq!((first["version"].as_i64(), second["version"].as_i64(), second["facility"].as_str()), (Some(1), Some(2), Some("PP01")));
    // A field whose value was not shown is refused, with the reason.
    let mut bad = taught.clone();
    bad["taught"]["fields"][1]["value"] = json!([]);
    let refused = send(&e.state, Method::POST, "/api/studio/save", Some(&boss), Some(&csrf), Some(bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("phone"), "{}", refused.text());
    // One action reads the facility's waiting charts again with version 2.
    let again = send(&e.state, Method::POST, "/api/studio/reextract", Some(&boss), Some(&csrf), Some(json!({"facility": "PP01"}))).await.json();
    assert_eq!(again["charts"], 1);
    assert_eq!(e.store.chart_template(c).await.unwrap().map(|t| t.version), Some(2));
    assert_eq!(e.store.chart(c).await.unwrap().fields["patient_id"].text(), Some("004512"));
    let actions: Vec<String> = e.store.audit_entries(None).await.unwrap().into_iter().map(|a| a.2).collect();
    for needed in ["studio_view", "studio_try", "template_save", "reextract"] {
        assert!(actions.iter().any(|a| a == needed), "audit lacks {needed}: {actions:?}");
    }
}

#[tokio::test]
async fn a_scan_uploaded_in_the_studio_lands_whole_in_the_inbox() {
    let e = env().await;
    let (rev, rev_csrf) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let (boss, csrf) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    let upload = |state: AppState, cookie: String, csrf: String, name: &'static str, bytes: Vec<u8>| async move {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/studio/upload")
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", csrf)
            .header("x-file-name", name)
            .body(Body::from(bytes))
            .unwrap();
        let res = app(state).oneshot(req).await.unwrap();
        let status = res.status();
        (status, String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).to_string())
    };
    // Without an inbox the server says how to give it one.
    let (status, text) = upload(e.state.clone(), boss.clone(), csrf.clone(), "card.png", b"scan".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text.contains("--inbox"), "{text}");
    let inbox = e._dir.path().join("inbox");
    let state = e.state.clone().with_inbox(inbox.clone());
    assert_eq!(upload(state.clone(), rev, rev_csrf, "card.png", b"scan".to_vec()).await.0, StatusCode::FORBIDDEN, "reviewers may not");
    let (status, text) = upload(state.clone(), boss.clone(), csrf.clone(), "../../box 7/card.png", b"a scanned card".to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(std::fs::read(inbox.join("card.png")).unwrap(), b"a scanned card", "written whole, under its own name, inside the inbox");
    let names: Vec<String> = std::fs::read_dir(&inbox).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert_eq!(names, ["card.png"], "no partial file left");
    assert!(e.store.audit_entries(None).await.unwrap().iter().any(|a| a.2 == "studio_upload"));
}

/// A large export is streamed a page of charts at a time (no length known in advance, every
/// chart once, in order) and audited with who, what and how many.
#[tokio::test]
async fn large_exports_stream_and_are_audited() {
    let e = env().await;
    for i in 0..450 {
        let sha = store::blobs::sha256_hex(format!("card {i}").as_bytes());
        e.store
            .record_file(&NewFile {
                sha256: sha.clone(),
                original_name: format!("card-{i}.png"),
                source_path: format!("/s/card-{i}.png"),
                media_type: "image/png".into(),
                size_bytes: 10,
                page_count: 1,
                facility: "PP01".into(),
                batch: "big".into(),
                box_label: None,
                operator: None,
                segments: vec![],
            })
            .await
            .unwrap();
    }
    let (boss, _) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    let res = send(&e.state, Method::GET, "/api/export?format=jsonl&status=any", Some(&boss), None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.headers.get(header::CONTENT_LENGTH).is_none(), "streamed, not built whole first");
    let charts: Vec<String> = res.text().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["chart"].as_str().unwrap().to_string()).collect();
    assert_eq!(charts.len(), 451);
    let unique: std::collections::BTreeSet<&String> = charts.iter().collect();
    assert_eq!(unique.len(), 451, "every chart once across the pages");
    let csv = send(&e.state, Method::GET, "/api/export?format=csv&status=any", Some(&boss), None, None).await.text();
    assert_eq!(csv.lines().count(), 452, "a header and a row per chart");
    // Give the streaming task a moment to write its audit entry.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let audited: Vec<(String, String)> = e.store.audit_entries(None).await.unwrap().into_iter().filter(|a| a.2 == "export").map(|a| (a.1, a.4)).collect();
    assert_eq!(
        audited,
        [("boss".to_string(), "jsonl, any status: 451 chart(s)".to_string()), ("boss".to_string(), "csv, any status: 451 chart(s)".to_string())]
    );
}

/// Users of some facilities see only those facilities' charts, everywhere: queue, chart,
/// image, snippet, changes, studio, batches, rejections, statistics and exports; another
/// facility's chart answers 404 as if it did not exist.
#[tokio::test]
async fn users_see_only_their_facilities() {
    let e = env().await; // one chart, of PP01
    let c = e.chart.clone();
    let only = |codes: &[&str]| store::Facilities::Only(codes.iter().map(|c| c.to_string()).collect());
    e.store.add_user_for("sr", Role::Reviewer, only(&["SR01"]), "lotus-quarry-violet-58", "root").await.unwrap();
    e.store.add_user_for("srboss", Role::Manager, only(&["SR01", "BB01"]), "lotus-quarry-violet-58", "root").await.unwrap();
    e.store.add_user_for("pp", Role::Reviewer, only(&["PP01"]), "lotus-quarry-violet-58", "root").await.unwrap();
    let (sr, sr_csrf) = login(&e.state, "sr", "lotus-quarry-violet-58").await.unwrap();
    let (boss, _) = login(&e.state, "srboss", "lotus-quarry-violet-58").await.unwrap();
    let (pp, _) = login(&e.state, "pp", "lotus-quarry-violet-58").await.unwrap();
    let get = |cookie: String, uri: String| {
        let state = e.state.clone();
        async move { send(&state, Method::GET, &uri, Some(&cookie), None, None).await }
    };
    // Another facility's chart does not exist for them, whatever the route.
    for uri in [format!("/api/charts/{c}"), format!("/charts/{c}/pages/1/image"), format!("/api/charts/{c}/fields/patient_id/snippet")] {
        assert_eq!(get(sr.clone(), uri.clone()).await.status, StatusCode::NOT_FOUND, "{uri}");
        // (The test page is not a real image: its snippet cannot be cut, but it is found.)
        assert_ne!(get(pp.clone(), uri.clone()).await.status, StatusCode::NOT_FOUND, "{uri} for PP01's own reviewer");
    }
    assert_eq!(get(boss.clone(), format!("/api/studio/charts/{c}/words")).await.status, StatusCode::NOT_FOUND);
    let edit =
        send(&e.state, Method::PUT, &format!("/api/charts/{c}/fields/phone"), Some(&sr), Some(&sr_csrf), Some(json!({"value": "012345678", "version": 1})))
            .await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
    let approve = send(&e.state, Method::POST, &format!("/api/charts/{c}/approve"), Some(&sr), Some(&sr_csrf), Some(json!({"version": 1}))).await;
    assert_eq!(approve.status, StatusCode::NOT_FOUND);
    // Lists leave it out.
    assert_eq!(get(sr.clone(), "/api/queue".into()).await.json(), json!([]));
    assert_eq!(get(pp.clone(), "/api/queue".into()).await.json().as_array().unwrap().len(), 1);
    assert_eq!(get(sr.clone(), "/api/batches".into()).await.json(), json!([]));
    assert_eq!(get(boss.clone(), "/api/studio/charts".into()).await.json(), json!([]));
    let stats = get(boss.clone(), "/api/stats".into()).await.json();
    assert!(stats["by_facility"].get("PP01").is_none(), "{stats}");
    assert_eq!(stats["charts"]["total"].as_i64().unwrap_or(0), 0, "{stats}");
    let export = get(boss.clone(), "/api/export?format=jsonl&status=any".into()).await;
    assert_eq!((export.status, export.text()), (StatusCode::OK, String::new()));
    let (all, _) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    let everyone = get(all, "/api/export?format=jsonl&status=any".into()).await;
    assert_eq!(everyone.text().lines().count(), 1, "a user of every facility exports the chart");
    // Nothing was changed.
    assert_eq!(e.store.chart(&c).await.unwrap().version, 1);
}

/// The programme's view: managers only; each user's facilities only; plots, tables and the
/// report from the same figures; the facility and box names (untrusted text someone typed)
/// never become markup.
#[tokio::test]
async fn the_programme_view_is_for_managers_of_their_own_facilities() {
    let e = env().await; // one chart of PP01, extracted
    let evil = chart::archive::Facility { code: "PP01".into(), name: EVIL.into(), target_charts: Some(100), ..Default::default() }.checked().unwrap();
    let other = chart::archive::Facility { code: "SR01".into(), name: "Other Clinic".into(), target_charts: Some(50), ..Default::default() };
    e.store.upsert_facilities(&[evil, other]).await.unwrap();
    e.store
        .import_boxes(&chart::archive::parse_boxes(&format!("facility,box,expected\nPP01,\"{}\",40\nSR01,S-1,10\n", EVIL.replace('"', "'"))).unwrap())
        .await
        .unwrap();
    let (rev, _) = login(&e.state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let (boss, _) = login(&e.state, "boss", "lotus-quarry-violet-58").await.unwrap();
    e.store.add_user_for("srboss", Role::Manager, store::Facilities::Only(vec!["SR01".into()]), "lotus-quarry-violet-58", "root").await.unwrap();
    let (srboss, _) = login(&e.state, "srboss", "lotus-quarry-violet-58").await.unwrap();
    for uri in ["/api/programme", "/api/plots/backlog.svg", "/api/plots/quality.csv", "/api/boxes", "/report?month=2026-11"] {
        assert_eq!(send(&e.state, Method::GET, uri, Some(&rev), None, None).await.status, StatusCode::FORBIDDEN, "{uri} for a reviewer");
    }
    // Facility names are for every page that shows a code.
    assert_eq!(send(&e.state, Method::GET, "/api/facilities", Some(&rev), None, None).await.json().as_array().unwrap().len(), 2);
    let p = send(&e.state, Method::GET, "/api/programme", Some(&boss), None, None).await.json();
    let pp = p["facilities"].as_array().unwrap().iter().find(|f| f["code"] == "PP01").unwrap().clone();
    assert_eq!((pp["charts"]["total"].as_i64(), pp["target"].as_i64(), pp["name"].as_str()), (Some(1), Some(100), Some(EVIL)));
    assert_eq!(p["throughput"].as_array().unwrap().len(), 60);
    assert_eq!(p["throughput"].as_array().unwrap().last().unwrap()["scanned"], 1, "today's scan");
    // Every plot draws, as SVG; the facility's name is text in it, not markup.
    for plot in ["throughput", "backlog", "quality", "reviewers", "operators"] {
        let r = send(&e.state, Method::GET, &format!("/api/plots/{plot}.svg"), Some(&boss), None, None).await;
        assert_eq!((r.status, r.headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "image/svg+xml"), "{plot}");
        assert!(r.text().starts_with("<svg"), "{plot}");
        let csv = send(&e.state, Method::GET, &format!("/api/plots/{plot}.csv"), Some(&boss), None, None).await;
        assert!(csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains(&format!("chartscan-{plot}.csv")));
    }
    let burnup = send(&e.state, Method::GET, "/api/plots/burnup.svg?facility=PP01", Some(&boss), None, None).await.text();
    assert!(!burnup.contains("<script") && burnup.contains("&lt;script&gt;"), "names are escaped in plots");
    assert_eq!(send(&e.state, Method::GET, "/api/plots/nothing.svg", Some(&boss), None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&e.state, Method::GET, "/api/plots/burnup.svg?facility=XX", Some(&boss), None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&e.state, Method::GET, "/api/programme?month=2026-13", Some(&boss), None, None).await.status, StatusCode::BAD_REQUEST);
    // The report: escaped, styled from the station (its CSP allows no inline style), audited.
    let report = send(&e.state, Method::GET, "/report?month=2026-11", Some(&boss), None, None).await;
    assert_eq!(report.status, StatusCode::OK);
    let html = report.text();
    assert!(!html.contains(EVIL) && html.contains("&lt;script&gt;") && html.contains("/static/report.css") && !html.contains("<style"));
    assert!(e.store.audit_entries(None).await.unwrap().iter().any(|a| a.2 == "view_report" && a.1 == "boss"));
    assert_eq!(send(&e.state, Method::GET, "/static/report.css", None, None, None).await.status, StatusCode::OK);
    // Boxes: the unscanned box of PP01 and SR01's; a manager of SR01 sees SR01 only.
    let boxes = send(&e.state, Method::GET, "/api/boxes", Some(&boss), None, None).await.json();
    assert_eq!(boxes.as_array().unwrap().len(), 3, "two boxes of the inventory and the files without a box: {boxes}");
    assert!(boxes.as_array().unwrap().iter().any(|b| b["label"] == "" && b["state"] == "not_in_inventory" && b["scanned"] == 1));
    let theirs = send(&e.state, Method::GET, "/api/boxes", Some(&srboss), None, None).await.json();
    assert_eq!(
        theirs,
        json!([{"facility": "SR01", "label": "S-1", "years": null, "shelf": null, "expected": 10, "scanned": 0, "in_review": 0, "approved": 0, "rejected": 0, "state": "not_started"}])
    );
    let p = send(&e.state, Method::GET, "/api/programme", Some(&srboss), None, None).await.json();
    assert_eq!(p["facilities"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect::<Vec<_>>(), ["SR01"]);
    assert_eq!(p["totals"]["total"], 0);
    let registry = send(&e.state, Method::GET, "/api/facilities", Some(&srboss), None, None).await.json();
    assert_eq!(registry.as_array().unwrap().len(), 1);
}

/// `/healthz` and `/metrics`: a manager's session or the monitoring token, nobody else; the
/// installation's pages, queue, review actions and page times in the Prometheus text format.
#[tokio::test]
async fn health_and_metrics_are_for_managers_and_the_monitoring_token() {
    let e = env().await;
    let token = "a-long-monitoring-token-0123456789";
    let state = e.state.clone().with_metrics_token(token).unwrap();
    assert!(e.state.clone().with_metrics_token("short").is_err());
    // A second file: its page is timed by the worker, as the pipeline does.
    e.store.record_file(&scan("cd")).await.unwrap();
    let job = e.store.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    let words = PageWords::typeset(1, 800, 600, &["OUTPATIENT CONSULTATION CARD", "Patient ID: 000123"]);
    e.store
        .complete_page_timed(job.page_id, &PageResult { image_sha256: "ef".repeat(32), width: 800, height: 600, skew: 0.0, words }, Some(3.0))
        .await
        .unwrap();
    let (rev, _) = login(&state, "rev", "lotus-quarry-violet-58").await.unwrap();
    let (boss, _) = login(&state, "boss", "lotus-quarry-violet-58").await.unwrap();
    for uri in ["/healthz", "/metrics"] {
        assert_eq!(send(&state, Method::GET, uri, None, None, None).await.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(send(&state, Method::GET, uri, Some(&rev), None, None).await.status, StatusCode::FORBIDDEN, "{uri} for a reviewer");
        assert_eq!(send(&state, Method::GET, uri, Some(&boss), None, None).await.status, StatusCode::OK, "{uri} for a manager");
        let bearer = |t: &str| Request::builder().uri(uri).header(header::AUTHORIZATION, format!("Bearer {t}")).body(Body::empty()).unwrap();
        assert_eq!(app(state.clone()).oneshot(bearer("wrong-token-wrong-token")).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(app(state.clone()).oneshot(bearer(token)).await.unwrap().status(), StatusCode::OK, "{uri} with the token");
    }
    let health = send(&state, Method::GET, "/healthz", Some(&boss), None, None).await.json();
    assert_eq!(
        (health["status"].as_str(), health["store"]["ok"].as_bool(), health["queue"]["pages_waiting"].as_i64()),
        (Some("ok"), Some(true), Some(0)),
        "{health}"
    );
    assert!(health["disk"]["free_bytes"].as_u64().unwrap() > 0);
    let text = send(&state, Method::GET, "/metrics", Some(&boss), None, None).await.text();
    for line in [
        "chartscan_pages{state=\"done\"} 2",
        "chartscan_pages_processed_total 2",
        "chartscan_queue_depth 0",
        "chartscan_review_actions_total{action=\"approve\"} 0",
        "chartscan_push_backlog 0",
        "chartscan_page_seconds_bucket{le=\"2.0\"} 0",
        "chartscan_page_seconds_bucket{le=\"4.0\"} 1",
        "chartscan_page_seconds_bucket{le=\"+Inf\"} 1",
        "chartscan_page_seconds_count 1",
        "chartscan_page_seconds_sum 3.0",
        "# EOF",
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
    }
    // A page queued two hours ago with no worker: the health check fails, and says why.
    e.store.record_file(&scan("0e")).await.unwrap();
    let url = format!("sqlite://{}/t.db", e._dir.path().display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE charts SET created_at = created_at - 7200000 WHERE id = (SELECT MAX(id) FROM charts)").execute(&pool).await.unwrap();
    let r = send(&state, Method::GET, "/healthz", Some(&boss), None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let health = r.json();
    assert_eq!((health["queue"]["ok"].as_bool(), health["queue"]["pages_waiting"].as_i64()), (Some(false), Some(1)), "{health}");
    assert!(health["queue"]["oldest_seconds"].as_i64().unwrap() >= 7200);
}
