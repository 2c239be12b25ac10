//! The audit trail: who did what, when, under which request. Staff actions and changes to a customer's cards
//! are recorded by a layer around their routes (`record_actions`); sign-ins, failed ones too, by the sign-in
//! itself. The chain that makes an edit or a deletion show is the domain's (`buynow_domain::audit`).

use crate::auth::{staff_member, token_hash, TokenHash};
use crate::extract::bearer_in;
use crate::state::AppState;
use crate::web::session::{cookie, SESSION, STAFF};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use buynow_domain::audit::Verifier;
use buynow_store::{audit, Conn, StoreError};

/// Appends an entry in a write of its own (one of a group commit).
pub async fn record(state: &AppState, actor: String, action: String, subject: String, request_id: String) {
    let now = state.now_micros();
    let written = state
        .store
        .write_batched(move |c| {
            Box::pin(async move { audit::append(c, now, &actor, &action, &subject, &request_id).await.map(drop) })
        })
        .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "an audit entry could not be written");
    }
}

/// The request id the server gave the request (`x-request-id`).
pub fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string()
}

/// Whether a request changes something the trail keeps: any staff call that is not a read, and the customer's
/// cards (through the API or the account page).
fn audited(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    ["/v1/ops/", "/ops/", "/v1/me/payment-methods", "/account/cards"].iter().any(|p| path.starts_with(p))
}

/// The layer that records audited requests once answered: who (a staff key's id, `admin`, a customer's id,
/// or `anonymous` when the credentials were missing or wrong; never the credentials), the route and its
/// answer's status, the path, and the request id.
pub async fn record_actions(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !audited(request.method(), path) || path == "/ops/signin" {
        return next.run(request).await;
    }
    let path = path.to_string();
    let method = request.method().clone();
    let headers = request.headers().clone();
    let response = next.run(request).await;
    let actor = actor(&state, &headers, &path).await;
    let route = matched.as_ref().map_or(path.as_str(), |m| m.as_str());
    let action = format!("{method} {route} {}", response.status().as_u16());
    record(&state, actor, action, path, request_id(&headers)).await;
    response
}

async fn actor(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    let bearer = bearer_in(headers).map(str::to_string);
    let staff = path.starts_with("/v1/ops/") || path.starts_with("/ops/");
    let credential = bearer.or_else(|| cookie(headers, if staff { STAFF } else { SESSION }));
    let Some(credential) = credential else { return "anonymous".into() };
    if staff {
        return staff_member(state, &credential).await.map_or_else(|_| "anonymous".into(), |m| m.who);
    }
    match TokenHash(token_hash(&credential)).customer(state).await {
        Ok(customer) => customer.to_string(),
        Err(_) => "anonymous".into(),
    }
}

/// What a check of the whole trail found.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub checked: u64,
    pub broken: Option<buynow_domain::audit::Break>,
    /// The newest sound entry's seq and hash: kept elsewhere, it shows a rewrite of the newest entries too.
    pub head: Option<(i64, String)>,
}

/// Checks the whole trail, oldest first, a page at a time.
pub async fn verify(c: &mut Conn<'_>) -> Result<Verified, StoreError> {
    let mut v = Verifier::default();
    let (mut after, mut head) = (0, None);
    loop {
        let page = audit::page(c, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if let Err(broken) = v.check(e) {
                return Ok(Verified { checked: v.checked(), broken: Some(broken), head });
            }
            head = Some((e.seq, e.hash.clone()));
        }
    }
    Ok(Verified { checked: v.checked(), broken: None, head })
}
