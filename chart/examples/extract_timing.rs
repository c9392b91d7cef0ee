//! Times extraction's label matching on recorded OCR words, as the pipeline calls it per
//! page (the upright check, the doubtful values) and per chart (the extraction kept), and
//! prints every extracted field, so that a change meant only to be faster can be diffed
//! against the output before it (developer tool:
//! `cargo run --release -p chart --example extract_timing -- WORDS.json... > out.txt`;
//! the words are `chartscan evaluate --save-words DIR`'s files, such as `samples/ocr/`).
use std::time::{Duration, Instant};

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    assert!(!files.is_empty(), "give recorded words files");
    let templates = chart::standard_templates();
    let (mut upright, mut zones, mut extract) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut pages_seen = 0;
    for f in &files {
        let pages: Vec<chart::PageWords> = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for page in &pages {
            pages_seen += 1;
            let t = Instant::now();
            let sure = chart::detect::reads_upright(&templates, page);
            upright += t.elapsed();
            let t = Instant::now();
            let z = chart::extract::doubtful_zones(&templates, page);
            zones += t.elapsed();
            println!("{f} page {}: upright {sure}, labels {}, zones {z:?}", page.page, chart::detect::labels_found(&templates, page));
        }
        let t = Instant::now();
        let e = chart::extract(&templates, &pages);
        extract += t.elapsed();
        println!("{f}: form {}", e.form_name());
        for (name, field) in &e.fields {
            println!("  {name} = {:?} raw {:?} conf {:.4} review {} {:?}", field.value, field.raw, field.confidence, field.needs_review, field.evidence);
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / pages_seen as f64;
    eprintln!(
        "{pages_seen} pages: upright check {:.1} ms/page, doubtful zones {:.1} ms/page, extraction {:.1} ms/page",
        per(upright),
        per(zones),
        per(extract)
    );
}
