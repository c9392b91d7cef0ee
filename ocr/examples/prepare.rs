//! Writes the page Tesseract would read (developer tool, to look at preprocessing):
//! `cargo run --release -p ocr --example prepare IN.png OUT.png`.
fn main() {
    let mut args = std::env::args().skip(1);
    let (input, output) = (args.next().expect("input image"), args.next().expect("output PNG"));
    let page = image::open(&input).expect("readable image");
    let prepared = ocr::Preprocessor::default().prepare(&page);
    println!("skew {:.2}°, threshold {:?}", prepared.skew_degrees, prepared.threshold);
    prepared.for_ocr.save(&output).expect("written");
}
