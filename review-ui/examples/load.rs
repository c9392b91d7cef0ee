//! Review-station load benchmark (issue 6): server time of the queue, chart and snippet
//! endpoints with N charts in the store and R reviewers working at once.
//!
//! ```text
//! cargo run --release -p review-ui --example load -- sqlite:///tmp/load.db [CHARTS] [REVIEWERS] [SECONDS]
//! cargo run --release -p review-ui --example load -- postgres://user@host/db 100000 20 20
//! ```
//!
//! The store is filled with synthetic charts by SQL (`store::synthetic`: one page image shared
//! by all, 17 fields each, a third of them needing review, two audit rows each) unless it
//! already holds enough. Then R simulated
//! reviewers each loop: open the queue, open a chart from it, load three of its field
//! snippets and (every other time) its page image, correct a field now and then, and approve
//! one chart in eight (which commits its record). Requests go to the real application in process
//! (`app(state)`), so the times are the server's: routing, session and role checks, the
//! database, image cutting, audit writes. Prints p50/p95/p99 per endpoint.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use review_ui::{app, AppState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::blobs::BlobStore;
use store::Store;
use tower::ServiceExt;

use store::synthetic::FIELDS;

#[derive(Default)]
struct Times {
    queue: Vec<f64>,
    chart: Vec<f64>,
    snippet: Vec<f64>,
    page: Vec<f64>,
    edit: Vec<f64>,
    approve: Vec<f64>,
    conflicts: u64,
}

impl Times {
    /// A write's time, under `which`; one refused because another reviewer changed or holds the
    /// chart (409) is counted apart.
    fn write(&mut self, status: StatusCode, ms: f64, which: fn(&mut Times) -> &mut Vec<f64>) {
        if status == StatusCode::CONFLICT {
            self.conflicts += 1;
        } else {
            assert_eq!(status, StatusCode::OK);
            which(self).push(ms);
        }
    }
}

/// A reviewer's pause before a request: between half and one and a half times `think_ms`,
/// spread by the reviewer and the request's number (no pause when `think_ms` is 0).
async fn pause(think_ms: u64, reviewer: usize, n: usize) {
    if think_ms > 0 {
        let spread = ((n as u64).wrapping_mul(7919) ^ (reviewer as u64).wrapping_mul(104_729)) % 1000;
        tokio::time::sleep(Duration::from_millis(think_ms / 2 + think_ms * spread / 1000)).await;
    }
}

async fn call(state: &AppState, method: Method, uri: &str, cookie: &str, csrf: &str, body: Option<String>) -> (StatusCode, Vec<u8>, f64) {
    let req = Request::builder().method(method).uri(uri).header(header::COOKIE, cookie).header("x-csrf-token", csrf);
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b)).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let t = Instant::now();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    if std::env::var("LOAD_DEBUG").is_ok() {
        eprintln!("{uri} {status} {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    }
    (status, bytes, t.elapsed().as_secs_f64() * 1000.0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("a database URL (sqlite:///tmp/load.db or postgres://...)");
    let charts: i64 = args.next().map_or(100_000, |a| a.parse().unwrap());
    let reviewers: usize = args.next().map_or(20, |a| a.parse().unwrap());
    let seconds: u64 = args.next().map_or(20, |a| a.parse().unwrap());
    // A reviewer's pause between requests (reading the snippet, typing), in ms: 0 (the
    // default) sends the next request at once, which keeps both cores busy and measures the
    // server saturated; CHARTSCAN_LOAD_THINK_MS=500 paces each reviewer at 0.25 to 0.75 s.
    let think_ms: u64 = std::env::var("CHARTSCAN_LOAD_THINK_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let store = Store::open(&url).await.unwrap();
    let data = std::env::temp_dir().join(format!("chartscan-load-{}", std::process::id()));
    let blobs = BlobStore::new(&data).unwrap();
    let page = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/charts/PP01/opd-0001.jpg")).unwrap();
    let sha = store::blobs::sha256_hex(&page);
    blobs.put(store::blobs::BlobKind::Page, &sha, &page).unwrap();
    match store::synthetic::seed(&url, charts, 2, &sha).await.unwrap() {
        Some(secs) => println!("seeded {charts} charts ({} fields, {} audit rows) in {secs:.1} s", charts * FIELDS.len() as i64, charts * 2),
        None => println!("the store holds {charts} charts already"),
    }
    let state = AppState::new(store.clone(), blobs);
    let times = Arc::new(Mutex::new(Times::default()));
    let mut sessions = Vec::new();
    for r in 0..reviewers {
        // Names of this run: the store may be reused from an earlier run.
        let user = store.add_user(&format!("load{}-{r}", std::process::id()), chart::Role::Reviewer, "load-lantern-mango-river", "load").await.unwrap();
        sessions.push(store.create_session(&user).await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (r, (token, session)) in sessions.into_iter().enumerate() {
        let (state, times) = (state.clone(), times.clone());
        tasks.push(tokio::spawn(async move {
            let cookie = format!("chartscan_session={token}");
            let filters = ["", "?facility=PP01", "?facility=SR01&form=opd", "?batch=load"];
            let mut n = 0usize;
            while Instant::now() < deadline {
                n += 1;
                pause(think_ms, r, n).await;
                let (status, body, ms) =
                    call(&state, Method::GET, &format!("/api/queue{}", filters[(n + r) % filters.len()]), &cookie, &session.csrf, None).await;
                assert_eq!(status, StatusCode::OK);
                times.lock().unwrap().queue.push(ms);
                let queue: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let Some(item) = queue.as_array().and_then(|q| q.get((r * 7 + n) % q.len().max(1))) else { continue };
                let id = item["chart"].as_str().unwrap().to_string();
                pause(think_ms, r, n + 1).await;
                let (status, body, ms) = call(&state, Method::GET, &format!("/api/charts/{id}"), &cookie, &session.csrf, None).await;
                assert_eq!(status, StatusCode::OK);
                times.lock().unwrap().chart.push(ms);
                let chart: serde_json::Value = serde_json::from_slice(&body).unwrap();
                for name in FIELDS.iter().skip(n % 5).take(3) {
                    pause(think_ms, r, n + name.len()).await;
                    let (status, _, ms) = call(&state, Method::GET, &format!("/api/charts/{id}/fields/{name}/snippet"), &cookie, &session.csrf, None).await;
                    assert_eq!(status, StatusCode::OK);
                    times.lock().unwrap().snippet.push(ms);
                }
                if n.is_multiple_of(2) {
                    pause(think_ms, r, n + 3).await;
                    let (status, _, ms) = call(&state, Method::GET, &format!("/charts/{id}/pages/1/image"), &cookie, &session.csrf, None).await;
                    assert_eq!(status, StatusCode::OK);
                    times.lock().unwrap().page.push(ms);
                }
                pause(think_ms, r, n + 5).await;
                if n % 8 == 2 {
                    // Approved as shown: the record is committed (a new patient: every chart's
                    // values are its own).
                    let body = serde_json::json!({"version": chart["version"]}).to_string();
                    let (status, _, ms) = call(&state, Method::POST, &format!("/api/charts/{id}/approve"), &cookie, &session.csrf, Some(body)).await;
                    times.lock().unwrap().write(status, ms, |t| &mut t.approve);
                } else if n.is_multiple_of(4) {
                    let body = serde_json::json!({"value": "012345678", "version": chart["version"]}).to_string();
                    let (status, _, ms) = call(&state, Method::PUT, &format!("/api/charts/{id}/fields/phone"), &cookie, &session.csrf, Some(body)).await;
                    times.lock().unwrap().write(status, ms, |t| &mut t.edit);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut t = std::mem::take(&mut *times.lock().unwrap());
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let pace = if think_ms > 0 { format!(", pausing {}-{} ms between requests", think_ms / 2, think_ms * 3 / 2) } else { String::new() };
    println!("{backend}, {charts} charts, {reviewers} reviewers{pace}, {seconds} s (server time per request, ms)");
    println!("{:<10} {:>8} {:>8} {:>8} {:>8}", "endpoint", "requests", "p50", "p95", "p99");
    for (name, v) in [
        ("queue", &mut t.queue),
        ("chart", &mut t.chart),
        ("snippet", &mut t.snippet),
        ("page", &mut t.page),
        ("edit", &mut t.edit),
        ("approve", &mut t.approve),
    ] {
        let n = v.len();
        println!("{name:<10} {n:>8} {:>8.1} {:>8.1} {:>8.1}", pct(v, 0.5), pct(v, 0.95), pct(v, 0.99));
    }
    println!("edits refused (409: stale version or held by another reviewer): {}", t.conflicts);
    let _ = std::fs::remove_dir_all(&data);
}
