//! The FHIR push client (`chartscan push`), its own crate because the store knows no HTTP:
//! sends the outbox (committed and retracted records) to a FHIR server as
//! transaction Bundles, oldest first, a batch at a time.
//!
//! Crash safety: an outbox row is marked sent only after the server confirmed the
//! transaction that carried it. A crash (or a lost reply) in between sends the row again, and
//! the bundle's conditional creates (`ifNoneExist` on chartscan identifiers), PUT of the
//! Provenance and conditional deletes make the resend change nothing on the server.

use serde_json::Value;
use std::time::Duration;
use store::blobs::BlobStore;
use store::{OutboxOp, Retraction, Store, StoreError};

/// Why a push stopped. What was not confirmed stays queued, with the error recorded.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another pusher holds the lease.
    #[error("another push is running ({0}); wait for it to finish, or for its lease to expire if it was killed on another machine")]
    Busy(String),
    /// The server refused, failed or stayed unreachable.
    #[error("{0}")]
    Server(String),
}

type Result<T, E = PushError> = std::result::Result<T, E>;

/// How chartscan proves who it is to the FHIR server. Never printed or logged.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// HTTP basic authentication.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
        }
    }
}

impl Credentials {
    fn header(&self) -> String {
        use base64::Engine as _;
        match self {
            Credentials::Bearer(token) => format!("Bearer {token}"),
            Credentials::Basic { user, password } => format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))),
        }
    }
}

/// A TLS configuration that trusts the usual public authorities and, when given, the
/// certificates of `ca_pem` (a hospital's own certificate authority, PEM).
pub fn tls_config(ca_pem: Option<&[u8]>) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = ca_pem {
        let mut added = 0;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("the CA file is not PEM certificates: {e}"))?;
            roots.add(cert).map_err(|e| format!("the CA file's certificate cannot be used: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err("the CA file holds no certificate (-----BEGIN CERTIFICATE-----)".into());
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// How to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The FHIR server's base URL (without credentials in it).
    pub url: String,
    /// Credentials sent with every request, if the server wants them.
    pub credentials: Option<Credentials>,
    /// The TLS configuration ([`tls_config`]).
    pub tls: std::sync::Arc<rustls::ClientConfig>,
    /// Outbox rows per transaction.
    pub batch: i64,
    /// Attempts per transaction before giving up (transient failures only).
    pub attempts: u32,
    /// Time allowed for one transaction.
    pub timeout: Duration,
    /// First wait between attempts (doubled each time, at most 60 s).
    pub backoff: Duration,
    /// Who to name in the audit log.
    pub actor: String,
}

/// What a push did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PushReport {
    /// Transactions the server accepted.
    pub transactions: usize,
    /// Charts sent (committed records).
    pub charts: usize,
    /// Charts retracted.
    pub retracted: usize,
    /// Resources (and deletes) in the accepted transactions.
    pub entries: usize,
    /// Attempts that failed and were retried.
    pub retries: usize,
}

enum Failure {
    /// Worth trying again (network, timeout, 408, 429, 5xx).
    Transient(String),
    /// The server refused the bundle; resending the same will not help.
    Refused(String),
}

fn post(agent: &ureq::Agent, url: &str, credentials: Option<&Credentials>, bundle: &Value) -> Result<Value, Failure> {
    let body = serde_json::to_vec(bundle).map_err(|e| Failure::Refused(e.to_string()))?;
    let mut request = agent.post(url).set("Content-Type", "application/fhir+json").set("Accept", "application/fhir+json");
    if let Some(c) = credentials {
        request = request.set("Authorization", &c.header());
    }
    match request.send_bytes(&body) {
        Ok(res) => {
            let reply: Value = res.into_json().map_err(|e| Failure::Transient(format!("unreadable reply: {e}")))?;
            if reply["resourceType"] != "Bundle" {
                return Err(Failure::Refused(format!("the server answered a {} instead of a transaction-response Bundle", reply["resourceType"])));
            }
            Ok(reply)
        }
        Err(ureq::Error::Status(code, res)) => {
            let text = res.into_string().unwrap_or_default();
            let why = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v["issue"]
                        .as_array()
                        .map(|i| i.iter().filter_map(|x| x["diagnostics"].as_str().or(x["details"]["text"].as_str())).collect::<Vec<_>>().join("; "))
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| text.chars().take(300).collect());
            let msg = format!("HTTP {code}: {why}");
            if code == 408 || code == 429 || code >= 500 {
                Err(Failure::Transient(msg))
            } else {
                Err(Failure::Refused(msg))
            }
        }
        Err(e) => Err(Failure::Transient(e.to_string())),
    }
}

/// Sends every pending outbox row. Returns when the outbox is empty, or fails (leaving the
/// unsent rows pending, with the error recorded) when the server refuses a bundle or stays
/// unreachable through every attempt.
pub async fn push(store: &Store, blobs: &BlobStore, opts: &PushOptions, progress: impl FnMut(&PushReport, i64)) -> Result<PushReport> {
    // One pusher at a time: two could deliver a chart's commit after its retraction. The
    // lease outlives one transaction's timeout, is renewed for each batch, and a killed
    // pusher's lease simply expires.
    let lease_ms = (opts.timeout.as_millis() as i64) * i64::from(opts.attempts) + 120_000;
    if let Err(StoreError::Claimed { by, .. }) = store.take_lock("push", &opts.actor, lease_ms).await {
        // A pusher of this host that no longer runs (killed) gives its lease back at once.
        if !holder_is_dead_here(&by, &opts.actor) {
            return Err(PushError::Busy(by));
        }
        tracing::info!(holder = %by, "taking over the push lease of a pusher that stopped");
        store.release_lock("push", &by).await?;
        store.take_lock("push", &opts.actor, lease_ms).await?;
    }
    let result = push_locked(store, blobs, opts, lease_ms, progress).await;
    store.release_lock("push", &opts.actor).await?;
    result
}

/// Whether the lease holder `push@HOST:PID` is a process of this host that has ended.
fn holder_is_dead_here(holder: &str, me: &str) -> bool {
    let host_of = |o: &str| o.rsplit_once(':').map(|(h, p)| (h.to_string(), p.to_string()));
    match (host_of(holder), host_of(me)) {
        (Some((host, pid)), Some((my_host, _))) => {
            host == my_host && pid.chars().all(|c| c.is_ascii_digit()) && !std::path::Path::new("/proc").join(&pid).exists()
        }
        _ => false,
    }
}

async fn push_locked(store: &Store, blobs: &BlobStore, opts: &PushOptions, lease_ms: i64, mut progress: impl FnMut(&PushReport, i64)) -> Result<PushReport> {
    let agent = ureq::AgentBuilder::new().timeout(opts.timeout).tls_config(opts.tls.clone()).build();
    let url = opts.url.trim_end_matches('/').to_string();
    let mut report = PushReport::default();
    loop {
        let pending = store.outbox_pending_count().await?;
        progress(&report, pending);
        store.take_lock("push", &opts.actor, lease_ms).await?;
        let items = store.outbox_pending(opts.batch).await?;
        if items.is_empty() {
            return Ok(report);
        }
        let mut entries = Vec::new();
        let (mut charts, mut retracted) = (0, 0);
        for item in &items {
            match item.op {
                OutboxOp::Commit => {
                    // A chart un-approved since has nothing to send; its retraction follows.
                    if let Some(mut c) = store.committed_chart(&item.chart).await? {
                        store::export::fill_hashes(store, blobs, std::slice::from_mut(&mut c)).await?;
                        entries.extend(chart::fhir::chart_entries(&c));
                        charts += 1;
                    }
                }
                OutboxOp::Retract => {
                    let r: Retraction = serde_json::from_str(item.payload.as_deref().unwrap_or(""))
                        .map_err(|e| StoreError::Invalid(format!("outbox row {}: retraction payload: {e}", item.id)))?;
                    entries.extend(chart::fhir::delete_entries(&r.deletes));
                    // The patient keeps their other charts: send them as they are now.
                    if let Some(p) = r.patient.as_deref() {
                        if let Some(p) = store.patient_entry(p).await? {
                            entries.extend(chart::fhir::patient_entries(&p, &r.facility));
                        }
                    }
                    retracted += 1;
                }
            }
        }
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let bundle = chart::fhir::transaction(entries);
        let count = bundle["entry"].as_array().map_or(0, Vec::len);
        if count > 0 {
            let mut wait = opts.backoff;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let (a, u, c, b) = (agent.clone(), url.clone(), opts.credentials.clone(), bundle.clone());
                let result = tokio::task::spawn_blocking(move || post(&a, &u, c.as_ref(), &b)).await.map_err(|e| PushError::Server(e.to_string()))?;
                match result {
                    Ok(reply) => {
                        let failed: Vec<String> = reply["entry"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e["response"]["status"].as_str())
                            .filter(|s| !(s.starts_with('2') || s.starts_with("404")))
                            .map(str::to_string)
                            .collect();
                        if !failed.is_empty() {
                            let msg = format!("the server accepted the transaction but reported {}", failed.join(", "));
                            store.outbox_failed(&ids, &msg).await?;
                            return Err(PushError::Server(msg));
                        }
                        break;
                    }
                    Err(Failure::Transient(msg)) if attempt < opts.attempts => {
                        tracing::warn!(attempt, error = %msg, "FHIR server did not take the batch; trying again in {:?}", wait);
                        store.outbox_failed(&ids, &msg).await?;
                        report.retries += 1;
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(60));
                    }
                    Err(Failure::Transient(msg)) => {
                        store.outbox_failed(&ids, &msg).await?;
                        return Err(PushError::Server(format!(
                            "the FHIR server at {url} did not take the batch after {attempt} attempts: {msg}; the records stay queued, run push again"
                        )));
                    }
                    Err(Failure::Refused(msg)) => {
                        store.outbox_failed(&ids, &msg).await?;
                        return Err(PushError::Server(format!(
                            "the FHIR server at {url} refused the batch of {} change(s) (charts {}): {msg}; they stay queued",
                            ids.len(),
                            items.iter().map(|i| i.chart.as_str()).collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            }
            report.transactions += 1;
        }
        store.outbox_sent(&ids, &opts.actor, &url).await?;
        report.charts += charts;
        report.retracted += retracted;
        report.entries += count;
    }
}
