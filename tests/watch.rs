//! The watch folder with the real binary: files still being written or under temporary names
//! are not taken; complete files are committed and then moved; junk is set aside with its
//! reason; a killed watcher restarted on the same folder duplicates nothing.

mod common;

use common::{root, Killed, Workspace};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn start_watch(ws: &Workspace, inbox: &Path, done: &Path, rejected: &Path) -> Killed {
    let child = ws
        .cmd()
        .args(["watch", inbox.to_str().unwrap(), "--facility", "SR01", "--move-to", done.to_str().unwrap(), "--rejected-to", rejected.to_str().unwrap()])
        .args(["--settle", "1", "--interval", "0.2", "--no-process"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stats(ws: &Workspace) -> Value {
    ws.json(&["stats", "--json"]).1
}

#[test]
fn watch_folder_takes_complete_files_once_and_survives_a_restart() {
    let ws = Workspace::new();
    let (inbox, done, rejected) = (ws.path().join("inbox"), ws.path().join("done"), ws.path().join("rejected"));
    std::fs::create_dir_all(inbox.join("box1")).unwrap();
    let samples = root().join("samples/charts/SR01");
    let png = std::fs::read(samples.join("ipd-0002.png")).unwrap();
    let tif = std::fs::read(samples.join("opd-0008.tif")).unwrap();

    let watcher = start_watch(&ws, &inbox, &done, &rejected);
    // A scanner writing slowly: half the file, a pause shorter than the settle time, the rest.
    let slow = inbox.join("box1/slow.png");
    let mut f = std::fs::File::create(&slow).unwrap();
    f.write_all(&png[..png.len() / 2]).unwrap();
    f.flush().unwrap();
    // A copy in progress under a temporary name.
    std::fs::write(inbox.join("card.tif.part"), &tif[..1000]).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    f.write_all(&png[png.len() / 2..]).unwrap();
    drop(f);
    std::fs::write(inbox.join("card.tif.part"), &tif).unwrap();
    std::fs::rename(inbox.join("card.tif.part"), inbox.join("card.tif")).unwrap();
    std::fs::write(inbox.join("notes.txt"), "not a scan").unwrap();

    wait_until("both scans moved to done/", || done.join("box1/slow.png").exists() && done.join("card.tif").exists());
    wait_until("junk moved to rejected/", || rejected.join("notes.txt").exists());
    let reason = std::fs::read_to_string(rejected.join("notes.txt.reason.txt")).unwrap();
    assert!(reason.starts_with("unsupported file type"), "{reason}");
    assert_eq!(std::fs::read(done.join("box1/slow.png")).unwrap(), png, "the moved file is the whole file");
    let s = stats(&ws);
    assert_eq!(s["charts"]["total"], 2, "the half-written file was not taken: {s}");
    let exported = ws.run(&["export", "--format", "jsonl", "--status", "any"]);
    let shas: Vec<String> = String::from_utf8_lossy(&exported.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["sources"][0]["sha256"].as_str().unwrap().to_string())
        .collect();
    assert!(shas.contains(&store::blobs::sha256_hex(&png)), "the recorded content is the complete file");

    // Kill the watcher (no clean shutdown), drop the same scan again and a new one, restart.
    drop(watcher);
    std::fs::write(inbox.join("again.png"), &png).unwrap();
    std::fs::copy(samples.join("ipd-0011.png"), inbox.join("new.png")).unwrap();
    let _watcher = start_watch(&ws, &inbox, &done, &rejected);
    wait_until("inbox emptied after the restart", || !inbox.join("again.png").exists() && !inbox.join("new.png").exists());
    let s = stats(&ws);
    assert_eq!(s["charts"]["total"], 3, "the repeated scan is a duplicate, the new one a chart: {s}");
    assert!(done.join("again.png").exists() && done.join("new.png").exists());
}
