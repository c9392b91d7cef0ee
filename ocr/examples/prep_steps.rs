//! Times the preprocessing steps added for forms (developer tool):
//! `cargo run --release -p ocr --example prep_steps IMAGE`.
use std::time::Instant;
fn main() {
    let page = image::open(std::env::args().nth(1).expect("an image")).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let prepared = ocr::Preprocessor { remove_lines: false, ..Default::default() }.prepare(&page);
        let base = t.elapsed();
        let t = Instant::now();
        let with_lines = ocr::Preprocessor::default().prepare(&page);
        let lines = t.elapsed();
        let mut bw = prepared.for_ocr.clone();
        let t = Instant::now();
        ocr::preprocess::remove_lines(&mut bw, 116);
        let rl = t.elapsed();
        let t = Instant::now();
        let boxes = ocr::marks::find_check_boxes(&with_lines.display, 17, 70);
        let cb = t.elapsed();
        println!("prepare {base:?}, with lines {lines:?}, remove_lines alone {rl:?}, check boxes {cb:?} ({} found)", boxes.len());
    }
}
