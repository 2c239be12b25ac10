//! Who is looking at a page: the session cookie (the same session tokens the API's bearers are), the staff
//! console's key cookie, and the CSRF token every form carries.
//!
//! A form's CSRF token is a digest of a secret the browser holds only in an HttpOnly cookie: the session token
//! once signed in, the console's key in the console, and before either a random `bn_anon` cookie that every page
//! sets. Another site can make the browser send the cookie, but cannot read it, so it cannot forge the token.

use super::page::PageError;
use crate::auth::{staff_member, token_hash, StaffMember, TokenHash};
use crate::error::ApiError;
use crate::personal_data::{self, Person};
use crate::services::warehouse::Actor;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use buynow_domain::StaffRole;
use buynow_store::customers::{self, Customer};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION: &str = "bn_session";
pub const STAFF: &str = "bn_staff";
const ANON: &str = "bn_anon";

/// The value of cookie `name`, if the request carries it (in any of its `Cookie` headers).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

/// Cookies are `Secure` when the page came over TLS (here, or at a proxy that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` for `value` (or one that removes the cookie, with `None`): HttpOnly always, SameSite=Lax so a
/// link from elsewhere still arrives signed in while a cross-site form post does not carry it.
pub fn set_cookie(request: &HeaderMap, name: &str, value: Option<&str>, path: &str) -> HeaderValue {
    let secure = if over_tls(request) { "; Secure" } else { "" };
    let cookie = match value {
        Some(v) => format!("{name}={v}; Path={path}; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&cookie).expect("cookie values are URL-safe base64")
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Every page visit holds a `bn_anon` secret for the forms of a signed-out visitor: one is made (and set) for a
/// request that comes without it, and the request then reads as if it had sent it.
pub async fn ensure_anon_cookie(mut request: Request, next: Next) -> Response {
    if cookie(request.headers(), ANON).is_some() {
        return next.run(request).await;
    }
    let value = random_token("");
    let set = set_cookie(request.headers(), ANON, Some(&value), "/");
    if let Ok(extra) = HeaderValue::from_str(&format!("{ANON}={value}")) {
        request.headers_mut().append(COOKIE, extra);
    }
    let mut response = next.run(request).await;
    response.headers_mut().append(SET_COOKIE, set);
    response
}

/// The token a form must send back, for the secret the browser holds.
pub fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"buynow-csrf\0");
    h.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// The CSRF token expected with a form posted to `path`, from the request's cookies.
pub fn expected_csrf(headers: &HeaderMap, path: &str) -> Option<String> {
    let own = if path == "/ops" || path.starts_with("/ops/") { STAFF } else { SESSION };
    cookie(headers, own).or_else(|| cookie(headers, ANON)).map(|secret| csrf_token(&secret))
}

/// A shop visitor, signed in or not.
pub struct Visitor {
    pub customer: Option<Customer>,
    /// The customer's e-mail and name, opened for the page.
    pub person: Option<Person>,
    pub session: Option<TokenHash>,
    pub csrf: String,
}

impl Visitor {
    pub fn name(&self) -> Option<&str> {
        self.person.as_ref().map(|p| p.name.as_str())
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let csrf = expected_csrf(&parts.headers, "/").unwrap_or_default();
        let Some(token) = cookie(&parts.headers, SESSION).filter(|t| t.starts_with("bnt_")) else {
            return Ok(Visitor { customer: None, person: None, session: None, csrf });
        };
        let hash = TokenHash(token_hash(&token));
        let id = hash.live(state).await?;
        let mut read = state.store.read().await.map_err(ApiError::from)?;
        let customer = match id {
            Some(id) => customers::by_id(&mut read.conn(), id).await.map_err(ApiError::from)?,
            None => None,
        };
        let session = customer.is_some().then_some(hash);
        let person = customer.as_ref().map(|c| personal_data::person(&state.vault, c)).transpose()?;
        Ok(Visitor { customer, person, session, csrf })
    }
}

/// A signed-in customer; anyone else is sent to sign in, and brought back here after.
pub struct Shopper {
    pub customer: Customer,
    pub person: Person,
    pub session: TokenHash,
    pub csrf: String,
}

impl Shopper {
    pub fn visitor(&self) -> Visitor {
        Visitor {
            customer: Some(self.customer.clone()),
            person: Some(self.person.clone()),
            session: None,
            csrf: self.csrf.clone(),
        }
    }
}

impl FromRequestParts<AppState> for Shopper {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visitor = Visitor::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        match (visitor.customer, visitor.person, visitor.session) {
            (Some(customer), Some(person), Some(session)) => {
                Ok(Shopper { customer, person, session, csrf: visitor.csrf })
            }
            _ => Err(sign_in_first(parts, "/signin")),
        }
    }
}

/// A redirect to `signin` that comes back to the page asked for (a GET), or to the start (after a form).
fn sign_in_first(parts: &Parts, signin: &str) -> Response {
    let back = if parts.method == axum::http::Method::GET {
        parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string()
    } else {
        "/".to_string()
    };
    let encoded: String = url_encode(&back);
    Redirect::to(&format!("{signin}?next={encoded}")).into_response()
}

pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|q| q[1..].to_string()).unwrap_or_default()
}

/// Where to go after signing in: a path of this site only, never another host.
pub fn safe_next(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 500 => n.to_string(),
        _ => default.to_string(),
    }
}

/// Staff signed in to the console with a key.
pub struct Staff {
    pub member: StaffMember,
    /// How this member works shipments; `None` for support, who do not.
    pub actor: Option<Actor>,
    /// Signed in with an admin key: the console's admin pages (deliveries) are theirs.
    pub admin: bool,
    pub csrf: String,
}

impl Staff {
    /// The member's way of working shipments: 403 for support.
    pub fn warehouse(&self) -> Result<&Actor, ApiError> {
        self.actor.as_ref().ok_or(ApiError::Forbidden("warehouse"))
    }

    /// Whether the support queue is theirs (support and admins).
    pub fn support(&self) -> bool {
        matches!(self.member.role, StaffRole::Support | StaffRole::Admin)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(key) = cookie(&parts.headers, STAFF) else {
            return Err(sign_in_first(parts, "/ops/signin"));
        };
        match staff_member(state, &key).await.and_then(|member| Ok((console_actor(&member)?, member))) {
            Ok((actor, member)) => {
                Ok(Staff { admin: member.role == StaffRole::Admin, member, actor, csrf: csrf_token(&key) })
            }
            Err(ApiError::Unauthorized) => Err(sign_in_first(parts, "/ops/signin")),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// How a member works in the console: shipments as their role allows, or none (support, who work cases).
pub fn console_actor(member: &StaffMember) -> Result<Option<Actor>, ApiError> {
    match member.role {
        StaffRole::Support => Ok(None),
        _ => member.actor().map(Some),
    }
}

/// A new session token for a browser that signed in: the API's kind, so the session ends the same way.
pub fn session_cookie(request: &HeaderMap, token: Option<&str>) -> HeaderValue {
    set_cookie(request, SESSION, token, "/")
}

pub fn staff_cookie(request: &HeaderMap, key: Option<&str>) -> HeaderValue {
    set_cookie(request, STAFF, key, "/ops")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_every_header() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; bn_session=bnt_x"));
        h.append(COOKIE, HeaderValue::from_static("bn_anon=zz"));
        assert_eq!(cookie(&h, SESSION).as_deref(), Some("bnt_x"));
        assert_eq!(cookie(&h, ANON).as_deref(), Some("zz"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn the_console_and_the_shop_expect_tokens_of_their_own_secret() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("bn_anon=anon; bn_staff=key"));
        assert_eq!(expected_csrf(&h, "/account").unwrap(), csrf_token("anon"));
        assert_eq!(expected_csrf(&h, "/ops/shipments/x/pick").unwrap(), csrf_token("key"));
        assert_ne!(csrf_token("anon"), csrf_token("key"));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/orders"), "/"), "/orders");
        assert_eq!(safe_next(Some("//evil.example"), "/"), "/");
        assert_eq!(safe_next(Some("https://evil.example"), "/"), "/");
        assert_eq!(safe_next(Some("/\\evil"), "/"), "/");
        assert_eq!(safe_next(None, "/account"), "/account");
    }
}
