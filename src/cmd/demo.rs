//! `chartscan demo`: the README's first command ends here. Ingests the bundled sample charts
//! (one folder per facility), creates demo users with fresh passwords and serves the review UI.

use super::{ingest_options, process, today, Context, OcrArgs};
use crate::progress;
use anyhow::{Context as _, Result};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of sample charts, one sub-folder per facility code.
    #[arg(long, default_value = "samples/charts")]
    samples: PathBuf,
    /// Address to serve on.
    #[arg(long, env = "CHARTSCAN_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    #[command(flatten)]
    ocr: OcrArgs,
}

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    let mut facilities: Vec<PathBuf> = std::fs::read_dir(&args.samples)
        .with_context(|| format!("reading {} (run the demo from the repository root)", args.samples.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    facilities.sort();
    let show = std::io::stderr().is_terminal();
    for dir in &facilities {
        let facility = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let options = ingest_options(&facility, format!("{}-samples", today()), None, None, &args.ocr, chart::SplitOn::None);
        let bars: Box<dyn ingest::Progress> = if show { Box::new(progress::Bars::files()) } else { Box::new(progress::Log) };
        let r = ingest::ingest_files(&store, &blobs, std::slice::from_ref(dir), &options, bars.as_ref()).await?;
        drop(bars);
        eprintln!("{facility}: {} accepted, {} duplicate(s), {} rejected", r.accepted, r.duplicates, r.rejected.len());
    }
    process(&store, &blobs, &args.ocr.options(), show).await?;
    let reviewer = random_password();
    let manager = random_password();
    store.add_user("demo", chart::Role::Reviewer, &reviewer).await?;
    store.add_user("manager", chart::Role::Manager, &manager).await?;
    let (reviewer2, admin) = (random_password(), random_password());
    store.add_user("demo2", chart::Role::Reviewer, &reviewer2).await?;
    store.add_user("admin", chart::Role::Admin, &admin).await?;
    let listener = tokio::net::TcpListener::bind(&args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    println!();
    println!("  Review UI: http://{addr}/");
    println!("  Reviewer:  demo / {reviewer}");
    println!("  Manager:   manager / {manager}");
    println!("  Second reviewer (double keying): demo2 / {reviewer2}");
    println!("  Admin:     admin / {admin}");
    println!("  (Ctrl-C to stop; data in {} and {})", ctx.data.display(), ctx.db);
    println!();
    super::serve::serve(store, blobs, listener, None).await?;
    Ok(0)
}

fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
