//! `chartscan-samples`: the deterministic synthetic chart generator.
//!
//! Renders the three standard forms (outpatient `opd`, inpatient `ipd`, antenatal `anc`)
//! with labels taken from their templates, in several layouts (`Label: value` lines, values
//! under their labels, ruled tables, a measurement grid), with Khmer, English or bilingual
//! labels, check boxes for sex and outcome, some values in Khmer digits and some written in
//! handwriting-like fonts. Patients are synthetic (never real). Each page is degraded like an
//! office scanner (skew, uneven paper, speckles, blur, JPEG) and written in mixed formats with
//! its ground truth:
//!
//! ```text
//! chartscan-samples --out samples --count 40 --seed 2026
//!   samples/charts/<FACILITY>/<form>-NNNN.{jpg,png,tif,pdf}
//!   samples/truth/<FACILITY>/<form>-NNNN.json   canonical values per docs/CONTRACT.md, and how
//!                                               each value is printed (typed/hand/boxes)
//! ```
//!
//! The same seed always gives the same files.

mod copies;
mod data;
mod degrade;
mod encode;
mod render;
mod variant;

use anyhow::{Context, Result};
use clap::Parser;
use data::{Extras, Form, Labels, Patient, Printed, Rng};
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
    #[arg(long, default_value_t = 60)]
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
    /// Folder with the URW base 35 fonts (Debian package fonts-urw-base35), for values
    /// written by hand.
    #[arg(long, default_value = "/usr/share/fonts/opentype/urw-base35")]
    hand_fonts: String,
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
    /// Write charts of a form variant instead of the standard samples: `kh-columns`, an
    /// outpatient card with Khmer-only labels of its own wording in two columns (facility
    /// KV01), which the bundled templates do not read: for teaching a form in the studio.
    #[arg(long, value_parser = ["kh-columns"])]
    variant: Option<String>,
    /// Write the printable separator sheet (PNG) for `chartscan ingest --split-on separator`.
    #[arg(long, value_name = "FILE")]
    separator_sheet: Option<PathBuf>,
}

/// Card size: A5 portrait at 300 dpi.
const WIDTH: u32 = 1748;
const HEIGHT: u32 = 2480;
const FACILITIES: [&str; 3] = ["PP01", "SR01", "BB01"];

/// How a card lays out its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `Label: value`, two pairs on some rows.
    Lines,
    /// The label, and the value written under it.
    Below,
    /// A ruled two-column table: label cell, value cell.
    Table,
}

/// One label and its value.
#[derive(Debug)]
pub struct Cell {
    /// The printed label.
    pub label: String,
    /// The value as printed.
    pub value: Printed,
}

/// One printed row of a card.
#[derive(Debug)]
pub struct Row {
    /// Its cells, left to right.
    pub cells: Vec<Cell>,
    /// A grid row: labels across the top, values under each.
    pub header: bool,
    /// A table: one cell whose value is the table (column labels and rows).
    pub table: bool,
}

/// One page of a card: a title and rows (`None` rows are rules).
#[derive(Debug)]
pub struct PageRows {
    /// The title line.
    pub title: String,
    /// The rows; `None` draws a horizontal rule.
    pub rows: Vec<Option<Row>>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.copies_of {
        return copies::make_batch(dir, &args.out, args.pages, args.images_only);
    }
    let fonts = Fonts {
        khmer: LoadedFont::load(&format!("{}/KhmerOS.ttf", args.khmer_fonts))?,
        latin: LoadedFont::load(&format!("{}/DejaVuSans.ttf", args.latin_fonts))?,
        mono: LoadedFont::load(&format!("{}/DejaVuSansMono.ttf", args.latin_fonts))?,
        hand_khmer: LoadedFont::load(&format!("{}/KhmerOSfasthand.ttf", args.khmer_fonts))?,
        hand_latin: LoadedFont::load(&format!("{}/Z003-MediumItalic.otf", args.hand_fonts))?,
    };
    if let Some(path) = &args.separator_sheet {
        let mut canvas = Canvas::new(WIDTH, HEIGHT);
        canvas.text(&fonts.khmer, &fonts.latin, 110.0, 200.0, 64.0, "CHART SEPARATOR", 1.0);
        canvas.text(&fonts.khmer, &fonts.latin, 110.0, 300.0, 56.0, "ក្រដាសបំបែកឯកសារ", 1.0);
        canvas.text(&fonts.khmer, &fonts.latin, 110.0, 2300.0, 34.0, "Put this sheet before each chart of a batch scan.", 1.0);
        for bar in 0..5 {
            canvas.rect(380 + bar * 220, 560, 110, 1560, 1.0);
        }
        canvas.to_gray(255).save(path)?;
        eprintln!("separator sheet written to {}", path.display());
        return Ok(());
    }
    if args.variant.is_some() {
        return variant::write(&args.out, args.count, args.seed, &fonts);
    }
    let templates = chart::standard_templates();
    for i in 0..args.count {
        let mut rng = Rng::new(args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let facility_index = i % FACILITIES.len();
        let facility = FACILITIES[facility_index];
        // Forms, layouts and label languages rotate with different periods, so every
        // combination turns up across a few dozen charts.
        let form = [Form::Opd, Form::Ipd, Form::Anc][(i / 3 + i) % 3];
        let style = [Style::Lines, Style::Table, Style::Below, Style::Lines][(i / 2) % 4];
        let labels = [Labels::Both, Labels::Stacked, Labels::Khmer, Labels::Paren, Labels::English, Labels::Both][(i / 5 + i) % 6];
        let template = templates.iter().find(|t| t.form == form.code()).context("bundled template")?;
        let boxes = form == Form::Ipd || rng.chance(0.35);
        let extras = Extras {
            vitals: form == Form::Opd && i % 2 == 0,
            labs: form == Form::Opd && i % 5 == 1,
            visits: if form == Form::Anc && i % 3 != 0 { 1 + rng.below(3) } else { 0 },
            one_line_address: i % 3 == 1,
            khmer_places: rng.chance(0.4),
        };
        let mut patient = Patient::random(&mut rng, i, form, boxes, labels == Labels::Khmer, extras);
        // A quarter of the cards were filled in by hand (a few values each).
        let hand = i % 4 == 3;
        if hand {
            patient.handwrite(&mut rng, 0.25);
        }
        // Tables go on a continuation page (an A5 card has no room for them).
        let two_pages = args.format.is_none() && (i == 8 || i == 19 || extras.labs || extras.visits > 0);
        let format = match &args.format {
            Some(f) => f.clone(),
            None if two_pages => ["pdf", "tif"][i % 2].to_string(),
            None => ["jpg", "png", "tif", "jpg", "pdf", "png", "jpg", "tif", "pdf", "jpg", "png", "jpg"][i % 12].to_string(),
        };
        let layout = data::layout(template, &patient, facility_index, style, labels, two_pages);
        let mut pages = Vec::new();
        let mut skews = Vec::new();
        let mut page_texts = Vec::new();
        for page_rows in &layout {
            page_texts.push(page_text(facility, page_rows));
            let mut canvas = Canvas::new(WIDTH, HEIGHT);
            draw_page(&mut canvas, &fonts, facility, style, page_rows);
            let noisy = format == "jpg" || format == "pdf";
            let (page, skew) = degrade::scan(&canvas, &mut rng, noisy);
            skews.push((skew * 100.0).round() / 100.0);
            pages.push(page);
        }
        let stem = format!("{}-{:04}", form.code(), i + 1);
        let chart_dir = args.out.join("charts").join(facility);
        let truth_dir = args.out.join("truth").join(facility);
        std::fs::create_dir_all(&chart_dir)?;
        std::fs::create_dir_all(&truth_dir)?;
        let file_name = format!("{stem}.{format}");
        let bytes = encode::encode(&pages, &format, &mut rng)?;
        std::fs::write(chart_dir.join(&file_name), &bytes)?;
        let mut fields = patient.truth();
        fields["hospital"] = clinic(facility).into();
        let truth = serde_json::json!({
            "file": file_name,
            "facility": facility,
            "form": form.code(),
            "pages": pages.len(),
            "skew_degrees": skews,
            "layout": format!("{style:?}").to_lowercase(),
            "labels": format!("{labels:?}").to_lowercase(),
            "fields": fields,
            "printed": patient.styles(),
        });
        std::fs::write(truth_dir.join(format!("{stem}.json")), serde_json::to_string_pretty(&truth)? + "\n")?;
        for (n, text) in page_texts.iter().enumerate() {
            std::fs::write(truth_dir.join(format!("{stem}.page{}.txt", n + 1)), text)?;
        }
        eprintln!("{facility}/{file_name}: {} page(s), {style:?} layout, {labels:?} labels, {} bytes", pages.len(), bytes.len());
    }
    Ok(())
}

/// The facility's name, printed at the top of its cards (invented clinics).
fn clinic(facility: &str) -> &'static str {
    match facility {
        "PP01" => "Sunrise Medical Clinic",
        "SR01" => "Angkor Family Hospital",
        _ => "Sangker River Clinic",
    }
}

/// The page's text as printed, line by line: the ground truth for character error rates.
/// (Grid rows print their labels on one line and the values on the next.)
fn page_text(facility: &str, page: &PageRows) -> String {
    let mut lines = vec![clinic(facility).to_string(), page.title.clone()];
    let one_line = |label: &str| label.replace('\n', " ");
    for row in page.rows.iter().flatten() {
        if row.header {
            lines.push(row.cells.iter().map(|c| one_line(&c.label)).collect::<Vec<_>>().join(" "));
            lines.push(row.cells.iter().map(|c| c.value.text()).collect::<Vec<_>>().join(" "));
        } else if let (true, Some(Printed::Table(columns, rows))) = (row.table, row.cells.first().map(|c| &c.value)) {
            lines.push(columns.iter().map(|c| one_line(c)).collect::<Vec<_>>().join(" "));
            lines.extend(rows.iter().map(|r| r.iter().filter(|c| !c.is_empty()).cloned().collect::<Vec<_>>().join(" ")));
        } else {
            lines.push(row.cells.iter().map(|c| format!("{} {}", one_line(&c.label), c.value.text())).collect::<Vec<_>>().join(" "));
        }
    }
    lines.join("\n") + "\n"
}

/// Draws a value at (x, y baseline): typed in the typewriter face, by hand in the
/// handwriting faces, or as a row of check boxes (wrapping before the page's right margin).
/// Returns the x after it.
fn draw_value(canvas: &mut Canvas, fonts: &Fonts, x: f32, y: f32, value: &Printed) -> f32 {
    match value {
        Printed::Nowhere | Printed::Table(..) => x,
        Printed::Typed(text) => wrapped(canvas, &fonts.khmer, &fonts.mono, x, y, 42.0, text, 0.95),
        Printed::Hand(text) => wrapped(canvas, &fonts.hand_khmer, &fonts.hand_latin, x, y + 4.0, 50.0, text, 0.85),
        Printed::Boxes(options) => {
            let (mut pen, mut y) = (x, y);
            for (option, ticked) in options {
                let estimate = 52.0 + 0.6 * 36.0 * option.chars().count() as f32;
                if pen > x && pen + estimate > WIDTH as f32 - 90.0 {
                    pen = x;
                    y += 56.0;
                }
                canvas.check_box(pen, y - 34.0, 38.0, *ticked);
                pen = canvas.text(&fonts.khmer, &fonts.latin, pen + 52.0, y, 36.0, option, 1.0) + 44.0;
            }
            pen
        }
    }
}

/// Draws text that wraps at spaces onto the next lines before the page's right margin, as
/// a clerk writes a long value (an address) in a box. Returns the x after its last line.
#[allow(clippy::too_many_arguments)]
fn wrapped(canvas: &mut Canvas, khmer: &LoadedFont, latin: &LoadedFont, x: f32, y: f32, size: f32, text: &str, darkness: f32) -> f32 {
    let limit = WIDTH as f32 - 100.0 - x;
    let mut line = String::new();
    let mut lines = Vec::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if !line.is_empty() && Canvas::width_of(khmer, latin, size, &candidate) > limit {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    lines.push(line);
    let mut after = x;
    for (k, l) in lines.iter().enumerate() {
        after = canvas.text(khmer, latin, x, y + k as f32 * size * 1.2, size, l, darkness);
    }
    after
}

/// Draws a label at (x, y baseline); a label of two lines (Khmer over English) has its
/// second line under the first, smaller. Returns the x after the longer line.
fn draw_label(canvas: &mut Canvas, fonts: &Fonts, x: f32, y: f32, size: f32, label: &str) -> f32 {
    let mut lines = label.split('\n');
    let mut after = canvas.text(&fonts.khmer, &fonts.latin, x, y, size, lines.next().unwrap_or(""), 1.0);
    for (k, line) in lines.enumerate() {
        after = after.max(canvas.text(&fonts.khmer, &fonts.latin, x, y + size * 1.15 * (k + 1) as f32, size * 0.8, line, 1.0));
    }
    after
}

/// Extra height a label of several lines needs.
fn label_extra(label: &str, size: f32) -> f32 {
    label.matches('\n').count() as f32 * size * 1.15
}

/// Draws a ruled table: column labels across the top, one row per line under them.
/// Returns the y under it.
fn draw_table(canvas: &mut Canvas, fonts: &Fonts, left: f32, right: f32, y: f32, columns: &[String], rows: &[Vec<String>]) -> f32 {
    let width = (right - left) / columns.len() as f32;
    let header = 60.0 + columns.iter().map(|c| label_extra(c, 32.0)).fold(0.0, f32::max);
    let step = 78.0;
    let top = y - 50.0;
    let bottom = top + header + step * rows.len() as f32;
    for k in 0..=columns.len() {
        canvas.rect((left + k as f32 * width) as i32, top as i32, 3, (bottom - top) as i32 + 3, 1.0);
    }
    for line_y in std::iter::once(top).chain((0..=rows.len()).map(|r| top + header + step * r as f32)) {
        canvas.rect(left as i32, line_y as i32, (right - left) as i32 + 3, 3, 1.0);
    }
    for (k, column) in columns.iter().enumerate() {
        draw_label(canvas, fonts, left + k as f32 * width + 16.0, y, 32.0, column);
    }
    for (r, row) in rows.iter().enumerate() {
        let baseline = top + header + step * r as f32 + 54.0;
        for (k, cell) in row.iter().enumerate() {
            canvas.text(&fonts.khmer, &fonts.mono, left + k as f32 * width + 16.0, baseline, 34.0, cell, 0.95);
        }
    }
    bottom + 90.0
}

fn draw_page(canvas: &mut Canvas, fonts: &Fonts, facility: &str, style: Style, page: &PageRows) {
    let left = 110.0;
    let right_edge = WIDTH as f32 - 110.0;
    let clinic = clinic(facility);
    canvas.rect(70, 70, WIDTH as i32 - 140, 4, 1.0);
    canvas.text(&fonts.khmer, &fonts.latin, left, 160.0, 46.0, clinic, 1.0);
    let title_size = if page.title.chars().count() > 60 { 40.0 } else { 50.0 };
    canvas.text(&fonts.khmer, &fonts.latin, left, 260.0, title_size, &page.title, 1.0);
    canvas.rect(70, 310, WIDTH as i32 - 140, 4, 1.0);
    let mut y = 420.0;
    let wraps = |r: &Row| r.cells.iter().any(|c| matches!(&c.value, Printed::Boxes(o) if o.len() > 2));
    let table_rows = page.rows.iter().flatten().filter(|r| !r.header).map(|r| if wraps(r) && style == Style::Table { 1.6 } else { 1.0 }).sum::<f32>();
    let table_step = ((HEIGHT as f32 - 560.0) / table_rows.max(1.0)).min(112.0);
    let below_step = ((HEIGHT as f32 - 600.0) / table_rows.max(1.0)).min(160.0);
    for row in &page.rows {
        let Some(row) = row else {
            if style != Style::Table {
                canvas.rect(70, (y - 50.0) as i32, WIDTH as i32 - 140, 3, 1.0);
                y += 40.0;
            }
            continue;
        };
        if let (true, Some(Printed::Table(columns, rows))) = (row.table, row.cells.first().map(|c| &c.value)) {
            y = draw_table(canvas, fonts, left - 20.0, right_edge + 20.0, y, columns, rows);
            continue;
        }
        if row.header {
            // A grid: labels across, values under each, ruled.
            let width = (right_edge - left) / row.cells.len() as f32;
            let extra = row.cells.iter().map(|c| label_extra(&c.label, 36.0)).fold(0.0, f32::max);
            canvas.rect(left as i32 - 20, (y - 60.0) as i32, (right_edge - left) as i32 + 40, 3, 1.0);
            for (k, cell) in row.cells.iter().enumerate() {
                let x = left + k as f32 * width;
                draw_label(canvas, fonts, x, y, 36.0, &cell.label);
                draw_value(canvas, fonts, x, y + 100.0 + extra, &cell.value);
            }
            canvas.rect(left as i32 - 20, (y + 130.0 + extra) as i32, (right_edge - left) as i32 + 40, 3, 1.0);
            y += 220.0 + extra;
            continue;
        }
        match style {
            Style::Lines => {
                let mut step = 112.0 + row.cells.iter().map(|c| label_extra(&c.label, 38.0)).fold(0.0, f32::max);
                for (k, cell) in row.cells.iter().enumerate() {
                    let x = if k == 0 { left } else { 960.0 };
                    let after = draw_label(canvas, fonts, x, y, 38.0, &cell.label);
                    if matches!(&cell.value, Printed::Boxes(options) if options.len() > 2) {
                        // A long row of boxes goes under its label.
                        draw_value(canvas, fonts, x + 30.0, y + 70.0, &cell.value);
                        step = 190.0;
                    } else {
                        draw_value(canvas, fonts, after + 28.0, y, &cell.value);
                    }
                }
                y += step;
            }
            Style::Below => {
                let extra = row.cells.iter().map(|c| label_extra(&c.label, 34.0)).fold(0.0, f32::max);
                for (k, cell) in row.cells.iter().enumerate() {
                    let x = if k == 0 { left } else { 960.0 };
                    draw_label(canvas, fonts, x, y, 34.0, &cell.label);
                    draw_value(canvas, fonts, x + 30.0, y + 64.0 + extra, &cell.value);
                }
                y += below_step + extra;
            }
            Style::Table => {
                let cell = &row.cells[0];
                let extra = label_extra(&cell.label, 34.0);
                let step = if wraps(row) { table_step * 1.6 } else { table_step } + extra;
                let (top, split) = (y - table_step * 0.62, 720.0);
                canvas.rect(left as i32 - 30, top as i32, (right_edge - left) as i32 + 60, 3, 1.0);
                canvas.rect(left as i32 - 30, (top + step) as i32, (right_edge - left) as i32 + 60, 3, 1.0);
                for x in [left - 30.0, split, right_edge + 30.0] {
                    canvas.rect(x as i32, top as i32, 3, step as i32 + 3, 1.0);
                }
                draw_label(canvas, fonts, left, y, 34.0, &cell.label);
                draw_value(canvas, fonts, split + 40.0, y + extra / 2.0, &cell.value);
                y += step;
            }
        }
    }
    canvas.rect(70, HEIGHT as i32 - 90, WIDTH as i32 - 140, 4, 1.0);
}
