//! Every error of our handlers becomes one JSON body, `{"error": "..."}`, with the status
//! that fits: the message names what is wrong. (axum's own rejections — malformed JSON,
//! query or path, 405, 413 — keep axum's plain-text bodies.)

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use herald_homeserver::store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("store: {0}")]
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NoSuchUser(u) => ApiError::NotFound(format!("no user {u}")),
            StoreError::UserExists(u) => ApiError::Conflict(format!("user {u} already exists")),
            e => ApiError::Store(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(e) => {
                tracing::error!(error = %e, "admin API: store failure");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        error_body(status, &self.to_string())
    }
}

/// The JSON error body with `status`.
pub(crate) fn error_body(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// An error's body in the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
}
