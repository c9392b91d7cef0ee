//! `chartscan export`: JSON lines, CSV or a FHIR bundle, written by `store::export::export`,
//! the same function `GET /api/export` uses.

use super::{output, Context};
use anyhow::Result;
use clap::ValueEnum;
use std::path::PathBuf;
use store::export::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Which charts.
    #[arg(long, value_enum, default_value = "approved")]
    status: ExportStatus,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only charts of this form (opd, ipd, anc, ...); for CSV, its fields are the columns,
    /// in the template's order: one spreadsheet per form.
    #[arg(long)]
    form: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// One JSON object per chart (docs/CONTRACT.md).
    Jsonl,
    /// One row per chart; with --form, that form's fields as columns.
    Csv,
    /// A FHIR R4 transaction Bundle of the committed (approved) records.
    Fhir,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportStatus {
    Any,
    Approved,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let format = match args.format {
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Fhir => Format::Fhir,
    };
    let request = store::export::Request {
        format,
        approved_only: matches!(args.status, ExportStatus::Approved),
        form: args.form.clone(),
        facilities: store::Facilities::All,
    };
    let mut sink = output(args.out.as_deref())?;
    let summary = store::export::export(&store, &blobs, &request, &super::cli_actor(), &mut sink).await?;
    drop(sink);
    if format == Format::Fhir {
        if summary.resources.is_empty() {
            eprintln!("no committed records yet: charts are committed when a reviewer approves them (an empty bundle was written)");
        } else {
            let counts: Vec<String> = summary.resources.iter().map(|(t, n)| format!("{n} {t}")).collect();
            eprintln!("FHIR bundle of {} committed chart(s): {}", summary.charts, counts.join(", "));
        }
    } else if let Some(path) = &args.out {
        eprintln!("{} chart(s) written to {}", summary.charts, path.display());
    }
    Ok(0)
}
