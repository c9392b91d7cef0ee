//! `chartscan audit verify`: walks the audit log's hash chain and reports the first broken
//! link. Exit code 0 when the chain is whole, 1 when it is not.

use super::Context;
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that no audit entry was changed or deleted: each entry carries the hash of the
    /// one before it and a hash over its own content. Prints the last entry's hash; keep it
    /// elsewhere (a notebook, a ticket) to tell later whether entries were cut off the end.
    Verify {
        /// Print one JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(ctx: &Context, command: Command) -> Result<i32> {
    let Command::Verify { json } = command;
    let store = ctx.store().await?;
    let check = store.verify_audit().await?;
    if json {
        let v = serde_json::json!({
            "entries": check.entries, "chained": check.chained, "unchained": check.unchained, "head": check.head,
            "broken": check.broken.as_ref().map(|(id, why)| serde_json::json!({"entry": id, "reason": why})),
        });
        println!("{v}");
    } else if let Some((id, why)) = &check.broken {
        println!("BROKEN at audit entry {id}: {why}. {} entries before it are intact.", check.chained);
    } else {
        let head = check.head.as_deref().unwrap_or("-");
        println!("audit log intact: {} entries chained ({} older entries from before the chain), last hash {head}", check.chained, check.unchained);
    }
    Ok(if check.broken.is_some() { 1 } else { 0 })
}
