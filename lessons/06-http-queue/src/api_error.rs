//! What the server answers when something is wrong: a status, and a JSON body a person can
//! read that says what to send instead.

use crate::api::{BODY_LIMIT, RETRY_AFTER_SECS};
use crate::rejected::{Reason, Rejected};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

// ANCHOR: errors
/// An error answer: a status and a JSON body `{"error": "..."}` a person can read.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, and where it helps, what to send instead.
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// axum's reasons for not reading the body, reworded. Its own statuses stand except one:
    /// JSON that does not fit a task is `400` here (axum says `422`), like any other bad body.
    pub(crate) fn from_json(rejection: JsonRejection) -> ApiError {
        const EXAMPLE: &str = r#"send a JSON object such as {"duration_ms": 200, "fail": false}"#;
        match rejection {
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!(
                "the body is not valid JSON ({}); {EXAMPLE}",
                cause(&e)
            )),
            JsonRejection::JsonDataError(e) => {
                ApiError::bad_request(format!("the body is not a task ({}); {EXAMPLE}", cause(&e)))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON, with the header Content-Type: application/json \
                 (curl: --json '{\"duration_ms\": 200}')",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {BODY_LIMIT} bytes; a task needs about 40"),
            ),
            // Any other reason: a body that could not be read at all.
            other => ApiError::new(other.status(), other.body_text()),
        }
    }

    pub(crate) fn from_rejected(rejected: Rejected, capacity: usize) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            match rejected.reason {
                Reason::Full => format!(
                    "the queue is full ({capacity} tasks are waiting); try again in \
                     {RETRY_AFTER_SECS} s"
                ),
                Reason::Closed => "the server is shutting down and takes no new tasks".into(),
            },
        )
    }
}

/// The innermost error in a chain: serde's own words, such as "unknown field `duraton_ms`".
fn cause(error: &dyn std::error::Error) -> String {
    let mut error = error;
    while let Some(source) = error.source() {
        error = source;
    }
    error.to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // New: a 503 says when to come back, so a well-behaved client backs off instead
            // of retrying in a tight loop.
            let retry = [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())];
            (self.status, retry, body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}
// ANCHOR_END: errors
