//! `chartscan ingest`: import files and folders, then (unless `--no-process`) OCR and extract
//! them; a summary or one JSON report, and a rejection report on request.

use super::{process, BatchArgs, Context, OcrArgs};
use crate::progress;
use anyhow::{Context as _, Result};
use ingest::pipeline::{IngestReport, ProcessReport};
use ingest::IngestOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to import.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    batch: BatchArgs,
    /// Write the batch's rejections to FILE (.json for JSON, otherwise CSV: path,reason).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Cut multi-page files into charts: at separator sheets (samples/separator.png),
    /// at blank pages, or not at all. Blank pages are flagged either way, never dropped.
    #[arg(long, default_value = "none", value_parser = ["none", "separator", "blank"])]
    split_on: String,
    /// Only import and queue; leave OCR to `chartscan worker`.
    #[arg(long)]
    no_process: bool,
    /// Print one JSON report on stdout instead of a summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ocr: OcrArgs,
}

/// Exit code 0 when every file was accepted or a duplicate, 3 when some were rejected.
pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let options = args.batch.options(&args.paths, &args.ocr, args.split_on.parse().map_err(anyhow::Error::msg)?);
    if let Some(label) = &options.box_label {
        // A label the inventory lacks is taken (the reconciliation flags it), but said at once:
        // a typo found now costs a second, found later a search of the shelves.
        if store.box_known(&options.facility, label).await? == Some(false) {
            eprintln!(
                "warning: box {label:?} of {} is not in the inventory (chartscan boxes import); its charts are listed as not in the inventory",
                options.facility
            );
        }
    }
    let show = std::io::stderr().is_terminal() && !args.json;
    let bars: Box<dyn ingest::Progress> = if show { Box::new(progress::Bars::files()) } else { Box::new(progress::Log) };
    let report = ingest::ingest_files(&store, &blobs, &args.paths, &options, bars.as_ref()).await?;
    drop(bars);
    if let Some(path) = &args.report {
        write_report(path, &options, &report).with_context(|| format!("writing the report {}", path.display()))?;
    }
    let processed = if args.no_process { ProcessReport::default() } else { process(&store, &blobs, &args.ocr.options(), show).await? };
    print_ingest(&report, &processed, args.json)?;
    Ok(if report.rejected.is_empty() { 0 } else { 3 })
}

/// The batch's rejection report: JSON (with the batch metadata) or CSV of path and reason.
fn write_report(path: &Path, options: &IngestOptions, report: &IngestReport) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        let v = serde_json::json!({
            "facility": options.facility, "batch": options.batch, "box": options.box_label, "operator": options.operator,
            "files": report.files, "accepted": report.accepted, "duplicates": report.duplicates, "rejected": report.rejected,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "path,reason")?;
        for r in &report.rejected {
            writeln!(out, "{},{}", csv_cell(&r.path), csv_cell(&r.reason))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn csv_cell(s: &str) -> String {
    let s = store::export::safe_cell(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The peak resident memory in MiB (Linux) of this process or of the largest of its children
/// (the decoders that checked each file), for the reports.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: getrusage fills the struct it is given.
    let children = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) == 0 {
            usage.ru_maxrss as f64
        } else {
            0.0
        }
    };
    Some(kb.max(children) / 1024.0)
}

fn print_ingest(report: &IngestReport, processed: &ProcessReport, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(report)?;
        v["processed_pages"] = processed.processed_pages.into();
        v["failed_pages"] = processed.failed_pages.into();
        v["peak_rss_mib"] = peak_rss_mib().map(|m| (m * 10.0).round() / 10.0).into();
        v["stage_seconds"] =
            processed.stages.iter().map(|(n, s)| (n.clone(), serde_json::Value::from((s * 1000.0).round() / 1000.0))).collect::<serde_json::Map<_, _>>().into();
        println!("{v}");
        return Ok(());
    }
    println!(
        "{} file(s): {} accepted, {} duplicate(s), {} rejected; {} page(s) queued, {} chart(s) created",
        report.files,
        report.accepted,
        report.duplicates,
        report.rejected.len(),
        report.pages,
        report.charts
    );
    for r in &report.rejected {
        println!("  rejected {}: {}", r.path, r.reason);
    }
    if processed.processed_pages + processed.failed_pages > 0 {
        println!(
            "processed {} page(s) ({} failed attempt(s)) in {:.1} s: {:.2} pages/s, {:.2} s OCR per page",
            processed.processed_pages,
            processed.failed_pages,
            processed.seconds,
            processed.processed_pages as f64 / processed.seconds.max(1e-9),
            processed.stage_seconds("ocr") / (processed.processed_pages.max(1)) as f64
        );
        let per_page: Vec<String> =
            processed.stages.iter().map(|(n, s)| format!("{n} {:.0} ms", s * 1000.0 / processed.processed_pages.max(1) as f64)).collect();
        println!("per page: {}", per_page.join(", "));
    }
    Ok(())
}
