//! `chartscan stats`: counts of charts and pages by status, facility, day and reviewer, as a
//! table or as the JSON of docs/CONTRACT.md.

use super::Context;
use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let store = ctx.store().await?;
    let stats = store.stats().await?;
    if args.json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        print_stats(&stats);
        // The registry's names of the codes above.
        let names: Vec<String> = store
            .facility_registry()
            .await?
            .into_iter()
            .filter(|f| stats.by_facility.contains_key(&f.code))
            .map(|f| match f.name_km {
                Some(km) => format!("{} = {} ({km})", f.code, f.name),
                None => format!("{} = {}", f.code, f.name),
            })
            .collect();
        if !names.is_empty() {
            println!();
            println!("facilities: {}", names.join("; "));
        }
    }
    Ok(0)
}

fn print_stats(s: &store::Stats) {
    let row =
        |name: &str, c: &store::ChartCounts| println!("{name:<10} {:>7} {:>9} {:>9} {:>8} {:>8}", c.total, c.extracted, c.in_review, c.approved, c.rejected);
    println!("{:<10} {:>7} {:>9} {:>9} {:>8} {:>8}", "charts", "total", "extracted", "in_review", "approved", "rejected");
    for (facility, c) in &s.by_facility {
        row(facility, c);
    }
    row("all", &s.charts);
    println!();
    println!("pages: {} total, {} queued, {} done, {} failed", s.pages.total, s.pages.queued, s.pages.done, s.pages.failed);
    let r = &s.records;
    println!(
        "records: {} patients, {} encounters, {} clinical facts; {} change(s) waiting for `chartscan push`",
        r.patients, r.encounters, r.facts, r.outbox_pending
    );
    if !s.by_day.is_empty() {
        println!();
        println!("{:<10} {:>9} {:>9} {:>9}", "day", "ingested", "approved", "rejected");
        for (day, d) in s.by_day.iter().rev().take(14) {
            println!("{day:<10} {:>9} {:>9} {:>9}", d.ingested, d.approved, d.rejected);
        }
    }
    if !s.by_reviewer.is_empty() {
        println!();
        println!("{:<16} {:>9} {:>9} {:>9} {:>10} {:>12}", "reviewer", "approved", "rejected", "in_review", "corrected", "median s");
        for (name, r) in &s.by_reviewer {
            let median = r.median_seconds_per_chart.map_or("-".to_string(), |t| format!("{t:.0}"));
            println!("{name:<16} {:>9} {:>9} {:>9} {:>10} {median:>12}", r.approved, r.rejected, r.in_review, r.fields_corrected);
        }
    }
    if !s.corrections_by_field.is_empty() {
        let mut fields: Vec<(&String, &i64)> = s.corrections_by_field.iter().collect();
        fields.sort_by(|a, b| b.1.cmp(a.1));
        println!();
        println!("corrections by field: {}", fields.iter().map(|(f, n)| format!("{f} {n}")).collect::<Vec<_>>().join(", "));
    }
}
