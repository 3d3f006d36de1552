//! The one error type at the HTTP boundary: 4xx for what the sender did, 503/507 for storage that cannot write
//! right now, and an opaque 500 for what went wrong inside, with the cause in the log.

use hyper::header::{ALLOW, CONNECTION, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};

use super::response::{Body, json};
use crate::filter::FilterError;
use crate::store::StoreError;

/// Why a request could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("method {method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("the body did not arrive in time")]
    BodyTimeout,
    #[error("the body could not be read: {0}")]
    BadBody(String),
    /// A field of what was sent cannot be used: the sentence, and the field as a JSON pointer.
    #[error("{message}")]
    Invalid { message: String, pointer: String },
    /// The change conflicts with what is there (a name taken, an endpoint that is read-only).
    #[error("{0}")]
    Conflict(String),
    /// Too many header lines, or too many bytes of request line and headers.
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<FilterError> for ApiError {
    fn from(error: FilterError) -> ApiError {
        ApiError::BadRequest(error.to_string())
    }
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::BadBody(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Store(StoreError::Busy | StoreError::Closed) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(StoreError::Full) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Store(StoreError::Failed(_)) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response: `{"error": "..."}` with the status, and `Allow` or `Retry-After` where they apply.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let message = match &self {
            ApiError::Store(StoreError::Failed(cause)) => {
                tracing::error!(error = %cause, "internal error");
                "internal error; see hookscope's log".to_owned()
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                "internal error; see hookscope's log".to_owned()
            }
            ApiError::Store(StoreError::Busy) => "the database is busy; nothing was stored, try again".to_owned(),
            ApiError::Store(StoreError::Full) => {
                "the database is full (its --max-db-size limit, or the disk); nothing was stored".to_owned()
            }
            ApiError::Store(StoreError::Closed) => "hookscope is shutting down; nothing was stored".to_owned(),
            other => other.to_string(),
        };
        let mut response = match &self {
            ApiError::Invalid { pointer, .. } => {
                json(status, &serde_json::json!({ "error": message, "path": pointer }))
            }
            _ => json(status, &serde_json::json!({ "error": message })),
        };
        let headers = response.headers_mut();
        // What is left of a refused or broken body must not be read as the next request.
        if matches!(
            self,
            ApiError::PayloadTooLarge { .. }
                | ApiError::BodyTimeout
                | ApiError::BadBody(_)
                | ApiError::HeadersTooLarge(_)
        ) {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        match &self {
            ApiError::MethodNotAllowed { allow, .. } => {
                headers.insert(ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Store(StoreError::Busy | StoreError::Full | StoreError::Closed) => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
