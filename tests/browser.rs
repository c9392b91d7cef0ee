//! The review UI in a real browser (Debian's headless Chromium through chromedriver):
//! a reviewer signs in, opens the least confident chart from the queue with the keyboard,
//! corrects a field with Enter and approves with Ctrl+Enter. Screenshots are written to
//! `CHARTSCAN_SCREENSHOTS` when it is set, so a person can look at the pages.

mod common;

use common::{Killed, Workspace};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Browser {
    base: String,
    session: String,
    _driver: Killed,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(std::path::Path::new(bin).exists(), "{bin} is missing: ./dev test installs chromium and chromium-driver");
        }
        let port = free_port();
        let driver = Killed(Command::new("/usr/bin/chromedriver").arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1366,768",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}});
        let reply: Value = ureq::post(&format!("{base}/session")).send_json(caps).expect("a browser session").into_json().unwrap();
        let session = reply["value"]["sessionId"].as_str().expect("session id").to_string();
        Browser { base, session, _driver: driver, _profile: profile }
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let res = match method {
            "GET" => ureq::get(&url).call(),
            "DELETE" => ureq::delete(&url).call(),
            _ => ureq::post(&url).send_json(body),
        };
        match res {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, r)) => panic!("webdriver {method} {path}: {code} {}", r.into_string().unwrap_or_default()),
            Err(e) => panic!("webdriver {method} {path}: {e}"),
        }
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url}));
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.cmd("POST", "/elements", json!({"using": "css selector", "value": css}));
        v.as_array().unwrap().iter().map(|e| e[ELEMENT].as_str().unwrap().to_string()).collect()
    }

    fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.find_all(css).into_iter().next() {
                return e;
            }
            assert!(Instant::now() < deadline, "{css} never appeared on {}", self.url());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null).as_str().unwrap().to_string()
    }

    fn keys(&self, element: &str, text: &str) {
        self.cmd("POST", &format!("/element/{element}/value"), json!({"text": text}));
    }

    fn text(&self, element: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/text"), Value::Null).as_str().unwrap_or("").to_string()
    }

    fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", json!({"script": js, "args": []}))
    }

    /// Signs in on the login page as `user` (Enter in the password field), then waits for
    /// the queue page.
    fn sign_in(&self, app: &str, user: &str, password: &str) {
        self.go(&format!("{app}/login"));
        let name = self.wait_for("input[name=username]");
        self.keys(&name, user);
        let pass = self.wait_for("input[name=password]");
        self.keys(&pass, &format!("{password}\u{E007}"));
        self.wait_for("#queue");
    }

    fn click(&self, element: &str) {
        self.cmd("POST", &format!("/element/{element}/click"), json!({}));
    }

    /// A browser signed in as the reviewer `dara` (password `mango-lantern-river-41`), on the queue.
    fn signed_in(app: &str) -> Browser {
        let b = Browser::start();
        b.sign_in(app, "dara", "mango-lantern-river-41");
        b.wait_for("#queue tbody tr");
        b
    }

    /// Saves a screenshot to `CHARTSCAN_SCREENSHOTS` (default `target/screenshots`).
    fn screenshot(&self, name: &str) {
        let dir = std::env::var("CHARTSCAN_SCREENSHOTS").unwrap_or_else(|_| common::root().join("target/screenshots").display().to_string());
        let b64 = self.cmd("GET", "/screenshot", Value::Null);
        let png = decode_base64(b64.as_str().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let table = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).map(table).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |acc, (i, v)| acc | (*v as u32) << (18 - 6 * i));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(c.len() - 1)
        })
        .collect()
}

#[test]
fn reviewer_corrects_and_approves_with_the_keyboard() {
    let ws = Workspace::new();
    let dir = ws.samples(&["SR01/ipd-0002.png", "SR01/opd-0008.tif", "SR01/anc-0005.pdf", "SR01/opd-0026.png"]);
    let (code, report) = ws.json(&["ingest", dir.to_str().unwrap(), "--facility", "SR01", "--json"]);
    assert_eq!(code, 0, "{report}");
    ws.add_user("dara", "reviewer", "mango-lantern-river-41");
    let (_server, app) = ws.serve();

    let b = Browser::start();
    b.go(&format!("{app}/"));
    assert!(b.url().contains("/login"), "signed-out users land on the login page: {}", b.url());
    let user = b.wait_for("input[name=username]");
    b.keys(&user, "dara");
    let pass = b.wait_for("input[name=password]");
    b.keys(&pass, "mango-lantern-river-41\u{E007}");
    b.wait_for("#queue tbody tr");
    b.screenshot("queue");
    let rows = b.find_all("#queue tbody tr");
    assert_eq!(rows.len(), 4, "all four SR01 charts wait for review");
    // The first row has focus: Enter opens it.
    let focused = b.script("return document.activeElement.tagName");
    assert_eq!(focused, "TR");
    b.keys(&rows[0], "\u{E007}");
    let phone = b.wait_for("#f-phone");
    b.wait_for("rect.box");
    std::thread::sleep(Duration::from_millis(800));
    b.screenshot("review");
    // A 1366x768 clinic screen shows the page, the first field and the approve button at once.
    let fits = b.script("const r = (s) => document.querySelector(s).getBoundingClientRect(); const ok = (e) => e.top >= 0 && e.bottom <= window.innerHeight && e.left >= 0 && e.right <= window.innerWidth; return [window.innerWidth, ok(r('#approve')), ok(r('#fields input')), r('#pages img').width > 500]");
    assert_eq!(fits.as_array().unwrap()[1..], [json!(true), json!(true), json!(true)], "at {}px wide", fits[0]);
    // The boxes lie on the page image: the svg covers the image exactly.
    let cover = b.script("const i = document.querySelector('#pages img').getBoundingClientRect(); const s = document.querySelector('#pages svg').getBoundingClientRect(); return Math.abs(i.top - s.top) + Math.abs(i.height - s.height) + Math.abs(i.width - s.width)");
    assert!(cover.as_f64().unwrap() < 2.0, "the boxes are drawn {cover} px off the page");
    // Each field's box is drawn where its value is, as tall as the value.
    let tallest = b.script("return Math.max(...[...document.querySelectorAll('rect.box')].map(r => r.getBoundingClientRect().height / document.querySelector('#pages img').getBoundingClientRect().height * Number(document.querySelector('#pages img').getAttribute('height'))))");
    assert!(tallest.as_f64().unwrap() < 200.0, "a field box is drawn {tallest} page pixels tall");
    let chart_url = b.url();
    let chart_id = chart_url.rsplit('/').next().unwrap().to_string();
    // Auto-accepted fields are folded away; F3 shows them. Every field's image is cut on the
    // server and shown beside it.
    let first = b.wait_for("#fields input");
    b.keys(&first, "\u{E033}");
    std::thread::sleep(Duration::from_millis(800));
    let open = b.script("return !document.querySelector('details.certain') || document.querySelector('details.certain').open");
    assert_eq!(open, json!(true), "F3 shows the auto-accepted fields");
    let crops = b.script("return [...document.querySelectorAll('img.crop')].filter(c => c.complete && c.naturalWidth > 0).length");
    assert!(crops.as_u64().unwrap() >= 10, "field snippets shown: {crops}");
    b.screenshot("review-all-fields");
    // Alt+= zooms the page (twice: 156%), keeping the current field's box in view.
    let active = b.wait_for("#fields input");
    b.keys(&active, "\u{E00A}=\u{E00A}\u{E00A}=\u{E00A}");
    let width = b.script("return document.querySelector('#pages').getBoundingClientRect().width / document.querySelector('#page-panel').clientWidth");
    assert!(width.as_f64().unwrap() > 1.4, "zoomed: {width}");
    b.keys(&active, "\u{E00A}0\u{E00A}");
    // The chart is claimed: it is this reviewer's until approved.
    let claimed = b.script("return fetch('/api/queue').then(r => r.json()).then(q => q.length)");
    assert_eq!(claimed, json!(4), "the reviewer still sees the chart they hold");
    // Correct the phone: select all, type, Enter saves and moves on.
    b.cmd("POST", &format!("/element/{phone}/clear"), json!({}));
    b.keys(&phone, "+855 12 999 888\u{E007}");
    let status = b.wait_for("#status");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.text(&status).contains("in_review") {
        if Instant::now() > deadline {
            b.screenshot("edit-not-saved");
            panic!("the edit was not saved: {} (see target/screenshots/edit-not-saved.png)", b.text(&status));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let value = b.script("return document.querySelector('#f-phone').value");
    assert_eq!(value, "012999888", "the canonical value is shown after saving");
    // Ctrl+Enter approves and moves to the next chart.
    let active = b.wait_for("#fields input");
    b.keys(&active, "\u{E009}\u{E007}\u{E000}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.url() == chart_url {
        assert!(Instant::now() < deadline, "approving did not move on");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(b);

    let out = ws.run(&["export", "--format", "jsonl"]);
    let exported: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["chart"], chart_id.as_str());
    assert_eq!(exported[0]["fields"]["phone"]["value"], "012999888");
}

/// A chart whose OCR text is markup, written straight into the workspace's store as the
/// pipeline would (OCR cannot be relied on to read `<img src=x onerror=...>` verbatim).
fn chart_with_markup_in_its_text(ws: &Workspace, payload: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = format!("sqlite://{}/db/chartscan.db", ws.path().display());
        std::fs::create_dir_all(ws.path().join("db")).unwrap();
        let store = store::Store::open(&db).await.unwrap();
        let blobs = store::blobs::BlobStore::new(ws.path().join("data")).unwrap();
        let page = std::fs::read(common::root().join("samples/charts/PP01/opd-0001.jpg")).unwrap();
        let sha = store::blobs::sha256_hex(&page);
        blobs.put(store::blobs::BlobKind::Page, &sha, &page).unwrap();
        store
            .record_file(&store::NewFile {
                sha256: "cd".repeat(32),
                original_name: "evil.jpg".into(),
                source_path: "/scans/evil.jpg".into(),
                media_type: "image/jpeg".into(),
                size_bytes: page.len() as i64,
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
        let diagnosis = format!("Diagnosis: {payload}");
        let lines = ["OUTPATIENT CONSULTATION CARD", "Patient ID: 004512", &diagnosis, "Doctor: <b>bold</b>"];
        let result = store::PageResult { image_sha256: sha, width: 1748, height: 2480, skew: 0.0, words: chart::PageWords::typeset(1, 1748, 2480, &lines) };
        store.complete_page(job.page_id, &result).await.unwrap();
        job.chart
    })
}

#[test]
fn ocr_text_that_looks_like_markup_shows_as_text() {
    let ws = Workspace::new();
    let payload = "<img src=x onerror=alert(1)>";
    let id = chart_with_markup_in_its_text(&ws, payload);
    ws.add_user("dara", "reviewer", "mango-lantern-river-41");
    let (_server, app) = ws.serve();
    let b = Browser::signed_in(&app);
    b.go(&format!("{app}/charts/{id}"));
    b.wait_for("#f-diagnosis");
    std::thread::sleep(Duration::from_millis(500));
    b.screenshot("markup-as-text");
    // The value and what OCR read show exactly the text; nothing became an element and no
    // script ran (an open alert would fail every later WebDriver command).
    assert_eq!(b.script("return document.querySelector('#f-diagnosis').value"), json!(payload));
    let shown = b.script("return [...document.querySelectorAll('.raw')].map(e => e.textContent).join('|')");
    assert!(shown.as_str().unwrap().contains(&format!("read: {payload}")), "{shown}");
    assert_eq!(b.script("return document.querySelectorAll('img[src=\"x\"], b, script:not([src])').length"), json!(0));
    assert_eq!(b.script("return document.title"), json!("chartscan — review"));
    // The interface switches to Khmer for this reviewer, and stays so.
    let toggle = b.wait_for("#lang");
    b.cmd("POST", &format!("/element/{toggle}/click"), json!({}));
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.script("return document.documentElement.lang") != json!("km") {
        assert!(Instant::now() < deadline, "the page did not switch to Khmer");
        std::thread::sleep(Duration::from_millis(100));
    }
    b.wait_for("#f-diagnosis");
    assert_eq!(b.script("return document.querySelector('header nav a').textContent"), json!("បញ្ជីរង់ចាំ"));
    assert_eq!(b.script("return document.querySelector('label[for=f-phone]').textContent"), json!("ទូរស័ព្ទ"));
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot("review-khmer");
}

/// Two outpatient charts of one woman, written straight into the store: the first approved
/// with her date of birth, the second waiting for review with only her age, so that matching
/// must ask. Returns (the stored patient, the second chart).
fn a_patient_to_choose(ws: &Workspace) -> (String, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        std::fs::create_dir_all(ws.path().join("db")).unwrap();
        let store = store::Store::open(&format!("sqlite://{}/db/chartscan.db", ws.path().display())).await.unwrap();
        let blobs = store::blobs::BlobStore::new(ws.path().join("data")).unwrap();
        let page = std::fs::read(common::root().join("samples/charts/PP01/opd-0001.jpg")).unwrap();
        let sha = store::blobs::sha256_hex(&page);
        blobs.put(store::blobs::BlobKind::Page, &sha, &page).unwrap();
        let mut ids = Vec::new();
        for (n, fields) in [
            &[("name_khmer", "សុខ សុភាព"), ("name_latin", "SOK Sopheap"), ("sex", "F"), ("date_of_birth", "1990-03-04"), ("visit_date", "2024-01-10")][..],
            &[("name_latin", "Sopheap SOK"), ("sex", "F"), ("age", "34"), ("visit_date", "2024-11-25")][..],
        ]
        .iter()
        .enumerate()
        {
            let file = store::NewFile {
                sha256: format!("{n}").repeat(64),
                original_name: format!("card{n}.jpg"),
                source_path: format!("/scans/card{n}.jpg"),
                media_type: "image/jpeg".into(),
                size_bytes: page.len() as i64,
                page_count: 1,
                facility: "PP01".into(),
                batch: "b".into(),
                box_label: None,
                operator: None,
                segments: vec![],
            };
            store.record_file(&file).await.unwrap();
            let job = store.claim_page("w", 60_000, 3).await.unwrap().unwrap();
            let result = store::PageResult {
                image_sha256: sha.clone(),
                width: 1748,
                height: 2480,
                skew: 0.0,
                words: chart::PageWords::typeset(1, 1748, 2480, &["OUTPATIENT CONSULTATION CARD"]),
            };
            store.complete_page(job.page_id, &result).await.unwrap();
            let mut v = store.chart(&job.chart).await.unwrap().version;
            for (name, value) in fields.iter() {
                v = store.update_field(&job.chart, name, Some(&(*value).into()), v, "setup").await.unwrap().version;
            }
            if n == 0 {
                store.approve(&job.chart, v, "setup").await.unwrap();
            }
            ids.push(job.chart);
        }
        let patient = store.committed_chart(&ids[0]).await.unwrap().unwrap().patient.public_id;
        (patient, ids[1].clone())
    })
}

#[test]
fn the_reviewer_says_who_an_uncertain_patient_is_with_the_keyboard() {
    let ws = Workspace::new();
    let (patient, id) = a_patient_to_choose(&ws);
    ws.add_user("dara", "reviewer", "mango-lantern-river-41");
    let (_server, app) = ws.serve();
    let b = Browser::signed_in(&app);
    b.go(&format!("{app}/charts/{id}"));
    let first = b.wait_for("#fields input");
    std::thread::sleep(Duration::from_millis(300));
    // Before approval, the page says what matching thinks.
    let said = b.wait_for("#patient-match");
    assert!(b.text(&said).contains("possibly one of 1 stored patients"), "{}", b.text(&said));
    // Ctrl+Enter: matching is unsure, so the page asks instead of approving.
    b.keys(&first, "\u{E009}\u{E007}\u{E000}");
    b.wait_for("#patient-choice li");
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot("patient-choice");
    let shown = b.script("return document.querySelector('#patient-choice').textContent");
    let shown = shown.as_str().unwrap();
    assert!(shown.contains(&patient) && shown.contains("SOK Sopheap") && shown.contains("1990-03-04"), "{shown}");
    let fits = b.script("const r = document.querySelector('#patient-choice').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight");
    assert_eq!(fits, json!(true), "the choice is on screen at 1366x768");
    // 1: the same patient as the first candidate. The chart is approved and filed under her.
    let focused = b.script("return document.activeElement.getAttribute('data-patient')");
    assert_eq!(focused, json!(patient), "the best candidate has the focus");
    let button = b.wait_for("#patient-choice button");
    b.keys(&button, "1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.url().ends_with(&id) {
        assert!(Instant::now() < deadline, "choosing did not approve and move on");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(b);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let filed = runtime.block_on(async {
        let store = store::Store::open(&format!("sqlite://{}/db/chartscan.db", ws.path().display())).await.unwrap();
        store.committed_chart(&id).await.unwrap().map(|c| c.patient.public_id)
    });
    assert_eq!(filed, Some(patient));
}

#[test]
fn the_reviewer_edits_a_visit_table_and_picks_a_place_from_the_gazetteer() {
    let ws = Workspace::new();
    let dir = ws.samples(&["SR01/anc-0005.pdf"]);
    let (code, report) = ws.json(&["ingest", dir.to_str().unwrap(), "--facility", "SR01", "--json"]);
    assert_eq!(code, 0, "{report}");
    ws.add_user("dara", "reviewer", "mango-lantern-river-41");
    let (_server, app) = ws.serve();
    let b = Browser::signed_in(&app);
    let row = b.wait_for("#queue tbody tr");
    b.keys(&row, "\u{E007}");
    b.wait_for("table.rows input");
    std::thread::sleep(Duration::from_millis(500));
    let id = b.url().rsplit('/').next().unwrap().to_string();
    // The visits are a grid: one row per visit read, one empty row to add a visit.
    let grid =
        b.script("const t = document.querySelector('table.rows'); return [t.querySelectorAll('thead th').length, t.querySelectorAll('tbody tr').length]");
    let (columns, rows) = (grid[0].as_u64().unwrap(), grid[1].as_u64().unwrap());
    assert_eq!(columns, 8, "the template's eight visit columns");
    assert!(rows >= 2, "at least one visit read and the empty row: {rows}");
    // Type a new visit into the empty row: Tab moves cell by cell without leaving the table.
    let cells = b.find_all("table.rows tbody tr:last-child input");
    let new_row = rows - 1;
    b.script("const i = document.querySelector('table.rows tbody tr:last-child input'); i.scrollIntoView({block: 'center'}); i.focus(); return 0");
    b.keys(&cells[0], &format!("{}\u{E004}2025-12-01\u{E004}", new_row + 1));
    let focused = b.script("return [document.activeElement.dataset.row, document.activeElement.dataset.col]");
    assert_eq!(focused, json!([new_row.to_string(), "gestational_age_weeks"]), "Tab went to the next cell");
    b.screenshot("review-table");
    // Enter on the row's last cell leaves the table and saves it whole.
    let hb = b.wait_for("table.rows tbody tr:last-child input[data-col=hemoglobin_g_dl]");
    b.keys(&hb, "11.2");
    let last = b.find_all("table.rows tbody tr:last-child input").pop().unwrap();
    b.keys(&last, "\u{E007}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let saved = loop {
        let v = b.script(&format!("return fetch('/api/charts/{id}').then(r => r.json()).then(c => c.fields.visits.value)"));
        if v.as_array().is_some_and(|r| r.len() as u64 == rows) {
            break v;
        }
        if Instant::now() > deadline {
            b.screenshot("table-not-saved");
            panic!("the new visit was not saved: {v}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let added = &saved[new_row as usize];
    assert_eq!(
        (added["visit_number"].as_str(), added["date"].as_str(), added["hemoglobin_g_dl"].as_str()),
        (Some(&*(new_row + 1).to_string()), Some("2025-12-01"), Some("11.2")),
        "{saved}"
    );
    // Places come from the gazetteer as the reviewer types, narrowed to the chart's province.
    let district = b.wait_for("#f-district");
    b.script("const d = document.querySelector('details.certain'); if (d) d.open = true; return 0");
    b.cmd("POST", &format!("/element/{district}/clear"), json!({}));
    b.keys(&district, "Tre");
    let deadline = Instant::now() + Duration::from_secs(10);
    let offered = loop {
        let v = b.script("return [...document.querySelectorAll('#dl-district option')].map(o => o.value)");
        if v.as_array().is_some_and(|o| !o.is_empty()) {
            break v;
        }
        assert!(Instant::now() < deadline, "no place was suggested");
        std::thread::sleep(Duration::from_millis(200));
    };
    let offered: Vec<&str> = offered.as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(offered.contains(&"Treang"), "Treang (Takeo) is offered: {offered:?}");
    assert!(offered.iter().all(|p| p.starts_with("Tr")), "only places that begin as typed: {offered:?}");
}

/// The id of the first word box of the studio's page whose text matches `pattern` (a JS
/// regular expression), as a WebDriver element.
fn studio_word(b: &Browser, pattern: &str) -> String {
    let i = b.script(&format!("const w = [...document.querySelectorAll('#page .w')].find((e) => /{pattern}/.test(e.title)); return w ? w.dataset.i : null"));
    let i = i.as_str().unwrap_or_else(|| panic!("no word matching /{pattern}/ on the studio's page"));
    b.wait_for(&format!("#page .w[data-i=\"{i}\"]"))
}

#[test]
fn a_manager_teaches_a_form_in_the_studio_with_three_actions_per_field() {
    let ws = Workspace::new();
    let dir = ws.samples(&["SR01/opd-0026.png", "SR01/opd-0017.pdf", "SR01/opd-0035.png"]);
    let (code, report) = ws.json(&["ingest", dir.to_str().unwrap(), "--facility", "SR01", "--json"]);
    assert_eq!(code, 0, "{report}");
    ws.add_user("mona", "manager", "mango-lantern-river-41");
    let (_server, app) = ws.serve();
    let b = Browser::start();
    b.sign_in(&app, "mona", "mango-lantern-river-41");
    b.go(&format!("{app}/studio"));
    b.wait_for("#chart option");
    // The example: the card whose patient number is 297980.
    let example = b.script("return [...document.querySelectorAll('#chart option')].find((o) => o.text.includes('opd-0026')).value");
    b.go(&format!("{app}/studio?chart={}", example.as_str().unwrap()));
    b.wait_for("#page .w");
    std::thread::sleep(Duration::from_millis(500));
    // Each field: click its label, click its value, Enter.
    for (field, label, value) in [("patient_id", "^No:?$", "^297980$"), ("phone", "^number:?$", "^\\+855$"), ("diagnosis", "^Diagnosis:?$", "^Acute$")] {
        b.script(&format!("const s = document.querySelector('#field'); s.value = '{field}'; s.dispatchEvent(new Event('change'));"));
        let l = studio_word(&b, label);
        b.cmd("POST", &format!("/element/{l}/click"), json!({}));
        let v = studio_word(&b, value);
        b.cmd("POST", &format!("/element/{v}/click"), json!({}));
        let active = b.script("return document.activeElement");
        let active = active[ELEMENT].as_str().unwrap().to_string();
        b.keys(&active, "\u{E007}");
        assert!(b.text(&b.wait_for("#taught tbody")).contains(field), "{field} taught");
    }
    b.script("window.scrollTo(0, 0)");
    std::thread::sleep(Duration::from_millis(200));
    b.screenshot("studio");
    let taught = b.find_all("#taught tbody tr");
    assert_eq!(taught.len(), 3);
    // Try it on the facility's other charts, then save with Ctrl+Enter.
    let try_button = b.wait_for("#try");
    b.cmd("POST", &format!("/element/{try_button}/click"), json!({}));
    b.wait_for("#tried tbody tr.summary");
    b.script("document.querySelector('#try-result').scrollIntoView()");
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot("studio-try");
    let tried = b.text(&b.wait_for("#tried"));
    assert!(tried.contains("patient_id") && tried.contains("/2"), "the two other SR01 charts are tried: {tried}");
    let active = b.script("return document.activeElement");
    b.keys(active[ELEMENT].as_str().unwrap(), "\u{E009}\u{E007}\u{E009}");
    let saved = b.wait_for("#saved:not([hidden])");
    assert!(b.text(&saved).contains("opd v1"), "{}", b.text(&saved));
    // It is stored, as the facility's variant, and audited.
    let list = String::from_utf8(ws.run(&["templates", "list"]).stdout).unwrap();
    assert!(list.contains("[facility SR01]") && list.contains("v1"), "{list}");

    // A form of two pages: on page 2 of another card, the doctor (label, value, Enter) and the
    // lab results table, by the header of each column (a click each, then Enter).
    let example = b.script("return [...document.querySelectorAll('#chart option')].find((o) => o.text.includes('opd-0017')).value");
    b.go(&format!("{app}/studio?chart={}", example.as_str().unwrap()));
    b.wait_for("#page .w");
    let body = b.wait_for("body");
    b.keys(&body, "\u{E00F}"); // PageDown
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.text(&b.wait_for("#page-no")).contains("2 /") {
        assert!(Instant::now() < deadline, "PageDown did not turn to page 2");
        std::thread::sleep(Duration::from_millis(100));
    }
    b.wait_for("#page .w");
    std::thread::sleep(Duration::from_millis(500));
    let enter = |b: &Browser| {
        let active = b.script("return document.activeElement");
        b.keys(active[ELEMENT].as_str().unwrap(), "\u{E007}");
    };
    let click = |b: &Browser, pattern: &str| {
        let w = studio_word(b, pattern);
        b.cmd("POST", &format!("/element/{w}/click"), json!({}));
    };
    b.script("const s = document.querySelector('#field'); s.value = 'doctor'; s.dispatchEvent(new Event('change'));");
    click(&b, "ysician");
    click(&b, "^Dr\\.?$");
    enter(&b);
    b.script("const s = document.querySelector('#field'); s.value = 'lab_results'; s.dispatchEvent(new Event('change'));");
    assert!(b.text(&b.wait_for("#step")).contains("column test"), "{}", b.text(&b.wait_for("#step")));
    for header in ["^Examination$", "^Value$", "^Units$"] {
        click(&b, header);
    }
    enter(&b);
    let taught = b.text(&b.wait_for("#taught tbody"));
    assert!(taught.contains("lab_results (table) · p.2") && taught.contains("Examination | Value | Units"), "{taught}");
    assert!(taught.contains("doctor (") && taught.contains("p.2"), "{taught}");
    b.script(
        "const w = [...document.querySelectorAll('#page .w')].find((e) => /Examination/.test(e.title)); \
         document.querySelector('#page-wrap').scrollTop = w.offsetTop - 250; window.scrollTo(0, 120); return 0",
    );
    std::thread::sleep(Duration::from_millis(200));
    b.screenshot("studio-table");
    let active = b.script("return document.activeElement");
    b.keys(active[ELEMENT].as_str().unwrap(), "\u{E009}\u{E007}\u{E009}");
    let saved = b.wait_for("#saved:not([hidden])");
    assert!(b.text(&saved).contains("opd v2"), "{}", b.text(&saved));
    // The saved version reads the table by its headers, the doctor on page 2.
    let out = ws.path().join("templates-out");
    let code = ws.run(&["templates", "export", out.to_str().unwrap()]).status.code();
    assert_eq!(code, Some(0));
    let toml = std::fs::read_to_string(out.join("opd-SR01.toml")).unwrap();
    let template: chart::Template = toml::from_str(&toml).unwrap();
    let doctor = template.field("doctor").expect("doctor taught");
    assert_eq!(doctor.page, Some(2), "{toml}");
    let table = template.field("lab_results").expect("table taught");
    let headers: Vec<(&str, &[String], bool)> = table.columns.iter().map(|c| (c.name.as_str(), c.labels.as_slice(), c.key)).collect();
    assert_eq!(
        headers,
        [("test", &["Examination".to_string()][..], true), ("value", &["Value".to_string()][..], false), ("unit", &["Units".to_string()][..], false)],
        "{toml}"
    );
    // And it reads that table back from the example's own words.
    let id = example.as_str().unwrap();
    let pages = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = store::Store::open(&format!("sqlite://{}/db/chartscan.db", ws.path().display())).await.unwrap();
        store.chart_words(id).await.unwrap()
    });
    let e = chart::extract::extract_with(&template, &pages);
    let rows = e.fields["lab_results"].value.as_ref().and_then(|v| v.rows()).map_or(0, <[chart::Row]>::len);
    assert_eq!(rows, 6, "{:?}", e.fields.get("lab_results"));
}

/// A workspace whose store holds a synthetic programme's history (4 facilities, 3,000 charts
/// over 120 days; `store::synthetic::seed_programme`).
fn programme_workspace() -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("db")).unwrap();
    let url = format!("sqlite://{}/db/chartscan.db", ws.path().display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        store::Store::open(&url).await.unwrap().close().await;
        store::synthetic::seed_programme(&url, 3000, 4, 120).await.unwrap();
    });
    ws
}

/// Fetches a URL of the station from inside the signed-in browser.
fn fetch_text(b: &Browser, path: &str) -> String {
    let js = format!("const x = new XMLHttpRequest(); x.open('GET', '{path}', false); x.send(); return x.status + ' ' + x.responseText;");
    b.script(&js).as_str().unwrap().to_string()
}

#[test]
fn a_manager_follows_the_programme_on_the_dashboard_in_english_and_khmer() {
    let ws = programme_workspace();
    ws.add_user("mona", "manager", "mango-lantern-river-41");
    let (_server, app) = ws.serve();
    let b = Browser::start();
    b.cmd("POST", "/window/rect", json!({"width": 1366, "height": 1400}));
    b.sign_in(&app, "mona", "mango-lantern-river-41");
    b.go(&format!("{app}/dashboard"));
    b.wait_for("#programme tbody tr.total");
    // Every facility by name, with its target, boxes and a forecast date.
    let table = b.text(&b.wait_for("#programme"));
    for k in 1..=4 {
        assert!(table.contains(&format!("Facility 0{k} Referral Hospital")), "{table}");
    }
    let rows = b.find_all("#programme tbody tr");
    assert_eq!(rows.len(), 5, "four facilities and the total");
    let first = b.text(&rows[0]);
    assert!(first.contains("F01") && first.contains("1125") && first.contains(" · "), "target 1,125 and boxes: {first}");
    assert!(first.chars().filter(|c| *c == '-').count() >= 6, "a forecast finish and its range (YYYY-MM-DD): {first}");
    // The plots are drawn and carry the data: every image loaded, the SVGs have their lines.
    let deadline = Instant::now() + Duration::from_secs(20);
    while b.script("return [...document.querySelectorAll('img.plot, #burnups img')].every((i) => i.complete && i.naturalWidth > 0)") != json!(true) {
        assert!(Instant::now() < deadline, "the plots did not load");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(b.find_all("#burnups img").len(), 4);
    let burnup = fetch_text(&b, "/api/plots/burnup.svg?facility=F02");
    assert!(burnup.starts_with("200 ") && burnup.contains("<polyline") && burnup.contains("Facility 02"), "{}", &burnup[..burnup.len().min(300)]);
    let throughput = fetch_text(&b, "/api/plots/throughput.svg");
    assert!(throughput.matches("<polyline").count() >= 4, "four stages drawn");
    let csv = fetch_text(&b, "/api/plots/throughput.csv");
    let days: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(days.len(), 60, "the last 60 days");
    let scanned: i64 = days.iter().map(|l| l.split(',').nth(1).unwrap().parse::<i64>().unwrap()).sum();
    assert!(scanned > 500, "the last 60 days of a rising pace hold most charts: {scanned}");
    assert!(b.find_all("#throughput tbody tr").len() == 60 && b.find_all("#people tbody tr").len() == 6 && b.find_all("#operators tbody tr").len() == 5);
    assert!(b.text(&b.wait_for("#reasons")).contains("illegible scan"));
    b.script("window.scrollTo(0, 0)");
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot("dashboard");
    // The box reconciliation: boxes that hold 96 by the inventory but were scanned with 100
    // charts are flagged; the filter keeps only those.
    b.script("document.querySelector('#boxes-block').scrollIntoView()");
    let flagged = b.wait_for("#box-flagged");
    b.click(&flagged);
    std::thread::sleep(Duration::from_millis(500));
    let boxes = b.find_all("#boxes tbody tr.flag");
    assert!(!boxes.is_empty() && boxes.len() == b.find_all("#boxes tbody tr").len(), "only flagged boxes");
    assert!(b.text(&boxes[0]).contains("too many"), "{}", b.text(&boxes[0]));
    b.click(&flagged);
    std::thread::sleep(Duration::from_millis(500));
    assert!(b.text(&b.wait_for("#boxes")).contains("not started"), "boxes not scanned yet are listed");
    b.script("document.querySelector('#boxes-block').scrollIntoView()");
    std::thread::sleep(Duration::from_millis(200));
    b.screenshot("dashboard-boxes");
    // In Khmer: the page, the names and the plots.
    b.script("window.scrollTo(0, 0)");
    let lang = b.wait_for("#lang");
    b.click(&lang);
    std::thread::sleep(Duration::from_millis(800));
    b.wait_for("#programme tbody tr.total");
    assert_eq!(b.text(&b.wait_for("main h1")), "កម្មវិធីឌីជីថលូបនីយកម្ម");
    assert!(b.text(&b.wait_for("#programme")).contains("មន្ទីរពេទ្យ ០១"), "Khmer facility names");
    assert!(fetch_text(&b, "/api/plots/throughput.svg").contains("បានស្កេន"), "the plots speak Khmer too");
    std::thread::sleep(Duration::from_millis(500));
    b.screenshot("dashboard-km");
    // The monthly report, printed on A4.
    let month = b.script("return document.querySelector('#report-link').getAttribute('href')").as_str().unwrap().to_string();
    b.go(&format!("{app}{month}"));
    let h1 = b.text(&b.wait_for("h1"));
    assert!(h1.contains("របាយការណ៍ប្រចាំខែ"), "{h1}");
    assert!(b.find_all("svg").len() >= 9, "four burn-ups and five plots");
    b.cmd("POST", "/goog/cdp/execute", json!({"cmd": "Emulation.setEmulatedMedia", "params": {"media": "print"}}));
    b.cmd("POST", "/window/rect", json!({"width": 794, "height": 1123}));
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot("report-print");
    let pdf = decode_base64(b.cmd("POST", "/print", json!({"page": {"width": 21.0, "height": 29.7}, "background": true})).as_str().unwrap());
    assert!(pdf.starts_with(b"%PDF") && pdf.len() > 20_000, "the report prints to an A4 PDF");
}
