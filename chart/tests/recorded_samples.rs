//! Extraction on the recorded OCR words of the 40 sample charts (`samples/ocr/`, written by
//! `chartscan evaluate --save-words samples/ocr` after ingesting `samples/charts`), against
//! their ground truth (`samples/truth/`). No Tesseract: this is the extraction benchmark's
//! regression test. The end-to-end test (`tests/e2e.rs`) runs the same with live OCR.

use chart::eval::Report;
use std::path::Path;

#[test]
fn recorded_samples_meet_the_extraction_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let templates = chart::standard_templates();
    let mut report = Report::default();
    for facility in std::fs::read_dir(root.join("samples/truth")).unwrap() {
        for entry in std::fs::read_dir(facility.unwrap().path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let truth = chart::eval::Truth::from_json(&json).unwrap();
            let file = truth.file.clone();
            let recorded = root.join("samples/ocr").join(format!("{file}.json"));
            let text = std::fs::read_to_string(&recorded).unwrap_or_else(|e| panic!("{}: {e} (re-record with chartscan evaluate --save-words samples/ocr)", recorded.display()));
            let pages: Vec<chart::PageWords> = serde_json::from_str(&text).unwrap();
            let extraction = chart::extract(&templates, &pages);
            report.add(&truth, &extraction);
        }
    }
    println!("{}", report.render());
    assert_eq!(report.forms, (40, 40), "every chart's form is detected");
    let printed = report.figures(|o| o.printed != "hand");
    let all = report.figures(|_| true);
    // Measured 96.2% / 99.66% / 82.3% (see the README); the targets are the floors.
    assert!(printed.accuracy() >= 0.95, "exact on printed values {:.3}", printed.accuracy());
    assert!(all.precision() >= 0.995, "auto-accept precision {:.4}", all.precision());
    assert!(all.coverage() >= 0.70, "auto-accepted share {:.3}", all.coverage());
}
