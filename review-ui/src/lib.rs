//! The review web application: login, the review queue, the review page, the manager
//! dashboard, exports, and the JSON API of docs/CONTRACT.md.
//!
//! Invariant: every route except `POST /login`, the login page and static assets requires a
//! session (401 for the API, a redirect for pages) and the right role (403); state-changing
//! requests must carry the session's CSRF token.
//! Invariant: OCR text never reaches the browser as markup: pages are static shells, data
//! goes out as JSON and the front end writes it with `textContent`/`value` only, under a
//! strict Content-Security-Policy.
//! Invariant: every view and change of a chart is written to the audit log.
//! Invariant: this crate knows nothing of Tesseract.

mod api;
mod auth;
mod error;
mod health;
mod pages;
pub mod programme;
mod studio;
pub mod throttle;

pub use error::AppError;

use axum::http::{header, HeaderValue};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use store::blobs::BlobStore;
use store::Store;

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
    blobs: BlobStore,
    throttle: Arc<throttle::Throttle>,
    pages: Arc<Recent<Arc<image::GrayImage>>>,
    shrunk: Arc<Recent<Arc<Vec<u8>>>>,
    /// The programme view recently gathered, by scope and month, with when: one dashboard
    /// load asks for a dozen plots and a burn-up per facility, all drawn from one gathering.
    programmes: Arc<Recent<(std::time::Instant, Arc<programme::Programme>)>>,
    /// The folder scans uploaded in the studio are written to (the one `chartscan watch`
    /// reads), if the server was given one.
    inbox: Option<std::path::PathBuf>,
    /// The bearer token a monitoring system sends to read `/healthz` and `/metrics` without a
    /// session (a manager's or admin's session also may).
    metrics_token: Option<Arc<String>>,
    /// Served over HTTPS (directly or behind a TLS proxy): the session cookie is `Secure`
    /// with the `__Host-` prefix, and a proxy on this machine may name the client's address.
    https: bool,
}

/// A small cache of the most recently used values (page images: a reviewer asks for many
/// snippets of the page in front of them), shared by the request handlers.
#[derive(Debug)]
pub(crate) struct Recent<T>(std::sync::Mutex<lru::LruCache<String, T>>);

impl<T: Clone> Recent<T> {
    fn new(capacity: usize) -> Self {
        Self(std::sync::Mutex::new(lru::LruCache::new(std::num::NonZeroUsize::new(capacity.max(1)).expect("at least 1"))))
    }

    pub(crate) fn get(&self, key: &str) -> Option<T> {
        self.0.lock().expect("not poisoned").get(key).cloned()
    }

    pub(crate) fn put(&self, key: String, value: T) {
        self.0.lock().expect("not poisoned").put(key, value);
    }
}

impl AppState {
    /// State from its parts; the templates are the store's.
    pub fn new(store: Store, blobs: BlobStore) -> Self {
        // 24 decoded A5 pages are about 100 MB; 64 shrunk pages about 10 MB.
        Self {
            store,
            blobs,
            throttle: Default::default(),
            pages: Arc::new(Recent::new(24)),
            shrunk: Arc::new(Recent::new(64)),
            programmes: Arc::new(Recent::new(16)),
            inbox: None,
            metrics_token: None,
            https: false,
        }
    }

    /// The same state, letting a monitoring system that sends `Authorization: Bearer TOKEN`
    /// read `/healthz` and `/metrics` (tokens shorter than 16 characters are refused).
    pub fn with_metrics_token(mut self, token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.len() < 16 {
            return Err("the metrics token must have at least 16 characters".into());
        }
        self.metrics_token = Some(Arc::new(token.to_string()));
        Ok(self)
    }

    /// The same state, writing scans uploaded in the studio to `inbox` (the folder a
    /// `chartscan watch` reads: this server itself never runs OCR).
    pub fn with_inbox(mut self, inbox: std::path::PathBuf) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// The same state, for a server its users reach at `public_url`: an `https://` URL
    /// (served by a TLS proxy in front) makes the session cookie `Secure` and `__Host-`.
    pub fn with_public_url(mut self, public_url: &str) -> Self {
        self.https = public_url.starts_with("https://");
        self
    }

    /// The session cookie's name: `__Host-` prefixed over HTTPS (the browser then only takes
    /// it `Secure`, for this host, on every path).
    pub(crate) fn cookie_name(&self) -> &'static str {
        if self.https {
            auth::SECURE_COOKIE
        } else {
            auth::COOKIE
        }
    }

    /// The template a chart of `form` from `facility` is read with: the facility's own
    /// variant, or the general one (the store's templates in use now).
    fn template(&self, form: Option<&str>, facility: &str) -> Option<chart::Template> {
        let form = form?;
        let templates = self.store.templates();
        let own = templates.iter().find(|t| t.form == form && t.facility.as_deref() == Some(facility));
        own.or_else(|| templates.iter().find(|t| t.form == form && t.facility.is_none())).cloned()
    }
}

/// The application's routes (construct it in tests; no socket needed).
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(studio::routes())
        .merge(health::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::facility_scope))
        .with_state(state)
        .layer(axum::middleware::from_fn(security))
}

async fn security(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin: nothing leaves for other sites, and the browser names this origin on its
    // own forms (the sign-in's check against login CSRF).
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Serves `app(state)` on `listener` until `shutdown` completes.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}
