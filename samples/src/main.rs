//! `chartscan-samples`: the deterministic synthetic chart generator.
//!
//! Renders outpatient cards (`opd`) with bilingual Khmer/English labels taken from the
//! template, fills them with synthetic (never real) patients, some values in Khmer digits,
//! degrades each page like an office scanner (skew, uneven paper, speckles, blur, JPEG) and
//! writes the scans in mixed formats with their ground truth:
//!
//! ```text
//! chartscan-samples --out samples --count 12 --seed 2026
//!   samples/charts/<FACILITY>/opd-NNNN.{jpg,png,tif,pdf}
//!   samples/truth/<FACILITY>/opd-NNNN.json      canonical values per CONTRACT.md
//! ```
//!
//! The same seed always gives the same files.

mod copies;
mod data;
mod degrade;
mod encode;
mod render;

use anyhow::{Context, Result};
use clap::Parser;
use data::{Patient, Rng};
use render::{Canvas, Fonts, LoadedFont};
use std::path::PathBuf;

/// Generates synthetic scanned patient charts with ground truth.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Folder that receives charts/ and truth/.
    #[arg(long, default_value = "samples")]
    out: PathBuf,
    /// How many charts.
    #[arg(long, default_value_t = 12)]
    count: usize,
    /// Seed of the generator: the same seed gives the same files.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Folder with the Khmer OS fonts (Debian package fonts-khmeros).
    #[arg(long, default_value = "/usr/share/fonts/truetype/khmeros")]
    khmer_fonts: String,
    /// Folder with the DejaVu fonts (Debian package fonts-dejavu-core).
    #[arg(long, default_value = "/usr/share/fonts/truetype/dejavu")]
    latin_fonts: String,
    /// Only this format for every chart (jpg, png, tif, pdf); default: a mix.
    #[arg(long)]
    format: Option<String>,
    /// Instead of rendering, make a large batch for benchmarks: distinct copies (unique
    /// bytes each, so no file is a duplicate) of the scans in this folder...
    #[arg(long, value_name = "DIR")]
    copies_of: Option<PathBuf>,
    /// ...until the batch holds this many pages (written to --out).
    #[arg(long, default_value_t = 1000)]
    pages: usize,
    /// With --copies-of: only image files (no PDF), for tools that cannot read PDF.
    #[arg(long)]
    images_only: bool,
    /// Write the printable separator sheet (PNG) for `chartscan ingest --split-on separator`.
    #[arg(long, value_name = "FILE")]
    separator_sheet: Option<PathBuf>,
}

/// Card size: A5 portrait at 300 dpi.
const WIDTH: u32 = 1748;
const HEIGHT: u32 = 2480;
const FACILITIES: [&str; 3] = ["PP01", "SR01", "BB01"];

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.copies_of {
        return copies::make_batch(dir, &args.out, args.pages, args.images_only);
    }
    let fonts = Fonts {
        khmer: LoadedFont::load(&format!("{}/KhmerOS.ttf", args.khmer_fonts))?,
        latin: LoadedFont::load(&format!("{}/DejaVuSans.ttf", args.latin_fonts))?,
        mono: LoadedFont::load(&format!("{}/DejaVuSansMono.ttf", args.latin_fonts))?,
    };
    if let Some(path) = &args.separator_sheet {
        let mut canvas = Canvas::new(WIDTH, HEIGHT);
        canvas.text(&fonts, &fonts.latin, 110.0, 200.0, 64.0, "CHART SEPARATOR", 1.0);
        canvas.text(&fonts, &fonts.latin, 110.0, 300.0, 56.0, "ក្រដាសបំបែកឯកសារ", 1.0);
        canvas.text(&fonts, &fonts.latin, 110.0, 2300.0, 34.0, "Put this sheet before each chart of a batch scan.", 1.0);
        for bar in 0..5 {
            canvas.rect(380 + bar * 220, 560, 110, 1560, 1.0);
        }
        canvas.to_gray(255).save(path)?;
        eprintln!("separator sheet written to {}", path.display());
        return Ok(());
    }
    let template = chart::standard_templates().into_iter().find(|t| t.form == "opd").context("opd template")?;
    for i in 0..args.count {
        let mut rng = Rng::new(args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let facility_index = i % FACILITIES.len();
        let facility = FACILITIES[facility_index];
        let patient = Patient::random(&mut rng, i);
        let two_pages = args.format.is_none() && i == 8;
        let format = match &args.format {
            Some(f) => f.clone(),
            None => ["jpg", "png", "tif", "jpg", "pdf", "png", "jpg", "tif", "pdf", "jpg", "png", "jpg"][i % 12].to_string(),
        };
        let layout = data::layout(&template, &patient, facility_index, two_pages);
        let mut pages = Vec::new();
        let mut skews = Vec::new();
        let mut page_texts = Vec::new();
        for page_rows in &layout {
            page_texts.push(page_text(facility, page_rows));
            let mut canvas = Canvas::new(WIDTH, HEIGHT);
            draw_page(&mut canvas, &fonts, facility, page_rows);
            let noisy = format == "jpg" || format == "pdf";
            let (page, skew) = degrade::scan(&canvas, &mut rng, noisy);
            skews.push((skew * 100.0).round() / 100.0);
            pages.push(page);
        }
        let stem = format!("opd-{:04}", i + 1);
        let chart_dir = args.out.join("charts").join(facility);
        let truth_dir = args.out.join("truth").join(facility);
        std::fs::create_dir_all(&chart_dir)?;
        std::fs::create_dir_all(&truth_dir)?;
        let file_name = format!("{stem}.{format}");
        let bytes = encode::encode(&pages, &format, &mut rng)?;
        std::fs::write(chart_dir.join(&file_name), &bytes)?;
        let truth = serde_json::json!({
            "file": file_name,
            "facility": facility,
            "form": "opd",
            "pages": pages.len(),
            "skew_degrees": skews,
            "fields": patient.truth(),
        });
        std::fs::write(truth_dir.join(format!("{stem}.json")), serde_json::to_string_pretty(&truth)? + "\n")?;
        for (n, text) in page_texts.iter().enumerate() {
            std::fs::write(truth_dir.join(format!("{stem}.page{}.txt", n + 1)), text)?;
        }
        eprintln!("{facility}/{file_name}: {} page(s), {} bytes", pages.len(), bytes.len());
    }
    Ok(())
}

#[derive(Debug)]
/// One printed row of a card: up to two label/value pairs.
pub struct Row {
    /// (label, value, value is Khmer) pairs; the second starts mid-card.
    pub cells: Vec<(String, String)>,
}

#[derive(Debug)]
/// One page of a card: a title and rows (`None` rows are rules).
pub struct PageRows {
    /// The title line.
    pub title: String,
    /// The rows; `None` draws a horizontal rule.
    pub rows: Vec<Option<Row>>,
}

fn clinic(facility: &str) -> &'static str {
    match facility {
        "PP01" => "Sunrise Medical Clinic, Phnom Penh",
        "SR01" => "Angkor Family Hospital, Siem Reap",
        _ => "Sangker River Clinic, Battambang",
    }
}

/// The page's text as printed, line by line: the ground truth for character error rates.
fn page_text(facility: &str, page: &PageRows) -> String {
    let mut lines = vec![clinic(facility).to_string(), page.title.clone()];
    for row in page.rows.iter().flatten() {
        lines.push(row.cells.iter().map(|(label, value)| format!("{label} {value}")).collect::<Vec<_>>().join(" "));
    }
    lines.join("\n") + "\n"
}

fn draw_page(canvas: &mut Canvas, fonts: &Fonts, facility: &str, page: &PageRows) {
    let left = 110.0;
    let clinic = clinic(facility);
    canvas.rect(70, 70, WIDTH as i32 - 140, 4, 1.0);
    canvas.text(fonts, &fonts.latin, left, 160.0, 46.0, clinic, 1.0);
    canvas.text(fonts, &fonts.latin, left, 260.0, 50.0, &page.title, 1.0);
    canvas.rect(70, 310, WIDTH as i32 - 140, 4, 1.0);
    let mut y = 420.0;
    for row in &page.rows {
        match row {
            None => {
                canvas.rect(70, (y - 50.0) as i32, WIDTH as i32 - 140, 3, 1.0);
                y += 40.0;
            }
            Some(row) => {
                for (k, (label, value)) in row.cells.iter().enumerate() {
                    let x = if k == 0 { left } else { 960.0 };
                    let after = canvas.text(fonts, &fonts.latin, x, y, 38.0, label, 1.0);
                    canvas.text(fonts, &fonts.mono, after + 28.0, y, 42.0, value, 0.95);
                }
                y += 112.0;
            }
        }
    }
    canvas.rect(70, HEIGHT as i32 - 90, WIDTH as i32 - 140, 4, 1.0);
}
