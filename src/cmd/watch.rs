//! `chartscan watch`: ingest each scan dropped into a folder once it is complete (its size and
//! time settled), then process it; until Ctrl-C.

use super::{process, BatchArgs, Context, OcrArgs};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder clerks or scanners drop files into.
    dir: PathBuf,
    #[command(flatten)]
    batch: BatchArgs,
    /// Move each file here once it is committed (default: leave it where it is).
    #[arg(long, value_name = "DIR")]
    move_to: Option<PathBuf>,
    /// Move rejected files here, with a .reason.txt beside each (default: leave them).
    #[arg(long, value_name = "DIR")]
    rejected_to: Option<PathBuf>,
    /// Seconds a file's size and time must stay unchanged before it is taken.
    #[arg(long, default_value_t = 3.0)]
    settle: f64,
    /// Seconds between scans of the folder.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// Only import and queue; leave OCR to `chartscan worker`.
    #[arg(long)]
    no_process: bool,
    #[command(flatten)]
    ocr: OcrArgs,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    anyhow::ensure!(args.dir.is_dir(), "{} is not a folder", args.dir.display());
    let ingest = args.batch.options(std::slice::from_ref(&args.dir), &args.ocr, chart::SplitOn::None);
    let watch = ingest::watch::WatchOptions {
        dir: args.dir.clone(),
        move_to: args.move_to.clone(),
        rejected_to: args.rejected_to.clone(),
        settle: Duration::from_secs_f64(args.settle.max(0.0)),
        interval: Duration::from_secs_f64(args.interval.max(0.05)),
    };
    eprintln!("watching {} (settle {} s; Ctrl-C to stop)", args.dir.display(), args.settle);
    let mut watcher = ingest::watch::Watcher::default();
    let options = args.ocr.options();
    loop {
        let round = watcher.round(&store, &blobs, &ingest, &watch).await?;
        if round != ingest::watch::RoundReport::default() {
            eprintln!("{} accepted, {} duplicate(s), {} rejected", round.accepted, round.duplicates, round.rejected);
            if !args.no_process {
                process(&store, &blobs, &options, false).await?;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(watch.interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(0),
        }
    }
}
