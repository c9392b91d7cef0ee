//! One error type for handlers: domain errors become 4xx with a JSON body, anything else a
//! logged 500 that reveals nothing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use store::StoreError;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No session.
    #[error("login required")]
    Unauthorized,
    /// Wrong role or CSRF token.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// Stale version or wrong state.
    #[error("{message}")]
    Conflict {
        /// Why.
        message: String,
        /// The chart's current version, when known.
        current_version: Option<i64>,
    },
    /// Matching is unsure who the patient is: the reviewer must choose.
    #[error("{message}")]
    NeedsPatientChoice {
        /// Why.
        message: String,
        /// The stored patients it may be, best first.
        candidates: serde_json::Value,
    },
    /// A value that is not valid for its field.
    #[error("{0}")]
    Unprocessable(String),
    /// A malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
            StoreError::Conflict { chart, given, current } => AppError::Conflict {
                message: format!("chart {chart} was changed by someone else (you had version {given}, it is now {current}); reload it"),
                current_version: Some(current),
            },
            StoreError::InvalidState(m) => AppError::Conflict { message: m, current_version: None },
            StoreError::Claimed { chart, by } => {
                AppError::Conflict { message: format!("chart {chart} is being reviewed by {by}; take another one"), current_version: None }
            }
            StoreError::Invalid(m) => AppError::Unprocessable(m),
            StoreError::NotAllowed(m) => AppError::Forbidden(m),
            StoreError::NeedsPatientChoice { chart, candidates } => AppError::NeedsPatientChoice {
                message: format!("chart {chart}: choose whether the patient is one of these stored patients or a new one"),
                candidates: serde_json::to_value(candidates).unwrap_or_default(),
            },
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } | AppError::NeedsPatientChoice { .. } => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let AppError::Conflict { current_version: Some(v), .. } = &self {
            body["current_version"] = (*v).into();
        }
        if let AppError::NeedsPatientChoice { candidates, .. } = &self {
            body["candidates"] = candidates.clone();
        }
        (status, Json(body)).into_response()
    }
}
