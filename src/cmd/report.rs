//! `chartscan report --month YYYY-MM --out report.html`: the monthly report for donors and
//! directors (the dashboard's `/report` page, written to a file with its stylesheet inside):
//! the month's and the to-date totals per facility, forecasts and the plots.

use super::{cli_actor, Context};
use anyhow::{Context as _, Result};
use review_ui::programme::{self, Css, Lang};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The month, YYYY-MM (default: this month).
    #[arg(long)]
    month: Option<String>,
    /// Where to write the HTML page (print it to PDF from a browser for A4).
    #[arg(long, default_value = "report.html")]
    out: PathBuf,
    /// Language of the report: en or km.
    #[arg(long, default_value = "en", value_parser = ["en", "km"])]
    lang: String,
    /// Only these facilities (repeat for several); default: all.
    #[arg(long = "facility", value_name = "CODE")]
    facilities: Vec<String>,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let store = ctx.store().await?;
    let today = store::now_ms().div_euclid(86_400_000);
    let month = args.month.unwrap_or_else(|| programme::date(today)[..7].to_string());
    let (from, to) = programme::month_days(&month).with_context(|| format!("month {month:?}: use YYYY-MM, for example 2026-11"))?;
    let scope = if args.facilities.is_empty() { store::Facilities::All } else { store::Facilities::Only(args.facilities) };
    let p = programme::gather(&store, &scope, today.min(to), from, to).await?;
    let html = programme::report_html(&p, &month, Lang::from_code(Some(&args.lang)), Css::Inline);
    std::fs::write(&args.out, html).with_context(|| format!("writing {}", args.out.display()))?;
    store.audit(&cli_actor(), "view_report", None, &month).await?;
    eprintln!(
        "{}: report for {month}: {} facilities; this month {} scanned, {} approved, {} rejected",
        args.out.display(),
        p.facilities.len(),
        p.period.scanned,
        p.period.approved,
        p.period.rejected
    );
    Ok(0)
}
