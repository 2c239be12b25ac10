//! Request extractors that answer in our error format.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body. Malformed JSON, a wrong content type, an oversized body or a field of the wrong type each get
/// their own problem `type`. Messages never echo input values: a card number sent as a JSON number must not
/// come back in an error or land in a log.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson("the body could not be read".into())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = scrubbed_path(e.path());
        let inner = e.into_inner();
        let message = scrub(&inner.to_string());
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_string() } else { path };
                ApiError::Validation(buynow_domain::InvalidValue::new("body", format!("{field}: {message}")))
            }
            _ => ApiError::MalformedJson(message),
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson(scrub(&e.to_string())))?;
    Ok(value)
}

/// serde quotes offending values between backticks, and strings between double quotes; keep only what looks
/// like one of our field or enum names.
fn scrub(message: &str) -> String {
    let message = &drop_strings(message);
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        let inside_quotes = i % 2 == 0;
        if inside_quotes {
            if is_name(part) {
                out.push('`');
                out.push_str(part);
                out.push('`');
            } else {
                out.push_str("(value)");
            }
        } else {
            out.push_str(part);
        }
    }
    // serde_json appends " at line L column C", which helps nobody reading a one-line body.
    match out.find(" at line ") {
        Some(i) => out[..i].to_string(),
        None => out,
    }
}

/// The path to the field at fault, with any key that is not one of our names (a client's unknown field may be
/// anything, a card number included) shown as `(field)`.
fn scrubbed_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if is_name(key) { key } else { "(field)" });
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

fn is_name(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 40
        && part.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every double-quoted string (serde writes a string value as `string "…"`, escapes included) as `(value)`.
fn drop_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        let mut escaped = false;
        for inner in chars.by_ref() {
            match (escaped, inner) {
                (false, '\\') => escaped = true,
                (false, '"') => break,
                _ => escaped = false,
            }
        }
        out.push_str("(value)");
    }
    out
}

/// The bearer token of `Authorization: Bearer …`, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_in(&parts.headers)
}

/// The bearer token of `headers`, if any.
pub fn bearer_in(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The id the server gave this request (`x-request-id`), for the audit trail.
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(crate::services::audit::request_id(&parts.headers)))
    }
}

/// The `Idempotency-Key` header: required for Buy Now, once, 1 to 255 visible ASCII characters. Spaces around
/// it are not part of it (RFC 9110, 5.5: the whitespace around a field value is not the value's), so `" k "`
/// and `"k"` are one key; spaces inside it are refused.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut given = parts.headers.get_all("idempotency-key").iter();
        let value = given.next().ok_or_else(|| {
            ApiError::BadRequest(
                "idempotency_key_required",
                "send an Idempotency-Key header so a retried click cannot buy twice".into(),
            )
        })?;
        if given.next().is_some() {
            // Which one a proxy or a client library meant is a guess; a guess could buy twice.
            return Err(ApiError::BadRequest(
                "idempotency_key_invalid",
                "send one Idempotency-Key header, not several".into(),
            ));
        }
        let key = value.to_str().ok().map(str::trim).unwrap_or("");
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::BadRequest(
                "idempotency_key_invalid",
                "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            ));
        }
        Ok(IdempotencyKey(key.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_drops_values_but_keeps_names() {
        let m = scrub("invalid type: integer `4242424242424242`, expected a string at line 1 column 30");
        assert_eq!(m, "invalid type: integer (value), expected a string");
        assert_eq!(scrub("missing field `sku`"), "missing field `sku`");
        assert_eq!(
            scrub("invalid type: string \"4242424242424242\", expected i64"),
            "invalid type: string (value), expected i64"
        );
        assert_eq!(
            scrub(r#"invalid type: string "a \" `b` 4242", expected u8"#),
            "invalid type: string (value), expected u8"
        );
        assert_eq!(
            scrub("unknown variant `Fast Please`, expected one of `standard`, `two_day`"),
            "unknown variant (value), expected one of `standard`, `two_day`"
        );
    }
}

/// The client's address, when the server knows it (served with connect info); never refuses a request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddress(peer.map(|c| c.0.ip())))
    }
}

/// Whole numbers as JSON may write them: `3`, or `3.0`, which JSON Schema also calls an integer (and some
/// clients send for any number). A fraction, or a number out of the field's range, is refused as a wrong type.
pub mod whole {
    use serde::de::{Deserializer, Error, Visitor};
    use serde::Deserialize;
    use std::fmt;
    use std::marker::PhantomData;

    /// A whole number of type `T`, read as above.
    pub struct Whole<T>(pub T);

    impl<'de, T: TryFrom<i64> + TryFrom<u64>> Deserialize<'de> for Whole<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Of<T>(PhantomData<T>);
            impl<T: TryFrom<i64> + TryFrom<u64>> Visitor<'_> for Of<T> {
                type Value = T;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a whole number in range")
                }
                fn visit_i64<E: Error>(self, v: i64) -> Result<T, E> {
                    T::try_from(v).map_err(|_| E::custom("out of range"))
                }
                fn visit_u64<E: Error>(self, v: u64) -> Result<T, E> {
                    T::try_from(v).map_err(|_| E::custom("out of range"))
                }
                fn visit_f64<E: Error>(self, v: f64) -> Result<T, E> {
                    // Beyond ±2^53 a float is not a whole number anyone meant exactly.
                    if v.fract() != 0.0 || v.abs() > 9_007_199_254_740_992.0 {
                        return Err(E::invalid_type(serde::de::Unexpected::Float(v), &self));
                    }
                    self.visit_i64(v as i64)
                }
            }
            d.deserialize_any(Of(PhantomData)).map(Whole)
        }
    }

    pub fn int<'de, D: Deserializer<'de>, T: TryFrom<i64> + TryFrom<u64>>(d: D) -> Result<T, D::Error> {
        Whole::deserialize(d).map(|w| w.0)
    }

    pub fn option<'de, D: Deserializer<'de>, T: TryFrom<i64> + TryFrom<u64>>(d: D) -> Result<Option<T>, D::Error> {
        Option::<Whole<T>>::deserialize(d).map(|o| o.map(|w| w.0))
    }

    pub fn option_triple<'de, D: Deserializer<'de>, T: TryFrom<i64> + TryFrom<u64>>(
        d: D,
    ) -> Result<Option<[T; 3]>, D::Error> {
        Option::<[Whole<T>; 3]>::deserialize(d).map(|o| o.map(|[a, b, c]| [a.0, b.0, c.0]))
    }
}
