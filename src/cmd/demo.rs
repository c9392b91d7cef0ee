//! `chartscan demo`: the README's first command ends here. Ingests the bundled sample charts
//! (one folder per facility), creates demo users with fresh passwords and serves the review UI.

use super::{ingest_options, process, today, Context, OcrArgs};
use crate::progress;
use anyhow::{bail, Context as _, Result};
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
    #[command(flatten)]
    web: super::serve::WebArgs,
}

/// The demo's own users: name, role, what the banner calls them.
const DEMO_USERS: [(&str, chart::Role, &str); 4] = [
    ("demo", chart::Role::Reviewer, "Reviewer:  "),
    ("manager", chart::Role::Manager, "Manager:   "),
    ("demo2", chart::Role::Reviewer, "Second reviewer (double keying): "),
    ("admin", chart::Role::Admin, "Admin:     "),
];

pub async fn run(ctx: &Context, args: Args) -> Result<i32> {
    let (store, blobs) = ctx.open().await?;
    // The demo gives its users fresh passwords each time: never in a store with real users.
    let others: Vec<String> = store.users().await?.into_iter().map(|(u, _)| u.name).filter(|n| !DEMO_USERS.iter().any(|(d, ..)| d == n)).collect();
    if !others.is_empty() {
        bail!(
            "this store has users other than the demo's ({}): the demo resets its users' passwords and is not for a store in use; \
             give it its own (--db and --data), or serve this one with `chartscan serve`",
            others.join(", ")
        );
    }
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
    let existing: Vec<String> = store.users().await?.into_iter().map(|(u, _)| u.name).collect();
    let by = super::cli_actor();
    let mut logins = Vec::new();
    for (name, role, title) in DEMO_USERS {
        let password = random_password();
        if existing.iter().any(|e| e == name) {
            store.set_password(name, &password, &by).await?;
            store.set_role(name, role, &by).await?;
        } else {
            store.add_user(name, role, &password, &by).await?;
        }
        logins.push(format!("  {title}{name} / {password}"));
    }
    let listener = tokio::net::TcpListener::bind(&args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    println!();
    println!("  Review UI: http://{addr}/");
    for login in &logins {
        println!("{login}");
    }
    println!("  (Ctrl-C to stop; data in {} and {})", ctx.data.display(), ctx.db);
    println!();
    super::serve::serve(store, blobs, listener, None, &args.web).await?;
    Ok(0)
}

/// 14 random letters and digits (70 bits), easy to type.
fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    loop {
        let password: String = (0..14).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
        if store::users::check_password("demo", &password).is_ok() {
            return password;
        }
    }
}
