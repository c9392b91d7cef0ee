//! OCR quality benchmark (issue 4): character error rate with and without each preprocessing
//! step, on the sample cards (`samples/truth/*/*.pageN.txt`) and on the real scans with ground
//! truth in `$CHARTSCAN_CORPUS/ocr-truth` (phototest and its rotated variants, eurotext, the
//! two UNLV pages); then the deskew error on generated skews and the orientation accuracy.
//!
//! `cargo run --release -p ingest --example ocr_quality`  (about 3 minutes on 2 cores)

use chart::khmer;
use image::DynamicImage;
use ingest::{decode_page, inspect, Limits};
use ocr::preprocess::{estimate_skew, rotate, Binarization};
use ocr::{OcrConfig, Preprocessor, Recognizer, TesseractRecognizer};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

struct Case {
    name: String,
    page: DynamicImage,
    truth: String,
    langs: &'static str,
    psm: u32,
}

fn normalize(s: &str) -> Vec<char> {
    khmer::comparison_key(s).split_whitespace().collect::<Vec<_>>().join(" ").chars().collect()
}

fn cer(ocr: &str, truth: &str) -> (usize, usize) {
    let (a, b) = (normalize(ocr), normalize(truth));
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[b.len()], b.len())
}

/// The words in Tesseract's reading order (block by block, line by line), as the ground
/// truth files are written; geometric lines would interleave the columns of a page.
fn text_of(words: &[chart::Word]) -> String {
    let mut out = String::new();
    let mut line = None;
    for w in words {
        if line.is_some() {
            out.push(if line == Some(w.line) { ' ' } else { '\n' });
        }
        out.push_str(&w.text);
        line = Some(w.line);
    }
    out
}

fn pages_of(path: &Path) -> Vec<DynamicImage> {
    let bytes = std::fs::read(path).unwrap();
    let (kind, n) = inspect(&bytes, &Limits::default()).unwrap();
    (0..n).map(|p| decode_page(&bytes, kind, p, &Limits::default()).unwrap()).collect()
}

fn cases(root: &Path, corpus: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for facility in std::fs::read_dir(root.join("samples/charts")).unwrap() {
        let facility = facility.unwrap().path();
        for file in std::fs::read_dir(&facility).unwrap() {
            let file = file.unwrap().path();
            let stem = file.file_stem().unwrap().to_string_lossy().to_string();
            let truth_dir = root.join("samples/truth").join(facility.file_name().unwrap());
            for (n, page) in pages_of(&file).into_iter().enumerate() {
                let truth = std::fs::read_to_string(truth_dir.join(format!("{stem}.page{}.txt", n + 1))).unwrap();
                out.push(Case { name: format!("samples/{stem}.{}", n + 1), page, truth, langs: "eng+khm", psm: 6 });
            }
        }
    }
    let truth_of = |f: &str| std::fs::read_to_string(corpus.join(f)).unwrap();
    for (file, truth) in [
        ("phototest.tif", "phototest.txt"),
        ("phototest-rotated-L.png", "phototest.txt"),
        ("phototest-rotated-R.png", "phototest.txt"),
        ("phototest-rotated-180.png", "phototest.txt"),
        ("eurotext.tif", "eurotext.txt"),
        ("8071_093.3B.tif", "8071_093.3B.txt"),
        ("8087_054.3B.tif", "8087_054.3B.txt"),
    ] {
        let page = pages_of(&corpus.join(file)).remove(0);
        out.push(Case { name: format!("corpus/{file}"), page, truth: truth_of(truth), langs: "eng", psm: 3 });
    }
    out
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = std::env::var("CHARTSCAN_CORPUS").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/corpus")).join("ocr-truth");
    assert!(corpus.is_dir(), "THE OCR CORPUS IS MISSING at {}: set CHARTSCAN_CORPUS", corpus.display());
    let cases = cases(&root, &corpus);
    let all = Preprocessor::default();
    let settings: Vec<(&str, Preprocessor, bool)> = vec![
        ("all steps (default)", all, true),
        ("without orientation", all, false),
        ("without deskew", Preprocessor { deskew: false, ..all }, true),
        ("without despeckle", Preprocessor { despeckle: false, ..all }, true),
        ("without border removal", Preprocessor { remove_borders: false, ..all }, true),
        ("without line removal", Preprocessor { remove_lines: false, ..all }, true),
        ("Sauvola instead of Otsu", Preprocessor { method: Binarization::Sauvola, ..all }, true),
        ("grey page (no threshold)", Preprocessor { binarize: false, despeckle: false, remove_borders: false, remove_lines: false, ..all }, true),
        (
            "nothing (grey, as scanned)",
            Preprocessor { deskew: false, binarize: false, despeckle: false, remove_borders: false, remove_lines: false, ..all },
            false,
        ),
    ];
    rayon::ThreadPoolBuilder::new().start_handler(|_| ocr::configure_worker_thread()).build_global().unwrap();
    println!("character error rate (edit distance / truth length; whitespace runs count as one space)\n");
    println!("{:28} {:>10} {:>10}", "setting", "samples", "corpus");
    for (name, pre, orient) in &settings {
        let results: Vec<(bool, usize, usize)> = cases
            .par_iter()
            .map_init(std::collections::HashMap::<(&str, u32), TesseractRecognizer>::new, |engines, case| {
                let engine = engines.entry((case.langs, case.psm)).or_insert_with(|| {
                    TesseractRecognizer::new(&OcrConfig { languages: case.langs.into(), page_segmentation_mode: case.psm, ..Default::default() }).unwrap()
                });
                let reading = ocr::orient::read_upright(engine as &mut dyn Recognizer, pre, &case.page, *orient).unwrap();
                let (e, n) = cer(&text_of(&reading.words), &case.truth);
                (case.name.starts_with("samples"), e, n)
            })
            .collect();
        let rate = |samples: bool| {
            let (e, n) = results.iter().filter(|r| r.0 == samples).fold((0, 0), |a, r| (a.0 + r.1, a.1 + r.2));
            format!("{:.2}%", e as f64 * 100.0 / n.max(1) as f64)
        };
        println!("{name:28} {:>10} {:>10}", rate(true), rate(false));
    }

    // Deskew error: the sample pages carry the skew the generator applied; then generated
    // skews up to ±15° applied to straightened sample pages.
    let mut errors = Vec::new();
    for facility in std::fs::read_dir(root.join("samples/truth")).unwrap() {
        for f in std::fs::read_dir(facility.unwrap().path()).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let chart = root.join("samples/charts").join(t["facility"].as_str().unwrap()).join(t["file"].as_str().unwrap());
            for (page, skew) in pages_of(&chart).iter().zip(t["skew_degrees"].as_array().unwrap()) {
                let est = estimate_skew(&page.to_luma8(), 15.0);
                errors.push((est - skew.as_f64().unwrap() as f32).abs());
            }
        }
    }
    let scanned = errors.len();
    let mean_scanned = errors.iter().sum::<f32>() / scanned as f32;
    let base = pages_of(&root.join("samples/charts/SR01/ipd-0002.png")).remove(0).to_luma8();
    let straight = rotate(&base, -estimate_skew(&base, 15.0), 235);
    let mut generated = Vec::new();
    for angle in [-15.0f32, -12.5, -10.0, -7.5, -5.0, -2.5, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0] {
        let est = estimate_skew(&rotate(&straight, angle, 235), 15.0);
        generated.push((est - angle).abs());
    }
    println!(
        "\ndeskew: mean error {mean_scanned:.3}° on {scanned} sample pages (skew within ±3°), {:.3}° (max {:.3}°) on 12 generated skews from -15° to 15°",
        generated.iter().sum::<f32>() / generated.len() as f32,
        generated.iter().cloned().fold(0.0, f32::max)
    );

    // Orientation: sample pages turned by each quarter, and the corpus's rotated variants.
    let mut engine = TesseractRecognizer::new(&OcrConfig::default()).unwrap();
    let (mut right, mut total) = (0, 0);
    let picks = [
        "samples/charts/SR01/ipd-0002.png",
        "samples/charts/PP01/ipd-0004.jpg",
        "samples/charts/BB01/opd-0006.png",
        "samples/charts/SR01/opd-0008.tif",
        "samples/charts/PP01/opd-0010.jpg",
    ];
    for file in picks {
        let page = pages_of(&root.join(file)).remove(0);
        for (turn, expected) in [(0u32, 0u32), (90, 270), (180, 180), (270, 90)] {
            let turned = match turn {
                90 => page.rotate90(),
                180 => page.rotate180(),
                270 => page.rotate270(),
                _ => page.clone(),
            };
            let r = ocr::orient::read_upright(&mut engine, &Preprocessor::default(), &turned, true).unwrap();
            total += 1;
            right += usize::from(r.rotation == expected);
            if r.rotation != expected {
                println!(
                    "orientation: {file} turned {turn}° was turned {}°, expected {expected}° (confidence {:.2})",
                    r.rotation,
                    ocr::orient::reading_confidence(&r.words)
                );
            }
        }
    }
    let mut eng = TesseractRecognizer::new(&OcrConfig { languages: "eng".into(), page_segmentation_mode: 3, ..Default::default() }).unwrap();
    for (file, expected) in [("phototest.tif", 0u32), ("phototest-rotated-L.png", 90), ("phototest-rotated-R.png", 270), ("phototest-rotated-180.png", 180)] {
        let page = pages_of(&corpus.join(file)).remove(0);
        let r = ocr::orient::read_upright(&mut eng, &Preprocessor::default(), &page, true).unwrap();
        total += 1;
        right += usize::from(r.rotation == expected);
        if r.rotation != expected {
            println!("orientation: {file} turned {}°, expected {expected}°", r.rotation);
        }
    }
    println!("orientation: {right}/{total} pages turned upright correctly (5 sample cards x 4 quarters, 4 phototest variants)");
}
