//! `chartscan evaluate`: extraction measured against ground truth, re-run on stored (or saved)
//! OCR words. Reading truth and words is `store::evaluate`; comparing is `chart::eval`.

use super::Context;
use anyhow::{Context as _, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of truth files: the samples' (`*.json` with "file", "form", "fields",
    /// "printed") or an independent set's (values as numbers, strings or rows, with
    /// "accept" and "style").
    #[arg(long, default_value = "samples/truth")]
    truth: PathBuf,
    /// Print the report as JSON (figures and every value compared).
    #[arg(long)]
    json: bool,
    /// Also write each chart's stored OCR words to DIR/<file>.json (the recorded words
    /// `chart`'s tests extract from without Tesseract).
    #[arg(long, value_name = "DIR")]
    save_words: Option<PathBuf>,
    /// Extract from words saved in DIR (by --save-words) instead of a store.
    #[arg(long, value_name = "DIR", conflicts_with = "save_words")]
    words: Option<PathBuf>,
    /// Report the odd-numbered (tuning) and even-numbered (held aside) charts apart.
    #[arg(long)]
    halves: bool,
    /// Also write the fresh extractions as JSON lines in the export's format.
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let truths = store::evaluate::read_truths(&args.truth)?;
    let charts = match &args.words {
        Some(dir) => store::evaluate::saved_words(dir, &truths)?,
        None => ctx.store().await?.words_for_truths(&truths, args.save_words.as_deref()).await?,
    };
    anyhow::ensure!(!charts.is_empty(), "none of the charts has a truth file under {}: ingest those pages first", args.truth.display());
    let mut report = chart::eval::Report { halves: args.halves, ..Default::default() };
    let mut lines = String::new();
    for (t, pages) in &charts {
        let extraction = chart::extract(&ctx.templates, pages);
        report.add(t, &extraction);
        if args.export.is_some() {
            lines.push_str(&chart::eval::export_line(t, &extraction).to_string());
            lines.push('\n');
        }
    }
    if let Some(path) = &args.export {
        std::fs::write(path, lines).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render());
    }
    Ok(0)
}
