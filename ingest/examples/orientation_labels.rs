//! How many labels of a known form a page shows when read each way up (the evidence behind
//! `chart::detect::UPRIGHT_LABELS`): for every page of the files given, read at 0, 90, 180
//! and 270 degrees, prints `rotation:form score/engine confidence/labels found`.
//!
//! `cargo run --release -p ingest --example orientation_labels -- FILE...`
//! (the figures in the constant's note: the 45 charts of forms-dev and every third sample
//! chart, about 8 minutes on 2 cores)
use ingest::{decode_page, inspect, Limits};
use ocr::{OcrConfig, Preprocessor, Recognizer, TesseractRecognizer};
use rayon::prelude::*;

fn main() {
    let files: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let templates = chart::template::standard_templates();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).start_handler(|_| ocr::configure_worker_thread()).build().unwrap();
    pool.install(|| {
        files.par_iter().for_each_init(
            || TesseractRecognizer::new(&OcrConfig::default()).unwrap(),
            |eng, f| {
                let bytes = std::fs::read(f).unwrap();
                let (kind, n) = inspect(&bytes, &Limits::default()).unwrap();
                for p in 0..n {
                    let img = decode_page(&bytes, kind, p, &Limits::default()).unwrap().to_luma8();
                    let mut out = Vec::new();
                    for rot in [0u32, 90, 180, 270] {
                        let g = match rot {
                            90 => image::imageops::rotate90(&img),
                            180 => image::imageops::rotate180(&img),
                            270 => image::imageops::rotate270(&img),
                            _ => img.clone(),
                        };
                        let prep = Preprocessor::default().prepare_gray(std::borrow::Cow::Owned(g));
                        let words = eng.recognize(&prep).unwrap();
                        let (w, h) = prep.display.dimensions();
                        let pw = chart::PageWords { page: 1, width: w, height: h, words: words.clone(), rereads: vec![], sparse: vec![] };
                        let g = chart::detect::detect_form(&templates, std::slice::from_ref(&pw));
                        let labels = chart::detect::labels_found(&templates, &pw);
                        out.push(format!("{rot}:{:.2}/{:.2}/{labels}", g.score, ocr::orient::reading_confidence(&words)));
                    }
                    println!("{} p{} {}", f.display(), p + 1, out.join(" "));
                }
            },
        )
    });
}
