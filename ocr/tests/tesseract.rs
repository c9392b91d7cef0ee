//! Recognition with the real engine (Tesseract, eng+khm) on a sample card: words with boxes
//! and confidences, a single zone, and pages turned sideways or upside down read upright.

use ocr::{OcrConfig, Preprocessor, Recognizer, TesseractRecognizer};
use std::path::Path;

fn sample() -> image::DynamicImage {
    image::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/charts/PP01/opd-0010.jpg")).unwrap()
}

#[test]
fn words_zones_and_orientation() {
    ocr::configure_worker_thread();
    let mut engine = TesseractRecognizer::new(&OcrConfig::default()).expect("Tesseract with eng+khm (./dev test installs it)");
    let page = Preprocessor::default().prepare(&sample());
    let words = engine.recognize(&page).unwrap();
    let id = words.iter().find(|w| w.text == "171320").expect("the patient number is read");
    assert!(id.confidence > 0.8);
    let label = words.iter().find(|w| w.text.starts_with("ID")).expect("its label");
    assert_eq!(id.line, label.line, "label and value on one line");

    // A zone around the patient number's line: its words and nothing else.
    let zone = chart::BBox::new(0, id.bbox.y.saturating_sub(20), page.display.width(), id.bbox.h + 40);
    let zoned = engine.recognize_zone(&page, zone).unwrap();
    assert!(zoned.iter().any(|w| w.text == "171320"), "{zoned:?}");
    assert!(zoned.iter().all(|w| w.bbox.y + w.bbox.h / 2 >= zone.y && w.bbox.y + w.bbox.h / 2 <= zone.bottom()), "zone words keep page coordinates: {zoned:?}");
    assert!(zoned.len() < words.len() / 5);
    // A zone inside the page (the engine is given the zone alone): boxes come back where
    // the whole-page reading put them.
    let inner = chart::BBox::new(id.bbox.x.saturating_sub(30), id.bbox.y.saturating_sub(15), id.bbox.w + 60, id.bbox.h + 30);
    let again = engine.recognize_zone(&page, inner).unwrap();
    let same = again.iter().find(|w| w.text == "171320").unwrap_or_else(|| panic!("{again:?}"));
    let near = |a: u32, b: u32| a.abs_diff(b) <= 3;
    assert!(near(same.bbox.x, id.bbox.x) && near(same.bbox.y, id.bbox.y) && near(same.bbox.w, id.bbox.w), "{:?} vs {:?}", same.bbox, id.bbox);

    // Turned pages come back upright.
    for (turn, expected) in [(90u32, 270u32), (180, 180), (270, 90)] {
        let img = sample();
        let turned = match turn {
            90 => img.rotate90(),
            180 => img.rotate180(),
            _ => img.rotate270(),
        };
        let reading = ocr::orient::read_upright(&mut engine, &Preprocessor::default(), &turned, true).unwrap();
        assert_eq!(reading.rotation, expected, "a page turned {turn}° needs {expected}° back");
        assert!(reading.words.iter().any(|w| w.text == "171320"), "read upright after turning {turn}°");
    }
}

#[test]
fn sparse_reading_keeps_small_labels_stacked_beside_a_tall_value() {
    // A card of Khmer labels with their English under them, in a ruled grid, the values
    // tall beside them: read as one block, the English lines merge into the values' lines.
    ocr::configure_worker_thread();
    let card = image::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/charts/PP01/anc-0052.jpg")).unwrap();
    let mut engine = TesseractRecognizer::new(&OcrConfig::default()).expect("Tesseract with eng+khm (./dev test installs it)");
    let page = Preprocessor::default().prepare(&card);
    let sparse = engine.recognize_sparse(&page).unwrap();
    let text: Vec<&str> = sparse.iter().map(|w| w.text.as_str()).collect();
    for label in ["Patient", "Sex", "Age", "Phone", "Village", "Commune"] {
        assert!(text.contains(&label), "{label} missing from the sparse reading: {text:?}");
    }
    assert!(text.contains(&"503936"), "the values are read too: {text:?}");
    let (w, h) = page.display.dimensions();
    assert!(sparse.iter().all(|w_| w_.bbox.right() <= w && w_.bbox.bottom() <= h), "boxes in page pixels");
}
