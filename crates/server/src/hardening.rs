//! What every response carries, and what a response made below the handlers is turned into: the security
//! headers, and problem+json for an error that some layer (a timeout, an extractor's rejection) answered in
//! plain text or with no body at all. Such an error's body is never passed on: it may repeat what the client
//! sent.

use crate::error::{REQUEST_ID, TYPE_BASE};
use crate::web::is_page_path;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Adds the security headers a response does not set itself, and answers an API error that is not
/// problem+json with one.
pub async fn harden(request: Request, next: Next) -> Response {
    let api = !is_page_path(request.uri().path());
    let request_id: std::sync::Arc<str> =
        request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").into();
    let mut response = REQUEST_ID.scope(request_id.clone(), next.run(request)).await;
    if api && (response.status().is_client_error() || response.status().is_server_error()) && !is_problem(&response) {
        response = problem_for(response.status(), &request_id);
    }
    let headers = response.headers_mut();
    set_default(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(headers, header::X_FRAME_OPTIONS, "DENY");
    set_default(headers, header::REFERRER_POLICY, "no-referrer");
    if api {
        // JSON is data, never a document: nothing in it may run or be framed, and it is not kept by caches.
        set_default(headers, header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'");
        set_default(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn set_default(headers: &mut HeaderMap, name: header::HeaderName, value: &'static str) {
    headers.entry(name).or_insert(HeaderValue::from_static(value));
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"))
}

/// The problem document for a bare status, in words of our own.
fn problem_for(status: StatusCode, request_id: &str) -> Response {
    let request_id = Some(request_id).filter(|id| !id.is_empty());
    let mut response = (status, Body::from(problem_body(status, request_id))).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

/// The problem+json body for a bare status: for the errors of the layers below the handlers, and for the
/// answers hyper makes itself (`parse_errors`, which has no request id to give).
pub(crate) fn problem_body(status: StatusCode, request_id: Option<&str>) -> String {
    let (code, detail) = match status {
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => (
            "unavailable",
            "the request took too long and was stopped; try again (a Buy Now sent again with the same \
             Idempotency-Key is never placed twice)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::URI_TOO_LONG => ("uri_too_long", "the address is too long"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers_too_large", "the request's headers are too many or too large")
        }
        StatusCode::BAD_REQUEST => {
            ("malformed_request", "the request could not be read: check its path, query and headers")
        }
        StatusCode::NOT_FOUND => ("not_found", "route not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this path does not take that method"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send the body as application/json"),
        s if s.is_server_error() => ("internal", "Something went wrong on our side. Please try again."),
        _ => ("bad_request", "the request is not valid: check its path, query and headers"),
    };
    let mut body = serde_json::json!({
        "type": format!("{TYPE_BASE}{code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(id) = request_id {
        body["request_id"] = id.into();
    }
    body.to_string()
}

/// `Strict-Transport-Security`, for a server that serves HTTPS.
pub async fn strict_transport(mut response: Response) -> Response {
    response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    response
}
