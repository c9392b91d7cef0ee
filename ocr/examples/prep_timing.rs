//! Times each preprocessing step on one page (developer tool: `cargo run --release -p ocr --example prep_timing FILE`).
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("an image file");
    let img = image::open(&path).unwrap().to_luma8();
    let t = Instant::now();
    let skew = ocr::preprocess::estimate_skew(&img, 5.0);
    let t_est = t.elapsed();
    let t = Instant::now();
    let rotated = ocr::preprocess::rotate(&img, -skew, 230);
    let t_rot = t.elapsed();
    let t = Instant::now();
    let th = ocr::preprocess::otsu_threshold(&rotated);
    let mut bw = ocr::preprocess::binarize(&rotated, th);
    let t_bin = t.elapsed();
    let t = Instant::now();
    ocr::preprocess::despeckle(&mut bw, 8);
    let t_desp = t.elapsed();
    let t = Instant::now();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&rotated).unwrap();
    let t_jpg = t.elapsed();
    println!("skew {skew:.2}: estimate {t_est:?}, rotate {t_rot:?}, otsu+binarize {t_bin:?}, despeckle {t_desp:?}, jpeg {t_jpg:?} ({} KB)", jpeg.len() / 1024);
}
