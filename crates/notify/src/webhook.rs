//! Webhooks: `POST {id, type, created_at, data}` to a subscriber, signed by the Standard Webhooks scheme
//! (DESIGN.md, "Notifications"), from a client that will not reach the shop's own network unless told to.

use std::net::IpAddr;
use std::time::Duration;

/// A receiver that takes longer has not received it; it is tried again later.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What a receiver's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// 410: the receiver is gone for good; its subscription is disabled.
    Gone,
    /// Anything else (an error status, a refused connection, a timeout): tried again later.
    Failed(String),
}

/// Why a URL may not be a webhook's target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the URL must be an http or https URL with a host")]
    NotHttp,
    #[error("the host does not resolve")]
    Unresolved,
    #[error("the host is on a loopback, private or link-local network")]
    Private,
}

/// Loopback, private, link-local, unspecified, shared or documentation addresses: the shop's own network.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Checks that `url` is http(s) and, unless `allow_private`, that every address its host resolves to is public.
pub async fn check_target(url: &str, allow_private: bool) -> Result<reqwest::Url, TargetError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| TargetError::NotHttp)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(TargetError::NotHttp);
    }
    if allow_private {
        return Ok(parsed);
    }
    let host = parsed.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| TargetError::Unresolved)?
        .map(|a| a.ip())
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Unresolved);
    }
    if addrs.into_iter().any(is_private) {
        return Err(TargetError::Private);
    }
    Ok(parsed)
}

/// The `webhook-signature` value: one `v1,…` per secret that signs now (two for a while after a rotation).
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(secrets.len());
    for s in secrets {
        out.push(buynow_logistics::signing::sign(s, id, timestamp, body).map_err(|e| e.to_string())?);
    }
    Ok(out.join(" "))
}

pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(allow_private: bool) -> Sender {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("BuyNow-Webhooks/1")
            .build()
            .expect("an HTTP client");
        Sender { client, allow_private }
    }

    /// Posts `body` as message `id`, signed with `secrets`. The target is checked again before every send, so a
    /// name that has come to point inside the network since it was registered is not followed.
    pub async fn send(&self, url: &str, secrets: &[&str], id: &str, timestamp: i64, body: Vec<u8>) -> Outcome {
        let target = match check_target(url, self.allow_private).await {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(format!("not sent: {e}")),
        };
        let signature = match signature(secrets, id, timestamp, &body) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(format!("not signed: {e}")),
        };
        let answer = self
            .client
            .post(target)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) if r.status() == reqwest::StatusCode::GONE => Outcome::Gone,
            Ok(r) => Outcome::Failed(format!("the receiver answered {}", r.status())),
            Err(e) if e.is_timeout() => Outcome::Failed(format!("no answer within {} s", TIMEOUT.as_secs())),
            Err(e) if e.is_connect() => Outcome::Failed("the receiver could not be reached".into()),
            Err(_) => Outcome::Failed("the request failed".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_networks_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_targets_are_refused_unless_allowed() {
        assert_eq!(check_target("http://127.0.0.1:9/hook", false).await, Err(TargetError::Private));
        assert_eq!(check_target("http://localhost:9/hook", false).await, Err(TargetError::Private));
        assert!(check_target("http://127.0.0.1:9/hook", true).await.is_ok());
        assert_eq!(check_target("ftp://example.com/", true).await, Err(TargetError::NotHttp));
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let (a, b) = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let both = signature(&[a, b], "msg_1", 1_700_000_000, b"{}").unwrap();
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}
