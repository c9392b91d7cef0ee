//! HTML pages: static shells (no data in the markup) and static assets.

use crate::auth::{allowed, PageUser};
use crate::AppState;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chart::Role;

const LOGIN: &str = include_str!("../static/login.html");
const QUEUE: &str = include_str!("../static/queue.html");
const REVIEW: &str = include_str!("../static/review.html");
const DASHBOARD: &str = include_str!("../static/dashboard.html");
const ADMIN: &str = include_str!("../static/admin.html");
const STUDIO: &str = include_str!("../static/studio.html");
const STUDIO_JS: &str = include_str!("../static/studio.js");
const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(|| async { Html(LOGIN) }))
        .route("/", get(|user: PageUser| async move { page(&user, Role::Clerk, QUEUE) }))
        .route("/charts/{id}", get(|user: PageUser, Path(_id): Path<String>| async move { page(&user, Role::Reviewer, REVIEW) }))
        .route("/dashboard", get(|user: PageUser| async move { page(&user, Role::Manager, DASHBOARD) }))
        .route("/admin", get(|user: PageUser| async move { page(&user, Role::Admin, ADMIN) }))
        .route("/studio", get(|user: PageUser| async move { page(&user, Role::Manager, STUDIO) }))
        .route("/static/studio.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], STUDIO_JS) }))
        .route("/static/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS) }))
        .route("/static/app.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS) }))
        .route("/static/khmer.ttf", get(khmer_font))
}

/// The Khmer font, served from this machine (no CDN): Khmer OS from Debian's fonts-khmeros,
/// or the file `CHARTSCAN_KHMER_FONT` names.
async fn khmer_font() -> Response {
    let path = std::env::var("CHARTSCAN_KHMER_FONT").unwrap_or_else(|_| "/usr/share/fonts/truetype/khmeros/KhmerOS.ttf".into());
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "font/ttf"), (header::CACHE_CONTROL, "public, max-age=604800")], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "Khmer font not installed (apt-get install fonts-khmeros)").into_response(),
    }
}

fn page(user: &PageUser, needed: Role, html: &'static str) -> Response {
    if allowed(user.0.user.role, needed) {
        Html(html).into_response()
    } else {
        (StatusCode::FORBIDDEN, Html("<!doctype html><title>Forbidden</title><p>Your role may not open this page. <a href=\"/\">Back</a></p>")).into_response()
    }
}
