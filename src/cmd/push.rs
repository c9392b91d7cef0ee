//! `chartscan push`: send the outbox to a FHIR server (`fhir_push`), with a progress bar.

use super::{hostname, Context};
use anyhow::{Context as _, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
    /// A bearer token for the server, read from FILE (or give it in CHARTSCAN_FHIR_TOKEN).
    /// Never printed or logged; never put credentials in the URL.
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    token_file: Option<PathBuf>,
    /// User name for HTTP basic authentication; the password from --password-file or
    /// CHARTSCAN_FHIR_PASSWORD.
    #[arg(long, env = "CHARTSCAN_FHIR_USER")]
    user: Option<String>,
    /// The basic-authentication password, read from FILE.
    #[arg(long, value_name = "FILE", requires = "user")]
    password_file: Option<PathBuf>,
    /// Trust this certificate authority too (PEM): a hospital's own, for a server whose
    /// certificate it signed.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Allow a plain http:// URL (patient data unencrypted on the network: for a server on
    /// this machine or a test only).
    #[arg(long)]
    allow_insecure_http: bool,
}

/// A secret from a file (its first line) or the environment.
fn secret(file: Option<&Path>, env: &str) -> Result<Option<String>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let first = text.lines().next().unwrap_or("").trim().to_string();
        anyhow::ensure!(!first.is_empty(), "{} is empty", path.display());
        return Ok(Some(first));
    }
    Ok(std::env::var(env).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
}

/// The credentials given, if any.
fn credentials(args: &Args) -> Result<Option<fhir_push::Credentials>> {
    if let Some(user) = &args.user {
        let password = secret(args.password_file.as_deref(), "CHARTSCAN_FHIR_PASSWORD")?
            .context("--user needs a password: --password-file FILE or CHARTSCAN_FHIR_PASSWORD")?;
        return Ok(Some(fhir_push::Credentials::Basic { user: user.clone(), password }));
    }
    Ok(secret(args.token_file.as_deref(), "CHARTSCAN_FHIR_TOKEN")?.map(fhir_push::Credentials::Bearer))
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let url = &args.fhir_url;
    let insecure = url.starts_with("http://");
    anyhow::ensure!(insecure || url.starts_with("https://"), "--fhir-url: give the server's https:// base URL");
    anyhow::ensure!(
        !url.split_once("://").is_some_and(|(_, rest)| rest.split('/').next().unwrap_or("").contains('@')),
        "--fhir-url carries credentials, which would be printed and audited: give them in CHARTSCAN_FHIR_TOKEN or --token-file (or --user with --password-file) instead"
    );
    anyhow::ensure!(
        !insecure || args.allow_insecure_http,
        "--fhir-url {url}: plain http would send patient records unencrypted; use https://, or --allow-insecure-http for a server on this machine"
    );
    let ca = args.ca_file.as_ref().map(|f| std::fs::read(f).with_context(|| format!("reading --ca-file {}", f.display()))).transpose()?;
    let tls = fhir_push::tls_config(ca.as_deref()).map_err(|e| anyhow::anyhow!("--ca-file: {e}"))?;
    let credentials = credentials(&args)?;
    anyhow::ensure!(args.batch_size >= 1 && args.attempts >= 1, "--batch-size and --attempts must be at least 1");
    let (store, blobs) = ctx.open().await?;
    let opts = fhir_push::PushOptions {
        url: url.clone(),
        credentials,
        tls,
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
