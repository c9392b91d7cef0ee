//! Times re-reading doubtful words with a single-script engine (developer tool):
//! `cargo run --release -p ocr --example second_opinion IMAGE`.
use ocr::{OcrConfig, Recognizer, TesseractRecognizer};
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("an image");
    let page = ocr::Preprocessor::default().prepare(&image::open(&path).unwrap());
    let mut main = TesseractRecognizer::new(&OcrConfig::default()).unwrap();
    let mut khm = TesseractRecognizer::new(&OcrConfig { languages: "khm".into(), ..Default::default() }).unwrap();
    let mut eng = TesseractRecognizer::new(&OcrConfig { languages: "eng".into(), ..Default::default() }).unwrap();
    let t = Instant::now();
    let words = main.recognize(&page).unwrap();
    let t_main = t.elapsed();
    let doubtful: Vec<_> = words.iter().filter(|w| w.confidence < 0.9).collect();
    let t = Instant::now();
    for w in &doubtful {
        let zone = chart::BBox::new(w.bbox.x.saturating_sub(4), w.bbox.y.saturating_sub(4), w.bbox.w + 8, w.bbox.h + 8);
        let k: Vec<String> = khm.recognize_zone(&page, zone).unwrap().into_iter().map(|w| format!("{}({:.2})", w.text, w.confidence)).collect();
        let e: Vec<String> = eng.recognize_zone(&page, zone).unwrap().into_iter().map(|w| format!("{}({:.2})", w.text, w.confidence)).collect();
        println!("{:>14} ({:.2})  khm {:?}  eng {:?}", w.text, w.confidence, k, e);
    }
    println!("page {:?}, {} doubtful words re-read twice in {:?}", t_main, doubtful.len(), t.elapsed());
}
