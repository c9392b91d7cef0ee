//! Sessions, roles and CSRF: extractors that refuse a request before a handler runs.

use crate::{AppError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use chart::Role;
use store::Session;

/// The session cookie's name.
pub const COOKIE: &str = "chartscan_session";

/// The token in the request's session cookie.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty()).then(|| v.to_string())
    })
}

/// A logged-in user of the API; 401 without a session, 403 on a missing or wrong CSRF token
/// for state-changing methods.
#[derive(Debug, Clone)]
pub struct ApiUser(pub Session);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = session_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let session = state.store.session(&token).await?.ok_or(AppError::Unauthorized)?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let given = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(given.as_bytes(), session.csrf.as_bytes()) {
                return Err(AppError::Forbidden("missing or wrong CSRF token (send the X-CSRF-Token header from /api/session)".into()));
            }
        }
        Ok(ApiUser(session))
    }
}

impl ApiUser {
    /// Refuses unless the user may review.
    pub fn reviewer(&self) -> Result<&Session, AppError> {
        if self.0.user.role.can_review() {
            Ok(&self.0)
        } else {
            Err(AppError::Forbidden(format!("a {} may not review charts", self.0.user.role)))
        }
    }

    /// Refuses unless the user may see statistics and export.
    pub fn manager(&self) -> Result<&Session, AppError> {
        if self.0.user.role.can_manage() {
            Ok(&self.0)
        } else {
            Err(AppError::Forbidden(format!("a {} may not see statistics or export", self.0.user.role)))
        }
    }
}

/// A logged-in user of an HTML page; redirects to the login page without a session.
#[derive(Debug, Clone)]
pub struct PageUser(pub Session);

/// Redirect to the login page, remembering where the user was going.
#[derive(Debug)]
pub struct ToLogin(String);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", self.0)).into_response()
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let next: String = parts.uri.path().chars().filter(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c)).collect();
        let Some(token) = session_token(&parts.headers) else { return Err(ToLogin(next).into_response()) };
        match state.store.session(&token).await {
            Ok(Some(s)) => Ok(PageUser(s)),
            Ok(None) => Err(ToLogin(next).into_response()),
            Err(e) => Err(AppError::from(e).into_response()),
        }
    }
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a role may open a page that needs `needed`.
pub fn allowed(role: Role, needed: Role) -> bool {
    match needed {
        Role::Clerk => true,
        Role::Reviewer => role.can_review(),
        Role::Manager => role.can_manage(),
        Role::Admin => role == Role::Admin,
    }
}
