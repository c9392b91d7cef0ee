//! `chartscan serve`: the review UI and JSON API, until Ctrl-C.

use super::Context;
use anyhow::{Context as _, Result};
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
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let listener = tokio::net::TcpListener::bind(&args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    eprintln!("serving the review UI on http://{}/", listener.local_addr()?);
    serve(store, blobs, listener, args.inbox).await?;
    Ok(0)
}

/// Serves the review UI on `listener` until Ctrl-C (also the end of `demo`).
pub async fn serve(store: Store, blobs: BlobStore, listener: tokio::net::TcpListener, inbox: Option<std::path::PathBuf>) -> Result<()> {
    let mut state = review_ui::AppState::new(store, blobs);
    if let Some(dir) = inbox {
        state = state.with_inbox(dir);
    }
    review_ui::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
