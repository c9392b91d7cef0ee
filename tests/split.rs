//! Batch scans: one file holding several charts with separator sheets between them, and a
//! blank back page. With `--split-on separator` it becomes one chart per card; blank pages and
//! separator sheets are flagged, kept and not read; a reviewer can undo the split and the flag.

mod common;

use common::{root, Workspace};
use image::{GrayImage, Luma};
use serde_json::{json, Value};
use std::io::Cursor;

fn page(path: &str) -> GrayImage {
    image::open(root().join(path)).unwrap().to_luma8()
}

/// A blank sheet as a scanner sees it: grey paper, a few specks.
fn blank_page() -> GrayImage {
    let mut img = GrayImage::from_pixel(1748, 2480, Luma([236]));
    for i in 0..3000u32 {
        img.put_pixel((i * 7919) % 1748, (i * 104_729) % 2480, Luma([90]));
    }
    img
}

fn multipage_tiff(pages: &[GrayImage]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap().with_compression(tiff::encoder::Compression::Lzw);
    for p in pages {
        enc.write_image::<tiff::encoder::colortype::Gray8>(p.width(), p.height(), p.as_raw()).unwrap();
    }
    out.into_inner()
}

fn truth(file: &str) -> Value {
    store::evaluate::truth_files(&root().join("samples/truth")).unwrap().remove(file).unwrap_or_else(|| panic!("no truth for {file}"))
}

#[test]
fn batch_scan_is_split_at_separator_sheets_and_the_split_can_be_undone() {
    let ws = Workspace::new();
    let batch = ws.path().join("box-7.tif");
    std::fs::write(
        &batch,
        multipage_tiff(&[page("samples/charts/SR01/ipd-0002.png"), blank_page(), page("samples/separator.png"), page("samples/charts/BB01/opd-0006.png")]),
    )
    .unwrap();

    let (code, report) = ws.json(&["ingest", batch.to_str().unwrap(), "--split-on", "separator", "--facility", "SR01", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        (report["files"].as_u64(), report["charts"].as_u64(), report["pages"].as_u64(), report["processed_pages"].as_u64()),
        (Some(1), Some(2), Some(4), Some(4))
    );
    let charts: Vec<Value> = String::from_utf8_lossy(&ws.run(&["export", "--format", "jsonl", "--status", "any"]).stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(charts.len(), 2);
    for (chart, card) in charts.iter().zip(["ipd-0002.png", "opd-0006.png"]) {
        assert_eq!(chart["fields"]["patient_id"]["value"], truth(card)["fields"]["patient_id"], "{card}");
        assert_eq!(chart["sources"].as_array().unwrap().len(), 2);
    }

    // The reviewer sees the flags and the cut, and undoes both.
    ws.add_user("vanna", "reviewer", "pomelo-anvil-harbour-3");
    let (_server, url) = ws.serve();
    let agent = ureq::AgentBuilder::new().build();
    agent.post(&format!("{url}/login")).send_form(&[("username", "vanna"), ("password", "pomelo-anvil-harbour-3")]).unwrap();
    let csrf = agent.get(&format!("{url}/api/session")).call().unwrap().into_json::<Value>().unwrap()["csrf"].as_str().unwrap().to_string();
    let get = |id: &str| agent.get(&format!("{url}/api/charts/{id}")).call().unwrap().into_json::<Value>().unwrap();
    let first_id = charts[0]["chart"].as_str().unwrap().to_string();
    let second_id = charts[1]["chart"].as_str().unwrap().to_string();
    let first = get(&first_id);
    let second = get(&second_id);
    assert_eq!((first["pages"][0]["flag"].clone(), first["pages"][1]["flag"].as_str()), (Value::Null, Some("blank")));
    assert_eq!(second["pages"][0]["flag"], "separator");
    assert_eq!(first["next_chart"], second_id.as_str());
    assert!(first["pages"][1]["image"].is_string(), "flagged pages are kept and shown");

    let merged: Value = agent
        .post(&format!("{url}/api/charts/{first_id}/merge-next"))
        .set("X-CSRF-Token", &csrf)
        .send_json(json!({"version": first["version"]}))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(merged["pages"].as_array().unwrap().len(), 4);
    assert_eq!(merged["next_chart"], Value::Null);
    assert!(matches!(agent.get(&format!("{url}/api/charts/{second_id}")).call(), Err(ureq::Error::Status(404, _))));

    let unflagged: Value = agent
        .post(&format!("{url}/api/charts/{first_id}/pages/2/flag"))
        .set("X-CSRF-Token", &csrf)
        .send_json(json!({"flag": null, "version": merged["version"]}))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(unflagged["status"], "ingested", "the chart waits for its page to be read");
    assert_eq!(unflagged["pages"][1]["status"], "queued");
    let worker = ws.run(&["worker", "--once", "--jobs", "1"]);
    assert!(worker.status.success(), "{}", String::from_utf8_lossy(&worker.stderr));
    let after = get(&first_id);
    assert_eq!(after["status"], "extracted");
    assert_eq!((after["pages"][1]["flag"].clone(), after["pages"][1]["status"].as_str()), (Value::Null, Some("done")));
    let stats = ws.json(&["stats", "--json"]).1;
    assert_eq!((stats["charts"]["total"].as_u64(), stats["pages"]["total"].as_u64()), (Some(1), Some(4)));
    let db = format!("sqlite://{}/db/chartscan.db", ws.path().display());
    let actions: Vec<String> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = store::Store::open(&db).await.unwrap();
        store.audit_entries(Some(&first_id)).await.unwrap().into_iter().map(|a| a.2).collect()
    });
    for needed in ["ingest", "merge", "flag_page", "extract"] {
        assert!(actions.iter().any(|a| a == needed), "audit lacks {needed}: {actions:?}");
    }
}

#[test]
fn without_splitting_a_batch_is_one_chart_with_flagged_pages() {
    let ws = Workspace::new();
    let batch = ws.path().join("scan.tif");
    std::fs::write(&batch, multipage_tiff(&[page("samples/charts/SR01/ipd-0002.png"), blank_page()])).unwrap();
    let (code, report) = ws.json(&["ingest", batch.to_str().unwrap(), "--no-process", "--json"]);
    assert_eq!(code, 0);
    assert_eq!((report["charts"].as_u64(), report["pages"].as_u64()), (Some(1), Some(2)));
}
