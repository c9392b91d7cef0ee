//! `GET /healthz` and `GET /metrics` (issue 19), for the people and the monitoring system that
//! keep a clinic's installation running. Both read the store (every worker of the
//! installation writes its work there) and the data directory's file system, so one server
//! reports for all. Neither is open: a manager's or admin's session, or the bearer token the
//! server was given (`serve --metrics-token-file`), reads them; they show counts only, never
//! patient data.

use crate::auth::{constant_time_eq, session_token};
use crate::{AppError, AppState};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use serde_json::json;
use store::monitor::{Monitor, PAGE_SECONDS_BUCKETS};

/// Free space below this on the data directory's file system fails the health check.
pub const MIN_FREE_BYTES: u64 = 1 << 30;
/// A page waiting longer than this for a worker fails the health check (workers stopped?).
pub const MAX_QUEUE_AGE_SECONDS: i64 = 3600;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics))
}

/// A manager's or admin's session, or the monitoring token.
async fn allowed(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    if let (Some(token), Some(given)) = (&state.metrics_token, headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())) {
        if given.strip_prefix("Bearer ").is_some_and(|g| constant_time_eq(g.trim().as_bytes(), token.as_bytes())) {
            return Ok(());
        }
        return Err(AppError::Forbidden("wrong monitoring token".into()));
    }
    let token = session_token(headers, state.cookie_name()).ok_or(AppError::Unauthorized)?;
    let session = state.store.session(&token).await?.ok_or(AppError::Unauthorized)?;
    if session.user.role.can_manage() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("a {} may not read the server's health", session.user.role)))
    }
}

async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    allowed(&state, &headers).await?;
    let now = store::now_ms();
    let (store_ok, monitor, store_error) = match state.store.monitor().await {
        Ok(m) => (true, Some(m), None),
        Err(e) => (false, None, Some(e.to_string())),
    };
    let disk = store::blobs::disk_space(state.blobs.root());
    let disk_ok = disk.as_ref().is_ok_and(|(free, _)| *free >= MIN_FREE_BYTES);
    let queue_age = monitor.as_ref().and_then(|m| m.oldest_queued_at).map(|at| (now - at).max(0) / 1000);
    let queue_ok = queue_age.is_none_or(|age| age <= MAX_QUEUE_AGE_SECONDS);
    let ok = store_ok && disk_ok && queue_ok;
    let body = json!({
        "status": if ok { "ok" } else { "fail" },
        "store": {"ok": store_ok, "error": store_error},
        "disk": match &disk {
            Ok((free, total)) => json!({"ok": disk_ok, "free_bytes": free, "total_bytes": total, "min_free_bytes": MIN_FREE_BYTES}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        "queue": {"ok": queue_ok, "pages_waiting": monitor.as_ref().map(|m| m.pages.get("queued").copied().unwrap_or(0)), "oldest_seconds": queue_age, "max_seconds": MAX_QUEUE_AGE_SECONDS},
    });
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok((code, axum::Json(body)).into_response())
}

/// The store's snapshot as Prometheus metrics, encoded by `prometheus-client`.
#[derive(Debug)]
struct Snapshot {
    m: Monitor,
    now_ms: i64,
    disk: Option<(u64, u64)>,
}

impl Snapshot {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.m;
        let mut family = e.encode_descriptor("chartscan_pages", "Pages by processing state.", None, MetricType::Gauge)?;
        for (state, n) in &m.pages {
            ConstGauge::new(*n).encode(family.encode_family(&[("state", state.as_str())])?)?;
        }
        let mut family = e.encode_descriptor("chartscan_charts", "Charts by status.", None, MetricType::Gauge)?;
        for (status, n) in &m.charts {
            ConstGauge::new(*n).encode(family.encode_family(&[("status", status.as_str())])?)?;
        }
        let count = |k: &str| m.pages.get(k).copied().unwrap_or(0).max(0) as u64;
        ConstCounter::new(count("done")).encode(e.encode_descriptor("chartscan_pages_processed", "Pages read and extracted.", None, MetricType::Counter)?)?;
        ConstCounter::new(count("failed")).encode(e.encode_descriptor(
            "chartscan_pages_failed",
            "Pages given up after their attempts.",
            None,
            MetricType::Counter,
        )?)?;
        ConstGauge::new((count("queued") + count("processing")) as i64).encode(e.encode_descriptor(
            "chartscan_queue_depth",
            "Pages waiting for or held by a worker.",
            None,
            MetricType::Gauge,
        )?)?;
        let age = m.oldest_queued_at.map_or(0, |at| (self.now_ms - at).max(0) / 1000);
        ConstGauge::new(age).encode(e.encode_descriptor(
            "chartscan_queue_oldest_age_seconds",
            "Age of the chart of the oldest page waiting for a worker (0: none waiting).",
            None,
            MetricType::Gauge,
        )?)?;
        let mut family = e.encode_descriptor(
            "chartscan_review_actions",
            "Reviewers' approvals and rejections (net of approvals taken back) and corrections.",
            None,
            MetricType::Counter,
        )?;
        for (action, n) in [("approve", m.approvals), ("reject", m.rejections), ("correct", m.corrections)] {
            ConstCounter::new(n.max(0) as u64).encode(family.encode_family(&[("action", action)])?)?;
        }
        ConstGauge::new(m.push_backlog).encode(e.encode_descriptor(
            "chartscan_push_backlog",
            "Committed changes not yet confirmed by the hospital system.",
            None,
            MetricType::Gauge,
        )?)?;
        // The page-time histogram: cumulative buckets, as Prometheus reads them.
        let mut cumulative = 0u64;
        let mut buckets = Vec::new();
        for (i, n) in m.page_seconds.iter().enumerate() {
            cumulative += n;
            buckets.push((PAGE_SECONDS_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY), *n));
        }
        let histogram =
            e.encode_descriptor("chartscan_page_seconds", "Seconds a worker took per page, from claim to result (OCR and all).", None, MetricType::Histogram)?;
        encode_histogram(histogram, m.page_seconds_sum, cumulative, &buckets)?;
        if let Some((free, total)) = self.disk {
            let mut family = e.encode_descriptor("chartscan_data_disk_bytes", "The data directory's file system.", None, MetricType::Gauge)?;
            ConstGauge::new(free as i64).encode(family.encode_family(&[("kind", "free")])?)?;
            ConstGauge::new(total as i64).encode(family.encode_family(&[("kind", "total")])?)?;
        }
        let mut family = e.encode_descriptor("chartscan_build", "This server's version.", None, MetricType::Info)?;
        family.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
        Ok(())
    }
}

fn encode_histogram(mut encoder: prometheus_client::encoding::MetricEncoder, sum: f64, count: u64, buckets: &[(f64, u64)]) -> Result<(), std::fmt::Error> {
    encoder.encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, buckets, None)
}

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        Snapshot::encode(self, encoder)
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    allowed(&state, &headers).await?;
    let m = state.store.monitor().await?;
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(Snapshot { m, now_ms: store::now_ms(), disk: store::blobs::disk_space(state.blobs.root()).ok() }));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}
