//! Times each preprocessing step, in the order `Preprocessor::prepare_gray` runs them, over
//! the given pages, and prints the mean per page (developer tool:
//! `cargo run --release -p ocr --example prep_timing FILES`).
use ocr::preprocess as p;
use std::time::Instant;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    assert!(!files.is_empty(), "give image files");
    let names = [
        "to grey",
        "estimate skew",
        "rotate",
        "otsu+binarize",
        "letter height",
        "enlarge",
        "otsu+binarize again",
        "borders",
        "lines",
        "specks",
        "whole prepare",
    ];
    let mut total = [0f64; 11];
    for f in &files {
        let t = Instant::now();
        let img = image::open(f).unwrap().to_luma8();
        total[0] += t.elapsed().as_secs_f64();
        let mut lap = |i: usize, t: Instant| total[i] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let skew = p::estimate_skew(&img, 15.0);
        lap(1, t);
        let t = Instant::now();
        let display = if skew.abs() >= 0.25 { p::rotate(&img, -skew, p::background_level(&img)) } else { img.clone() };
        lap(2, t);
        let t = Instant::now();
        let th = p::otsu_threshold(&display);
        let mut bw = p::binarize(&display, th);
        lap(3, t);
        let t = Instant::now();
        let height = p::letter_height(&bw);
        lap(4, t);
        let mut scale = 1.0;
        if let Some(hgt) = height.filter(|h| *h < p::TARGET_TEXT_HEIGHT) {
            scale = ((p::TARGET_TEXT_HEIGHT / hgt.max(4.0)) * 4.0).round().clamp(4.0, 12.0) / 4.0;
            let t = Instant::now();
            let big = p::resize(&display, (display.width() as f32 * scale) as u32, (display.height() as f32 * scale) as u32);
            lap(5, t);
            let t = Instant::now();
            let th = p::otsu_threshold(&big);
            bw = p::binarize(&big, th);
            lap(6, t);
        }
        let t = Instant::now();
        p::remove_borders(&mut bw);
        lap(7, t);
        let t = Instant::now();
        let run = (bw.width() / 15).max(40);
        p::remove_lines(&mut bw, run);
        lap(8, t);
        let t = Instant::now();
        p::despeckle(&mut bw, ((8.0 * scale * scale) as usize).max(1));
        lap(9, t);
        let t = Instant::now();
        let _ = p::Preprocessor::default().prepare_gray(std::borrow::Cow::Borrowed(&img));
        lap(10, t);
    }
    for (n, t) in names.iter().zip(total) {
        println!("{n:>22}: {:6.1} ms/page", t * 1000.0 / files.len() as f64);
    }
}
