//! `chartscan serve`: the review UI and JSON API, until Ctrl-C.

use super::Context;
use anyhow::{Context as _, Result};
use std::time::Duration;
use store::blobs::BlobStore;
use store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to serve on.
    #[arg(long, env = "CHARTSCAN_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Folder the template studio writes uploaded scans to: the one `chartscan watch` reads
    /// (this server never runs OCR itself).
    #[arg(long, env = "CHARTSCAN_INBOX", value_name = "DIR")]
    inbox: Option<std::path::PathBuf>,
    /// A file holding the bearer token a monitoring system (Prometheus) sends to read
    /// /healthz and /metrics without signing in (or CHARTSCAN_METRICS_TOKEN).
    #[arg(long, value_name = "FILE")]
    metrics_token_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    web: WebArgs,
}

/// How users reach the server, and how long their sessions last (serve and demo).
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// The address users open, when it is not the bound one: `https://…` behind a TLS proxy
    /// makes the session cookie `Secure` (with the `__Host-` prefix) and takes the client's
    /// address from a proxy on this machine (`X-Forwarded-For`).
    #[arg(long, env = "CHARTSCAN_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Minutes a session lasts without use (shared clinic computers).
    #[arg(long, env = "CHARTSCAN_SESSION_IDLE", value_name = "MINUTES", default_value_t = 30)]
    session_idle: u64,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let listener = tokio::net::TcpListener::bind(&args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    eprintln!("serving the review UI on http://{}/", listener.local_addr()?);
    let token = match &args.metrics_token_file {
        Some(file) => Some(std::fs::read_to_string(file).with_context(|| format!("reading the metrics token {}", file.display()))?),
        None => std::env::var("CHARTSCAN_METRICS_TOKEN").ok().filter(|t| !t.trim().is_empty()),
    };
    serve_with(store, blobs, listener, args.inbox, &args.web, token.as_deref()).await?;
    Ok(0)
}

/// Serves the review UI on `listener` until Ctrl-C (also the end of `demo`).
pub async fn serve(store: Store, blobs: BlobStore, listener: tokio::net::TcpListener, inbox: Option<std::path::PathBuf>, web: &WebArgs) -> Result<()> {
    serve_with(store, blobs, listener, inbox, web, None).await
}

/// [`serve`], with the monitoring token. Stops on Ctrl-C or SIGTERM (systemd's stop),
/// finishing the requests under way.
async fn serve_with(
    store: Store,
    blobs: BlobStore,
    listener: tokio::net::TcpListener,
    inbox: Option<std::path::PathBuf>,
    web: &WebArgs,
    metrics_token: Option<&str>,
) -> Result<()> {
    if let Some(url) = &web.public_url {
        anyhow::ensure!(url.starts_with("https://") || url.starts_with("http://"), "--public-url {url:?}: give the http(s) address users open");
        eprintln!("users reach it at {url}");
    }
    anyhow::ensure!(web.session_idle >= 1, "--session-idle: at least 1 minute");
    let store = store.with_session_idle(Duration::from_secs(web.session_idle * 60));
    let mut state = review_ui::AppState::new(store, blobs);
    if let Some(url) = &web.public_url {
        state = state.with_public_url(url);
    }
    if let Some(dir) = inbox {
        state = state.with_inbox(dir);
    }
    if let Some(token) = metrics_token {
        state = state.with_metrics_token(token).map_err(anyhow::Error::msg)?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("listening for SIGTERM")?;
    review_ui::serve(listener, state, async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    })
    .await?;
    Ok(())
}
