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
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let listener = tokio::net::TcpListener::bind(&args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    eprintln!("serving the review UI on http://{}/", listener.local_addr()?);
    serve(store, blobs, listener).await?;
    Ok(0)
}

/// Serves the review UI on `listener` until Ctrl-C (also the end of `demo`).
pub async fn serve(store: Store, blobs: BlobStore, listener: tokio::net::TcpListener) -> Result<()> {
    let state = review_ui::AppState::new(store, blobs);
    review_ui::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
