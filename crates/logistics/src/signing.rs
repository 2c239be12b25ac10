//! Signed tracking events: carriers sign what they send to `/v1/carriers/{carrier}/events` by the Standard
//! Webhooks scheme (the same as our own webhooks, DESIGN.md), so a receiver checks them with that project's
//! libraries: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,{base64 HMAC-SHA256}` over
//! `{id}.{timestamp}.{body}`, with the key in the secret `whsec_{base64 key}`.

use http::HeaderMap;
use standardwebhooks::Webhook;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signing secret is not a whsec_ secret")]
    BadSecret,
    #[error("the signature does not verify, or its timestamp is more than 5 minutes off")]
    Invalid,
}

/// A new random secret, `whsec_` + base64 of 32 bytes.
pub fn new_secret(random: [u8; 32]) -> String {
    use base64::Engine;
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(random))
}

/// The `webhook-signature` header's value for `body` sent as message `id` at `timestamp` (Unix seconds).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignatureError> {
    let wh = Webhook::new(secret).map_err(|_| SignatureError::BadSecret)?;
    wh.sign(id, timestamp, body).map_err(|_| SignatureError::BadSecret)
}

/// The three headers that carry a signed message: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
pub fn headers(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<[(&'static str, String); 3], SignatureError> {
    Ok([
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sign(secret, id, timestamp, body)?),
    ])
}

/// Checks the three headers against `body`: the signature, and a timestamp within 5 minutes of now.
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let wh = Webhook::new(secret).map_err(|_| SignatureError::BadSecret)?;
    wh.verify(body, headers).map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(id: &str, ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", HeaderValue::from_str(id).unwrap());
        h.insert("webhook-timestamp", HeaderValue::from_str(&ts.to_string()).unwrap());
        h.insert("webhook-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn a_signed_body_verifies_and_a_changed_one_does_not() {
        let secret = new_secret([7; 32]);
        let now = chrono::Utc::now().timestamp();
        let body = br#"{"id":"evt_1","type":"delivered"}"#;
        let sig = sign(&secret, "evt_1", now, body).unwrap();
        assert!(sig.starts_with("v1,"));
        assert_eq!(verify(&secret, &headers("evt_1", now, &sig), body), Ok(()));
        assert_eq!(verify(&secret, &headers("evt_1", now, &sig), b"{}"), Err(SignatureError::Invalid));
        assert_eq!(verify(&new_secret([8; 32]), &headers("evt_1", now, &sig), body), Err(SignatureError::Invalid));
        let old = now - 600;
        let stale = sign(&secret, "evt_1", old, body).unwrap();
        assert_eq!(verify(&secret, &headers("evt_1", old, &stale), body), Err(SignatureError::Invalid));
    }
}
