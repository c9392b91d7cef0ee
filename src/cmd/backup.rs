//! `chartscan backup DIR [--verify]` and `chartscan restore DIR`: a consistent copy of the
//! store and the data directory while the service runs, checked by a manifest of hashes,
//! incremental for the data directory; restored only into an empty place unless told.

use super::{cli_actor, Context};
use anyhow::{Context as _, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup folder (a new snapshot is added; originals and page images already in it
    /// are not copied again).
    dir: PathBuf,
    /// Check the folder's snapshots against their manifests instead (exit 1 on any problem).
    #[arg(long)]
    verify: bool,
    /// Only this snapshot (with --verify).
    #[arg(long, requires = "verify")]
    snapshot: Option<String>,
    /// JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup folder.
    dir: PathBuf,
    /// The snapshot to restore (default: the newest).
    #[arg(long)]
    snapshot: Option<String>,
    /// Restore over a database or data directory that is not empty.
    #[arg(long)]
    force: bool,
}

pub async fn backup(ctx: &Context, args: BackupArgs) -> Result<i32> {
    if args.verify {
        let report = store::backup::verify(&args.dir, args.snapshot.as_deref())?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            eprintln!("{}: {} snapshot(s), {} file(s) checked, {} problem(s)", args.dir.display(), report.snapshots.len(), report.files, report.problems.len());
        }
        return Ok(if report.problems.is_empty() { 0 } else { 1 });
    }
    let store = ctx.store().await?;
    let report = store.backup(ctx.db.expose(), &ctx.data, &args.dir).await.with_context(|| format!("backing up into {}", args.dir.display()))?;
    store.audit(&cli_actor(), "backup", None, &serde_json::to_string(&report)?).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprintln!(
            "{}: snapshot {}: database {:.1} MiB, {} files of the data directory ({} new, {:.1} MiB copied) in {:.1} s",
            args.dir.display(),
            report.snapshot,
            report.database_bytes as f64 / 1048576.0,
            report.blobs,
            report.blobs_copied,
            report.bytes_copied as f64 / 1048576.0,
            report.seconds
        );
    }
    Ok(0)
}

pub async fn restore(ctx: &Context, args: RestoreArgs) -> Result<i32> {
    let report = store::backup::restore(&args.dir, args.snapshot.as_deref(), ctx.db.expose(), &ctx.data, args.force).await?;
    // Opening the store brings a snapshot of an older release up to this one's schema.
    let store = ctx.store().await?;
    store.audit(&cli_actor(), "restore", None, &serde_json::to_string(&report)?).await?;
    eprintln!("restored snapshot {} into {} and {} ({} files) in {:.1} s", report.snapshot, ctx.db, ctx.data.display(), report.blobs, report.seconds);
    Ok(0)
}
