//! `chartscan commit`: commit approved charts that have no structured record yet, matching
//! their patients; charts whose patient is uncertain are listed for a reviewer.

use super::Context;
use anyhow::Result;

/// Exit code 3 when some charts need a reviewer to choose their patient.
pub async fn run(ctx: &Context) -> Result<i32> {
    let store = ctx.store().await?;
    let (mut done, mut asked, mut skipped) = (0, Vec::new(), 0);
    for (chart, reviewer) in store.approved_uncommitted().await? {
        match store.commit_chart(&chart, reviewer.as_deref().unwrap_or("cli")).await {
            Ok(Some(_)) => done += 1,
            Ok(None) => skipped += 1,
            Err(store::StoreError::NeedsPatientChoice { candidates, .. }) => asked.push((chart, candidates.len())),
            Err(e) => return Err(e.into()),
        }
    }
    eprintln!("{done} chart(s) committed, {skipped} without a form that records a patient, {} need a reviewer to choose the patient", asked.len());
    for (chart, n) in &asked {
        println!("{chart}\t{n} candidate patient(s): open /charts/{chart}, un-approve and approve choosing the patient");
    }
    Ok(if asked.is_empty() { 0 } else { 3 })
}
