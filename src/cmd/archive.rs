//! `chartscan facility add|import|list` and `chartscan boxes import|status`: the programme's
//! registry of facilities and the inventory of boxes on their shelves, and each box
//! reconciled against what was scanned and reviewed.

use super::{cli_actor, Context};
use anyhow::{bail, Context as _, Result};
use chart::archive::{box_state, parse_boxes, parse_facilities, BoxState, Facility, RowError};
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum FacilityCommand {
    /// Add a facility to the registry, or change one (by its code).
    Add {
        /// The code its charts are ingested under (`ingest --facility`).
        code: String,
        /// Its name in English.
        #[arg(long)]
        name: String,
        /// Its name in Khmer.
        #[arg(long)]
        name_km: Option<String>,
        /// Its province, in English or Khmer (checked against the gazetteer).
        #[arg(long)]
        province: Option<String>,
        /// How many charts its archive holds.
        #[arg(long)]
        target: Option<i64>,
        /// When its digitisation started (YYYY-MM-DD).
        #[arg(long)]
        start_date: Option<String>,
    },
    /// Add or change facilities from a CSV file with the columns code, name and optionally
    /// name_km, province, target and start_date. Nothing is imported unless every row is good;
    /// every bad row is listed with its line.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// List the registry.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BoxesCommand {
    /// Add or change boxes of the archive from a CSV file with the columns facility, box and
    /// expected (charts) and optionally years and shelf. Nothing is imported unless every row
    /// is good.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Each box reconciled: expected, scanned, in review, approved, rejected, and its state
    /// (not started, in progress, done, too many or too few charts, not in the inventory).
    Status {
        /// Only this facility's boxes.
        #[arg(long)]
        facility: Option<String>,
        /// How far a box's count may be off before it is flagged, as a share of its expected
        /// charts (at least one chart either way).
        #[arg(long, default_value_t = 0.02)]
        tolerance: f64,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn read_csv(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text (save the sheet as CSV UTF-8)", file.display()))
}

fn rejected(file: &Path, errors: Vec<RowError>) -> anyhow::Error {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {}:{e}", file.display())).collect();
    anyhow::anyhow!("{} row(s) of {} cannot be imported, nothing was imported:\n{}", errors.len(), file.display(), lines.join("\n"))
}

pub async fn facility(ctx: &Context, command: FacilityCommand) -> Result<i32> {
    let store = ctx.store().await?;
    let by = cli_actor();
    match command {
        FacilityCommand::Add { code, name, name_km, province, target, start_date } => {
            let f = Facility { code, name, name_km, province, target_charts: target, start_date }.checked().map_err(anyhow::Error::msg)?;
            let done = store.upsert_facilities(std::slice::from_ref(&f)).await?;
            store.audit(&by, "facility_set", None, &serde_json::to_string(&f)?).await?;
            eprintln!("facility {} ({}) {}", f.code, f.name, if done.added > 0 { "added" } else { "updated" });
        }
        FacilityCommand::Import { file } => {
            let rows = parse_facilities(&read_csv(&file)?).map_err(|e| rejected(&file, e))?;
            let done = store.upsert_facilities(&rows).await?;
            store
                .audit(
                    &by,
                    "facility_import",
                    None,
                    &serde_json::json!({"file": file.display().to_string(), "added": done.added, "updated": done.updated}).to_string(),
                )
                .await?;
            eprintln!("{}: {} facilities added, {} updated", file.display(), done.added, done.updated);
        }
        FacilityCommand::List { json } => {
            let all = store.facility_registry().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                eprintln!("no facilities yet: add one with `chartscan facility add CODE --name NAME` or import a CSV");
            } else {
                println!("{:<10} {:<40} {:<18} {:>8}  start", "code", "name", "province", "target");
                for f in all {
                    let name = match &f.name_km {
                        Some(km) => format!("{} ({km})", f.name),
                        None => f.name.clone(),
                    };
                    let target = f.target_charts.map(|t| t.to_string()).unwrap_or_default();
                    println!("{:<10} {:<40} {:<18} {:>8}  {}", f.code, name, f.province.unwrap_or_default(), target, f.start_date.unwrap_or_default());
                }
            }
        }
    }
    Ok(0)
}

/// A state as the table shows it.
fn state_name(s: BoxState) -> &'static str {
    match s {
        BoxState::NotStarted => "not started",
        BoxState::InProgress => "in progress",
        BoxState::Done => "done",
        BoxState::TooMany => "too many: scanned twice?",
        BoxState::TooFew => "too few: charts missing?",
        BoxState::NotInInventory => "not in the inventory",
    }
}

pub async fn boxes(ctx: &Context, command: BoxesCommand) -> Result<i32> {
    let store = ctx.store().await?;
    match command {
        BoxesCommand::Import { file } => {
            let rows = parse_boxes(&read_csv(&file)?).map_err(|e| rejected(&file, e))?;
            let known: std::collections::HashSet<String> = store.facility_registry().await?.into_iter().map(|f| f.code).collect();
            let unknown: std::collections::BTreeSet<&str> = rows.iter().map(|b| b.facility.as_str()).filter(|f| !known.contains(*f)).collect();
            let done = store.import_boxes(&rows).await?;
            store
                .audit(
                    &cli_actor(),
                    "boxes_import",
                    None,
                    &serde_json::json!({"file": file.display().to_string(), "added": done.added, "updated": done.updated}).to_string(),
                )
                .await?;
            eprintln!("{}: {} boxes added, {} updated", file.display(), done.added, done.updated);
            if !unknown.is_empty() {
                eprintln!("note: not in the facility registry yet: {} (chartscan facility add)", unknown.into_iter().collect::<Vec<_>>().join(", "));
            }
        }
        BoxesCommand::Status { facility, tolerance, json } => {
            if !(0.0..=1.0).contains(&tolerance) {
                bail!("--tolerance is a share between 0 and 1 (0.02 is 2%), not {tolerance}");
            }
            let rows = store.box_rows(&store::Facilities::All, facility.as_deref()).await?;
            if json {
                let out: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let mut v = serde_json::to_value(r).expect("plain data");
                        v["state"] = serde_json::to_value(box_state(&r.counts, tolerance)).expect("plain data");
                        v
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(0);
            }
            if rows.is_empty() {
                eprintln!("no boxes: import the inventory with `chartscan boxes import FILE.csv`, and scan with `ingest --box LABEL`");
                return Ok(0);
            }
            println!("{:<10} {:<16} {:>8} {:>8} {:>9} {:>8} {:>8}  state", "facility", "box", "expected", "scanned", "in review", "approved", "rejected");
            let mut flagged = 0;
            for r in &rows {
                let state = box_state(&r.counts, tolerance);
                flagged += matches!(state, BoxState::TooMany | BoxState::TooFew | BoxState::NotInInventory) as usize;
                let label = if r.label.is_empty() { "(no box)" } else { &r.label };
                let expected = r.counts.expected.map(|e| e.to_string()).unwrap_or_else(|| "-".into());
                let c = &r.counts;
                println!(
                    "{:<10} {:<16} {:>8} {:>8} {:>9} {:>8} {:>8}  {}",
                    r.facility,
                    label,
                    expected,
                    c.scanned,
                    c.in_review,
                    c.approved,
                    c.rejected,
                    state_name(state)
                );
            }
            if flagged > 0 {
                eprintln!("{flagged} box(es) to look at: a count off by more than {:.0}%, or a label the inventory does not list", tolerance * 100.0);
            }
        }
    }
    Ok(0)
}
