//! Times the review queue on a store, one request at a time (developer tool:
//! `cargo run --release -p store --example queue_timing -- URL`).
#[tokio::main]
async fn main() {
    let url = std::env::args().nth(1).expect("a database URL");
    let s = store::Store::open(&url).await.unwrap();
    for filter in [store::QueueFilter::default(), store::QueueFilter { facility: Some("PP01".into()), ..Default::default() }] {
        let t = std::time::Instant::now();
        for _ in 0..10 {
            s.review_queue_for(200, &filter, Some("someone")).await.unwrap();
        }
        println!("{:?}: {:.1} ms", filter.facility, t.elapsed().as_secs_f64() * 100.0);
    }
}
