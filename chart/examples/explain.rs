//! Prints how extraction sees a chart: every line of its recorded OCR words, with the label
//! phrases found in brackets and the field each belongs to, then the fields extracted
//! (developer and template-author tool:
//! `cargo run --release -p chart --example explain -- WORDS.json [FORM]`; the words are
//! `chartscan evaluate --save-words DIR`'s files, such as `samples/ocr/`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args.first().expect("give a recorded words file");
    let templates = chart::standard_templates();
    let pages: Vec<chart::PageWords> = serde_json::from_str(&std::fs::read_to_string(file).expect("readable words file")).expect("a words file");
    let extraction = chart::extract(&templates, &pages);
    let form = args.get(1).cloned().unwrap_or_else(|| extraction.form_name().to_string());
    let template = templates.iter().find(|t| t.form == form).unwrap_or_else(|| panic!("no template {form}"));
    let others: Vec<chart::Template> = templates.iter().filter(|t| t.form != form).cloned().collect();
    print!("{}", chart::extract::explain(template, &others, &pages));
    println!("--- fields ({form})");
    for (name, f) in &extraction.fields {
        println!(
            "{name:<28} {:<40} raw {:?} conf {:.3} found {:?} {}",
            format!("{:?}", f.text()),
            f.raw,
            f.confidence,
            f.evidence.found,
            f.issue.as_deref().unwrap_or("")
        );
    }
}
