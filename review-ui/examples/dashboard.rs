//! The programme dashboard at size (issue 18): fills a store with a programme's history
//! (`store::synthetic::seed_programme`: CHARTS charts across FACILITIES facilities over 540
//! days) unless it holds charts already, then times what one load of the dashboard does
//! (reading the totals, the per-facility burn-ups and forecasts, drawing every plot) and, as
//! the baseline in the same process, the statistics counted from the tables as the dashboard
//! did before the running totals (migration 0019).
//!
//! `cargo run --release -p review-ui --example dashboard -- URL [CHARTS] [FACILITIES]`
//! (`tests/bench/dashboard.sh` runs it at 1,000,000 charts and 30 facilities on PostgreSQL).

use review_ui::programme::{self, Lang, Plot};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("a database URL (sqlite://PATH or postgres://...)");
    let charts: i64 = args.next().map_or(1_000_000, |a| a.parse().expect("CHARTS is a number"));
    let facilities: i64 = args.next().map_or(30, |a| a.parse().expect("FACILITIES is a number"));
    let s = store::Store::open(&url).await.unwrap();
    let have = s.stats().await.unwrap().charts.total;
    if have == 0 {
        let secs = store::synthetic::seed_programme(&url, charts, facilities, 540).await.unwrap();
        println!("seeded {charts} charts across {facilities} facilities in {secs:.0} s");
    } else {
        println!("store holds {have} charts already");
    }
    let scope = store::Facilities::All;
    let today = store::now_ms().div_euclid(86_400_000);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let (mut reads, mut draws, mut base) = (Vec::new(), Vec::new(), Vec::new());
    let mut drawn = 0;
    for round in 0..7 {
        let t = Instant::now();
        let p = programme::gather(&s, &scope, today, today - programme::DASHBOARD_DAYS + 1, today).await.unwrap();
        let read = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        for plot in [Plot::Throughput, Plot::Backlog, Plot::Quality, Plot::Reviewers, Plot::Operators] {
            drawn += programme::svg(&p, plot, None, Lang::En).unwrap().len();
        }
        for f in &p.facilities {
            drawn += programme::svg(&p, Plot::Burnup, Some(&f.code), Lang::En).unwrap().len();
        }
        let draw = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let counted = counted_stats(&pool).await;
        if round > 0 {
            reads.push(read);
            draws.push(draw);
            base.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        assert_eq!(counted, p.facilities.iter().map(|f| f.charts.total).sum::<i64>(), "the running totals agree with counting the charts");
    }
    let (r, d, b) = (median(reads), median(draws), median(base));
    println!("dashboard, reading the running totals (counts, {facilities} facilities' burn-ups and forecasts, every table): median {r:.0} ms over 6 loads");
    println!("dashboard, drawing every plot ({} SVGs, {} kB each load): median {d:.0} ms", facilities + 5, drawn / 7 / 1000);
    println!("dashboard in all: median {:.0} ms (target: under 1,000 ms at 1,000,000 charts and 30 facilities on PostgreSQL)", r + d);
    println!("baseline, the statistics counted from the tables as before the running totals: median {b:.0} ms");
    println!("ratio, reading the totals / counting the tables: {:.3}", r / b);
}

/// What `/api/stats` read before migration 0019, the baseline: every chart counted by facility
/// and status, by day scanned and decided, by reviewer; every correction and decision in the
/// audit log; every page; every record. Returns the charts counted.
async fn counted_stats(pool: &sqlx::AnyPool) -> i64 {
    use sqlx::Row;
    let mut total = 0;
    for r in sqlx::query("SELECT facility, status, COUNT(*) FROM charts GROUP BY facility, status").fetch_all(pool).await.unwrap() {
        total += r.try_get::<i64, _>(2).unwrap();
    }
    for sql in [
        "SELECT created_at / 86400000, COUNT(*) FROM charts GROUP BY created_at / 86400000",
        "SELECT reviewed_at / 86400000, status, COUNT(*) FROM charts WHERE reviewed_at IS NOT NULL AND status IN ('approved', 'rejected') GROUP BY reviewed_at / 86400000, status",
        "SELECT reviewer, status, COUNT(*) FROM charts WHERE reviewer IS NOT NULL GROUP BY reviewer, status",
        "SELECT a.actor, a.detail FROM audit_log a JOIN charts c ON c.public_id = a.chart_id WHERE a.action = 'edit_field'",
        "SELECT a.at, a.actor, a.action, a.chart_id FROM audit_log a JOIN charts c ON c.public_id = a.chart_id WHERE a.action IN ('claim', 'approve', 'reject') ORDER BY a.id",
        "SELECT p.status, COUNT(*) FROM pages p JOIN charts c ON c.id = p.chart_id GROUP BY p.status",
        "SELECT COUNT(*) FROM patients",
        "SELECT COUNT(*) FROM encounters",
        "SELECT COUNT(*) FROM facts",
        "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
    ] {
        sqlx::query(sql).fetch_all(pool).await.unwrap();
    }
    total
}
