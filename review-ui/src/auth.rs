//! Sessions, roles and CSRF: extractors that refuse a request before a handler runs.

use crate::{AppError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use chart::Role;
use store::Session;

/// The session cookie's name over plain HTTP.
pub const COOKIE: &str = "chartscan_session";
/// The session cookie's name over HTTPS.
pub const SECURE_COOKIE: &str = "__Host-chartscan_session";

/// The token in the request's session cookie called `name`.
pub fn session_token(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// The `Set-Cookie` value that holds `token` (or, with `None`, removes the cookie).
pub fn session_cookie(state: &AppState, token: Option<&str>) -> String {
    let secure = if state.cookie_name() == SECURE_COOKIE { "; Secure" } else { "" };
    match token {
        Some(t) => format!("{}={t}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200{secure}", state.cookie_name()),
        None => format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}", state.cookie_name()),
    }
}

/// The client's address: the connection's peer, or, over HTTPS through a TLS proxy on this
/// machine, the last address the proxy put in `X-Forwarded-For`. Unknown (in tests without
/// a socket): 0.0.0.0.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let forwarded = peer.filter(|p| state.https && p.is_loopback()).and_then(|_| {
            let header = parts.headers.get("x-forwarded-for")?.to_str().ok()?;
            header.rsplit(',').next()?.trim().parse().ok()
        });
        Ok(ClientAddr(forwarded.or(peer).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))))
    }
}

/// Refuses a sign-in posted from another site (login CSRF: a page elsewhere signing the
/// clinic's browser into an attacker's account). Browsers name the page a form came from in
/// `Origin` and `Sec-Fetch-Site`; a request without them is not from a browser page. An
/// `Origin` of `null` (a page that sends no referrer) is taken on `Sec-Fetch-Site`'s word.
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| !matches!(s, "same-origin" | "none")) {
        return false;
    }
    match headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some("null") => site.is_some(),
        Some(origin) => {
            let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            origin.split_once("://").is_some_and(|(_, authority)| !host.is_empty() && authority.eq_ignore_ascii_case(host))
        }
    }
}

/// A logged-in user of the API; 401 without a session, 403 on a missing or wrong CSRF token
/// for state-changing methods.
#[derive(Debug, Clone)]
pub struct ApiUser(pub Session);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = match parts.extensions.get::<Session>() {
            Some(s) => s.clone(), // looked up already by `facility_scope`
            None => {
                let token = session_token(&parts.headers, state.cookie_name()).ok_or(AppError::Unauthorized)?;
                state.store.session(&token).await?.ok_or(AppError::Unauthorized)?
            }
        };
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
        if let Some(s) = parts.extensions.get::<Session>() {
            return Ok(PageUser(s.clone())); // looked up already by `facility_scope`
        }
        let next: String = parts.uri.path().chars().filter(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c)).collect();
        let Some(token) = session_token(&parts.headers, state.cookie_name()) else { return Err(ToLogin(next).into_response()) };
        match state.store.session(&token).await {
            Ok(Some(s)) => Ok(PageUser(s)),
            Ok(None) => Err(ToLogin(next).into_response()),
            Err(e) => Err(AppError::from(e).into_response()),
        }
    }
}

/// The chart a request's path names: `/api/charts/{id}…`, `/charts/{id}…` or
/// `/api/studio/charts/{id}…`.
fn chart_in_path(path: &str) -> Option<&str> {
    let mut parts = path.trim_start_matches('/').split('/');
    let id = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("api"), Some("charts"), Some(id), _) | (Some("charts"), Some(id), _, _) | (Some("api"), Some("studio"), Some("charts"), Some(id)) => id,
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

/// Facility scoping for every route that names a chart in its path: to a user of some
/// facilities, another facility's chart does not exist (404) — its page, fields, image,
/// snippets, changes and studio words alike. The session found is kept for the handler.
pub async fn facility_scope(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(id) = chart_in_path(req.uri().path()).map(str::to_string) {
        let token = session_token(req.headers(), state.cookie_name());
        let session = match token {
            Some(t) => match state.store.session(&t).await {
                Ok(s) => s,
                Err(e) => return AppError::from(e).into_response(),
            },
            None => None,
        };
        if let Some(session) = session {
            if session.user.facilities != store::Facilities::All {
                match state.store.chart_facility(&id).await {
                    Ok(Some(f)) if session.user.facilities.includes(&f) => {}
                    Ok(_) => return AppError::NotFound(format!("chart {id}")).into_response(),
                    Err(e) => return AppError::from(e).into_response(),
                }
            }
            req.extensions_mut().insert(session);
        }
    }
    next.run(req).await
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

#[cfg(test)]
mod tests {
    use super::same_origin;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "clinic.local:8080".parse().unwrap());
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn sign_in_posts_from_other_sites_are_told_apart() {
        assert!(same_origin(&headers(&[])), "not from a browser page (a script, a test)");
        assert!(same_origin(&headers(&[("origin", "http://clinic.local:8080"), ("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")])), "a page sending no referrer");
        assert!(!same_origin(&headers(&[("origin", "null")])), "null with nothing to vouch for it");
        assert!(!same_origin(&headers(&[("origin", "https://evil.example")])));
        assert!(!same_origin(&headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
    }
}
