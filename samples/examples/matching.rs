//! Patient-matching benchmark: generates invented patients who come back to clinics under
//! varying spellings (samples/src/people.rs), matches every chart as approvals would, and
//! prints precision and recall against the truth, with a sweep of the auto-link threshold.
//!
//!     cargo run --release -p samples --example matching [-- PEOPLE [SEED]]

use chart::matching::{ASK, AUTO_LINK};
use samples::people::{evaluate, generate};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let people: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2026);
    let charts = generate(people, seed);
    let t = Instant::now();
    let r = evaluate(&charts);
    let elapsed = t.elapsed();
    println!("patient matching: {people} people, {} charts (seed {seed}), auto-link at {AUTO_LINK}, ask from {ASK}", r.charts);
    println!("  returning patients (should link)   {:>6}", r.returning);
    println!("  linked without asking              {:>6}  ({} right)", r.auto_links, r.auto_correct);
    println!("  precision of automatic links       {:>9.2}%", 100.0 * r.precision());
    println!("  recall without asking              {:>9.2}%", 100.0 * r.recall());
    println!("  recall once reviewers answer       {:>9.2}%", 100.0 * r.recall_with_review());
    println!("  charts put to a reviewer           {:>9.2}%  ({})", 100.0 * r.ask_rate(), r.asked);
    println!("  duplicate patients created         {:>6}", r.duplicates);
    println!("  true patient among candidates      {:>9.2}%", 100.0 * r.blocked_in as f64 / r.returning.max(1) as f64);
    println!("  comparisons per chart              {:>9.2}", r.comparisons as f64 / r.charts.max(1) as f64);
    println!("  threshold sweep (same decisions):  threshold  precision  recall");
    for t in [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99] {
        let (p, rc) = r.sweep(t);
        println!("                                     {t:>9.2}  {:>8.2}%  {:>6.2}%", 100.0 * p, 100.0 * rc);
    }
    println!("  time per chart                     {:>9.1} µs", elapsed.as_secs_f64() * 1e6 / r.charts.max(1) as f64);
}
