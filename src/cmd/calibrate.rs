//! `chartscan calibrate`: fit the confidence model on charts with ground truth and saved OCR
//! words, choose the auto-accept threshold out of fold, print how it did, write the model.

use super::Context;
use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A set of charts: TRUTH=WORDS, truth files and the folder of their saved words
    /// (`evaluate --save-words`), with :odd or :even to take one half of a numbered set.
    #[arg(long = "set", value_name = "TRUTH=WORDS[:odd|:even]", required = true)]
    sets: Vec<String>,
    /// Where to write the model.
    #[arg(long, default_value = "chart/src/calibration.json")]
    out: PathBuf,
    /// The share of auto-accepted values that must be right (out of fold): the
    /// threshold is the lowest that keeps it.
    #[arg(long, default_value_t = chart::confidence::TARGET_PRECISION, value_parser = precision_arg)]
    precision: f64,
}

/// A precision between 0.5 and 1 (`--precision 0.995`).
fn precision_arg(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.5..1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?}: a share of right values between 0.5 and 1, like 0.995")),
    }
}

pub fn run(ctx: &Context, args: Args) -> Result<i32> {
    calibrate(&ctx.templates, &args.sets, &args.out, args.precision)?;
    Ok(0)
}

fn calibrate(templates: &[chart::Template], sets: &[String], out: &Path, precision: f64) -> Result<()> {
    use chart::confidence;
    use chart::eval::Half;
    let mut examples = Vec::new();
    let mut described = Vec::new();
    for set in sets {
        let (truth_dir, rest) = set.split_once('=').with_context(|| format!("{set}: expected TRUTH=WORDS[:odd|:even]"))?;
        let (words_dir, half) = match rest.rsplit_once(':') {
            Some((w, "odd")) => (w, Half::Odd),
            Some((w, "even")) => (w, Half::Even),
            _ => (rest, Half::All),
        };
        let truths = store::evaluate::read_truths(Path::new(truth_dir))?;
        let charts = store::evaluate::saved_words(Path::new(words_dir), &truths)?;
        let (mut used, mut twice) = (0, 0);
        for (truth, pages) in charts.iter().filter(|(t, _)| half.holds(t.number())) {
            used += 1;
            examples.extend(chart::eval::examples(templates, truth, pages));
            // A chart read twice is also fitted on as read once (`--no-sparse-reading`), so
            // that the one threshold holds for either; its two versions share a fold.
            if pages.iter().any(|p| !p.sparse.is_empty()) {
                twice += 1;
                let once: Vec<chart::PageWords> = pages.iter().map(|p| chart::PageWords { sparse: Vec::new(), ..p.clone() }).collect();
                examples.extend(chart::eval::examples(templates, truth, &once));
            }
        }
        described.push(format!(
            "{truth_dir} ({used} charts{}{})",
            match half {
                Half::Odd => ", odd-numbered",
                Half::Even => ", even-numbered",
                Half::All => "",
            },
            if twice > 0 { format!(", {twice} read twice and fitted also as read once") } else { String::new() }
        ));
    }
    anyhow::ensure!(!examples.is_empty(), "no values to fit on: are the words saved (evaluate --save-words)?");
    let (model, out_of_fold) = confidence::fit(&examples, &described.join(" + "), precision);
    println!("fitted on {} values ({} right) from {}", model.fit.values, model.fit.right, model.fitted_on);
    println!(
        "threshold {:.3}: out of fold, {:.1}% of values auto-accepted, {:.2}% of them right",
        model.threshold,
        100.0 * model.fit.share,
        100.0 * model.fit.precision
    );
    for target in [0.99, 0.995, 0.996, 0.997, 0.998, 0.999] {
        let (t, p, share) = confidence::choose_threshold(&out_of_fold, target);
        println!("  for {:.1}% precision: threshold {t:.3}, {:.1}% auto-accepted, {:.2}% right", 100.0 * target, 100.0 * share, 100.0 * p);
    }
    println!("\nreliability (out of fold)\nconfidence      n   right");
    for w in [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.01].windows(2) {
        let inside: Vec<&(f64, bool, bool)> = out_of_fold.iter().filter(|(p, _, _)| *p >= w[0] && *p < w[1]).collect();
        if !inside.is_empty() {
            println!(
                "  {:.2}-{:.2} {:>6} {:>6.1}%",
                w[0],
                w[1].min(1.0),
                inside.len(),
                100.0 * inside.iter().filter(|s| s.1).count() as f64 / inside.len() as f64
            );
        }
    }
    let mut wrong: Vec<(f64, &confidence::Example)> =
        out_of_fold.iter().zip(&examples).filter(|((p, right, eligible), _)| !right && *eligible && *p >= 0.9).map(|((p, _, _), e)| (*p, e)).collect();
    wrong.sort_by(|a, b| b.0.total_cmp(&a.0));
    if !wrong.is_empty() {
        println!("\nconfident and wrong (out of fold, eligible, 0.90 and up)");
        for (p, e) in wrong.iter().take(25) {
            println!("  {p:.3} {} {}", e.chart, e.field);
        }
    }
    println!("\nweights");
    for (name, w) in model.features.iter().zip(&model.weights) {
        println!("  {name:<22} {w:>8.3}");
    }
    std::fs::write(out, serde_json::to_string_pretty(&model)? + "\n").with_context(|| format!("writing {}", out.display()))?;
    println!("\nwritten to {} (rebuild chartscan to use it)", out.display());
    Ok(())
}
