//! A posted form: URL-encoded, small, and carrying the CSRF token of the browser that was shown it.

use super::page::PageError;
use super::session::expected_csrf;
use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// No form of ours needs more; a larger one is refused before it is parsed.
const FORM_LIMIT: usize = 16 * 1024;

/// The form's fields as `T`. Form structs default every field, so a missing field reaches the same checks as
/// an empty one and gets their message beside it; values are never echoed in an error.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError(ApiError::BadRequest("not_a_form", "send the form as the page does".into())));
        }
        let expected = expected_csrf(req.headers(), req.uri().path());
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                PageError(ApiError::PayloadTooLarge)
            } else {
                PageError(ApiError::BadRequest("not_a_form", "the form could not be read".into()))
            }
        })?;
        if bytes.len() > FORM_LIMIT {
            return Err(PageError(ApiError::PayloadTooLarge));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError(ApiError::BadRequest("not_a_form", "the form could not be read".into())))?;
        let sent = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
        if !matches(expected.as_deref(), sent) {
            return Err(PageError(ApiError::CsrfMismatch));
        }
        let value = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError(ApiError::BadRequest("not_a_form", "the form could not be read".into())))?;
        Ok(Form(value))
    }
}

/// Compared as digests, so the time taken says nothing about how much of the token matched.
fn matches(expected: Option<&str>, sent: Option<&str>) -> bool {
    match (expected, sent) {
        (Some(e), Some(s)) => Sha256::digest(e.as_bytes()) == Sha256::digest(s.as_bytes()),
        _ => false,
    }
}

/// A form that is only its CSRF token: a button.
#[derive(serde::Deserialize, Default)]
pub struct NoFields {}

/// A form field that must be a whole number.
pub fn number(field: &'static str, raw: &str) -> Result<i64, ApiError> {
    raw.trim().parse().map_err(|_| buynow_domain::InvalidValue::new(field, "enter a whole number").into())
}

/// An optional text field: empty is none.
pub fn optional(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A checkbox: sent (with any value) when ticked.
pub fn ticked(raw: &Option<String>) -> bool {
    raw.is_some()
}

/// A page's path parameters; a path that cannot be read (not UTF-8, say) is the page-not-found page, not
/// axum's plain-text rejection.
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, PageError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| PagePath(v))
            .map_err(|_| PageError(ApiError::NotFound("page")))
    }
}
