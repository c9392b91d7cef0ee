//! `chartscan worker`: process queued pages, waiting for more (or, with `--once`, until the
//! queue is empty). Any number of workers may share one PostgreSQL store.

use super::{process, Context, OcrArgs};
use anyhow::Result;
use std::io::IsTerminal;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit when the queue is empty instead of waiting for more.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    ocr: OcrArgs,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let options = args.ocr.options();
    let show = std::io::stderr().is_terminal();
    loop {
        process(&store, &blobs, &options, show).await?;
        if args.once {
            return Ok(0);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(0),
        }
    }
}
