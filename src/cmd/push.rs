//! `chartscan push`: send the outbox to a FHIR server (`fhir_push`), with a progress bar.

use super::{hostname, Context};
use anyhow::Result;
use std::io::IsTerminal;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The FHIR server's base URL (transactions are POSTed to it).
    #[arg(long, env = "CHARTSCAN_FHIR_URL")]
    fhir_url: String,
    /// Changes (charts) per transaction.
    #[arg(long, default_value_t = 25)]
    batch_size: i64,
    /// Attempts per transaction when the server is unreachable or answers 408, 429 or 5xx.
    #[arg(long, default_value_t = 6)]
    attempts: u32,
    /// Seconds allowed for one transaction.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Seconds to wait after the first failed attempt (doubling, at most 60).
    #[arg(long, default_value_t = 1.0)]
    backoff: f64,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let url = &args.fhir_url;
    anyhow::ensure!(url.starts_with("http://") || url.starts_with("https://"), "--fhir-url {url:?}: give the server's http(s) base URL");
    anyhow::ensure!(args.batch_size >= 1 && args.attempts >= 1, "--batch-size and --attempts must be at least 1");
    let (store, blobs) = ctx.open().await?;
    let opts = fhir_push::PushOptions {
        url: url.clone(),
        batch: args.batch_size,
        attempts: args.attempts,
        timeout: Duration::from_secs(args.timeout),
        backoff: Duration::from_secs_f64(args.backoff.max(0.0)),
        actor: format!("push@{}:{}", hostname(), std::process::id()),
    };
    let total = store.outbox_pending_count().await?;
    let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("pushing {bar:40} {pos}/{len} changes {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let result = fhir_push::push(&store, &blobs, &opts, |r, pending| {
        if let Some(b) = &bar {
            b.set_position((total - pending).max(0) as u64);
            b.set_message(format!("({} transaction(s), {} retried)", r.transactions, r.retries));
        }
    })
    .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let r = result?;
    eprintln!(
        "pushed {} chart(s) and {} retraction(s) to {url} in {} transaction(s), {} entries; {} attempt(s) retried",
        r.charts, r.retracted, r.transactions, r.entries, r.retries
    );
    Ok(0)
}
