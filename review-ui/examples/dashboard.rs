//! The programme dashboard at size (issue 18): fills a store with a programme's history
//! (`store::synthetic::seed_programme`: CHARTS charts across FACILITIES facilities over 540
//! days) unless it holds charts already, then times what one load of the dashboard does
//! (the totals, the per-facility burn-ups and forecasts, every plot drawn) and, as the
//! baseline in the same process, counting the same charts by facility and status from the
//! charts table as the dashboard did before the running totals.
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
    let (mut dash, mut base) = (Vec::new(), Vec::new());
    let mut drawn = 0;
    for round in 0..7 {
        let t = Instant::now();
        let p = programme::gather(&s, &scope, today, today - programme::DASHBOARD_DAYS + 1, today).await.unwrap();
        for plot in [Plot::Throughput, Plot::Backlog, Plot::Quality, Plot::Reviewers, Plot::Operators] {
            drawn += programme::svg(&p, plot, None, Lang::En).unwrap().len();
        }
        for f in &p.facilities {
            drawn += programme::svg(&p, Plot::Burnup, Some(&f.code), Lang::En).unwrap().len();
        }
        if round > 0 {
            dash.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let t = Instant::now();
        let counted = s.count_charts_by_facility().await.unwrap();
        if round > 0 {
            base.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        assert_eq!(counted, p.facilities.iter().map(|f| f.charts.total).sum::<i64>(), "the running totals agree with counting the charts");
    }
    let (d, b) = (median(dash), median(base));
    println!("dashboard (totals, {} facilities' burn-ups and forecasts, every plot): median {d:.0} ms over 6 loads", facilities);
    println!("baseline, counting the charts by facility and status: median {b:.0} ms");
    println!("ratio, dashboard / counting: {:.2} ({} bytes of SVG drawn)", d / b, drawn);
}
