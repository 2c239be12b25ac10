//! Errors at the HTTP edge: RFC 9457 problem+json with a stable `type` per kind of problem.
//!
//! Internal causes are logged here, once, and never returned: a 500 says only that something failed and gives
//! the request's trace id to quote to support.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use buynow_domain::InvalidValue;
use buynow_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The base of every problem `type`; a type's last segment is its stable code.
pub const TYPE_BASE: &str = "https://buynow.dev/errors/";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(#[from] InvalidValue),
    #[error("{0}")]
    MalformedJson(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("this path does not take that method")]
    MethodNotAllowed,
    #[error("sign in: a valid bearer token is required")]
    Unauthorized,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("this needs a staff key with the {0} role")]
    Forbidden(&'static str),
    #[error("this form has expired or did not come from this site: reload the page and send it again")]
    CsrfMismatch,
    #[error("this {0} is not yours to handle")]
    NotYours(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{1}")]
    Unprocessable(&'static str, String),
    #[error("too many requests: try again in {0} s")]
    TooManyRequests(u64),
    #[error(
        "the service is not available right now: try again in a moment. A Buy Now sent again with the same \
         Idempotency-Key is never placed twice, and returns the order if this attempt placed it"
    )]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn out_of_stock(sku: &str, asked: u32) -> Self {
        ApiError::Conflict("out_of_stock", format!("{sku}: fewer than {asked} left in stock"))
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid input"),
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON"),
            UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type")
            }
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large"),
            BadRequest(code, _) => (StatusCode::BAD_REQUEST, code, "Bad request"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials", "Unauthorized"),
            Forbidden(_) | NotYours(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            CsrfMismatch => (StatusCode::FORBIDDEN, "csrf", "Forbidden"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            Conflict(code, _) => (StatusCode::CONFLICT, code, "Conflict"),
            Unprocessable(code, _) => (StatusCode::UNPROCESSABLE_ENTITY, code, "Cannot be done"),
            TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

/// The problem document of RFC 9457.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `https://buynow.dev/errors/out_of_stock`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation problems: the input field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The id of the request (its `x-request-id`): quote it to support, or find its log lines with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

tokio::task_local! {
    /// The id of the request being answered, set around each request by `hardening::harden`.
    pub static REQUEST_ID: std::sync::Arc<str>;
}

/// The id of the request this task is answering, if it is answering one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_string()).ok().filter(|id| !id.is_empty())
}

impl ApiError {
    /// The problem document this error answers with, and its status. An internal cause is logged here, once.
    pub fn problem(&self) -> (StatusCode, Problem) {
        let (status, code, title) = self.parts();
        let (detail, field) = match self {
            ApiError::Validation(v) => (v.to_string(), Some(v.field.to_string())),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                ("Something went wrong on our side. It has been logged; please try again.".into(), None)
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "service unavailable");
                (self.to_string(), None)
            }
            other => (other.to_string(), None),
        };
        (
            status,
            Problem {
                kind: format!("{TYPE_BASE}{code}"),
                title: title.into(),
                status: status.as_u16(),
                detail,
                field,
                request_id: current_request_id(),
            },
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.problem();
        let retry_after = match self {
            ApiError::TooManyRequests(seconds) => Some(seconds),
            ApiError::Unavailable(_) => Some(1),
            _ => None,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
