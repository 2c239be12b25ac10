//! The warehouse console: sign in with a staff key, the pick list of a center in waves, pick, pack and ship with
//! the label to print, and an orders search. A seller's key sees its own place's queue only. Every action is the
//! API's own handler under `/v1/ops`.

use super::form::{optional, Form, NoFields, PagePath};
use super::page::{form_alert, money, page, respond, status_words, when, window, FormProblem, Nav, PageError};
use super::session::{console_actor, expected_csrf, safe_next, staff_cookie, Staff};
use crate::auth::{staff_member, AdminAuth, StaffAuth};
use crate::error::ApiError;
use crate::extract::Json;
use crate::notifications::webhooks;
use crate::ops::shipments::{self, OpsShipmentView, PickListQuery};
use crate::orders::view;
use crate::services::audit;
use crate::services::warehouse::{self, Actor};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use buynow_domain::{Email, OrderId, ShipmentId};
use buynow_store::notifications::{self, DeliveryStatus};
use buynow_store::{customers, orders};
use maud::{html, Markup};
use serde::Deserialize;

fn nav(staff: &Staff) -> Nav<'_> {
    Nav::Console {
        csrf: &staff.csrf,
        seller: matches!(staff.actor, Some(Actor::Seller(_))),
        warehouse: staff.actor.is_some(),
        support: staff.support(),
        admin: staff.admin,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    key: String,
    next: Option<String>,
}

fn sign_in_form(csrf: &str, next: &str, problem: Option<&FormProblem>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Warehouse console" }
            (form_alert(problem, &[]))
            form.stack method="post" action="/ops/signin" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="key" { "Staff key" }
                    input #key name="key" type="password" autocomplete="current-password";
                }
                button.primary type="submit" { "Sign in" }
            }
        }
    }
}

pub async fn sign_in_page(headers: HeaderMap, Query(q): Query<SignInForm>) -> Response {
    let csrf = expected_csrf(&headers, "/ops/signin").unwrap_or_default();
    let next = safe_next(q.next.as_deref(), "/ops");
    respond(StatusCode::OK, page("Console sign-in", Nav::Bare, sign_in_form(&csrf, &next, None)))
}

pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<SignInForm>) -> Response {
    let key = form.key.trim();
    let next = safe_next(form.next.as_deref(), "/ops");
    let member = staff_member(&state, key).await;
    let (actor, action) = match &member {
        Ok(m) => (m.who.clone(), "console_sign_in"),
        Err(_) => ("anonymous".to_string(), "console_sign_in_failed"),
    };
    audit::record(&state, actor, action.into(), "console".into(), audit::request_id(&headers)).await;
    match member.and_then(|m| console_actor(&m)) {
        Ok(_) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(SET_COOKIE, staff_cookie(&headers, Some(key)));
            response
        }
        Err(e) => {
            let e = if matches!(e, ApiError::Unauthorized) {
                ApiError::BadRequest("unknown_key", "that key is not a staff key of this shop".into())
            } else {
                e
            };
            let problem = FormProblem::from(e);
            let csrf = expected_csrf(&headers, "/ops/signin").unwrap_or_default();
            respond(problem.status, page("Console sign-in", Nav::Bare, sign_in_form(&csrf, &next, Some(&problem))))
        }
    }
}

pub async fn sign_out(headers: HeaderMap, Form(_): Form<NoFields>) -> Response {
    let mut response = Redirect::to("/ops/signin").into_response();
    response.headers_mut().append(SET_COOKIE, staff_cookie(&headers, None));
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CenterChoice {
    center: Option<String>,
}

/// The pick list of one center (the first of the shop's when none is chosen; a seller's own place for a seller),
/// and the parcels being worked there.
pub async fn home(
    State(state): State<AppState>,
    staff: Staff,
    Query(choice): Query<CenterChoice>,
) -> Result<Response, PageError> {
    let Some(actor) = staff.actor.clone() else {
        // Support work cases, not pick lists.
        return Ok(Redirect::to("/ops/cases").into_response());
    };
    let centers = state.centers();
    let mut codes: Vec<(u32, String, String)> = centers
        .by_code
        .values()
        .filter(|c| match &actor {
            Actor::Warehouse { center: None } => c.center.seller_id.is_none(),
            Actor::Warehouse { center: Some(own) } => c.center.code == *own,
            Actor::Seller(s) => c.center.seller_id == Some(*s),
        })
        .map(|c| (c.center.rank, c.center.code.clone(), c.center.name.clone()))
        .collect();
    codes.sort();
    let chosen = choice.center.as_deref().and_then(optional).or_else(|| codes.first().map(|c| c.1.clone()));
    let query = PickListQuery { center: chosen.clone() };
    let axum::Json(lists) = shipments::pick_lists(State(state.clone()), StaffAuth(actor.clone()), Query(query)).await?;
    let mut read = state.store.read().await.map_err(ApiError::from)?;
    let working = warehouse::in_progress(&mut read.conn(), &state, &lists.center, &actor).await?;
    drop(read);
    let working: Vec<OpsShipmentView> = working.iter().map(OpsShipmentView::new).collect();
    let tz = centers.by_code.get(&lists.center).map_or(chrono_tz::UTC, |c| c.calendar.tz());
    let body = html! {
        h1 { "Pick list: " (lists.center) }
        @if codes.len() > 1 {
            form.inline method="get" action="/ops" {
                label for="center" { "Center" }
                select #center name="center" {
                    @for (_, code, name) in &codes { option value=(code) selected[*code == lists.center] { (code) " — " (name) } }
                }
                button.secondary type="submit" { "Show" }
            }
        }
        @if lists.waves.is_empty() { p.muted #no-picks { "Nothing to pick right now." } }
        @for wave in &lists.waves {
            section.card.wave aria-label={ "Wave " (wave.id) } {
                h2 { "Wave " (wave.id) span.muted { " — leaves by " (local(wave.cut_off, tz)) } }
                table.picks {
                    thead { tr { th scope="col" { "Parcel" } th scope="col" { "Items" } th scope="col" { "Orders" } th scope="col" { "Action" } } }
                    tbody {
                        @for s in &wave.shipments { (row(s, &staff.csrf)) }
                    }
                }
            }
        }
        @if !working.is_empty() {
            section.card aria-labelledby="working" {
                h2 #working { "In progress" }
                table.picks {
                    thead { tr { th scope="col" { "Parcel" } th scope="col" { "Items" } th scope="col" { "Orders" } th scope="col" { "Action" } } }
                    tbody { @for s in &working { (row(s, &staff.csrf)) } }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page("Pick list", nav(&staff), body)))
}

/// A time as the center's clock shows it: "Mon Dec 7, 14:00 PST".
fn local(at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%a %b %-d, %H:%M %Z").to_string()
}

fn row(s: &OpsShipmentView, csrf: &str) -> Markup {
    html! {
        tr data-shipment=(s.id) {
            td { a.mono href={ "/ops/shipments/" (s.id) } { (s.id) } br; span.status { (status_words(s.status)) } }
            td { ul { @for l in &s.lines { li { (l.quantity) " × " span.mono { (l.sku) } } } } }
            td { @for o in &s.order_ids { a.mono href={ "/ops/orders/" (o) } { (o) } br; } }
            td { (action(s, csrf)) }
        }
    }
}

/// The next step for a parcel, as one button.
fn action(s: &OpsShipmentView, csrf: &str) -> Markup {
    let (step, label) = match s.status {
        "released" => ("pick", "Pick"),
        "picking" => ("pack", "Pack"),
        "packed" => ("ship", "Ship"),
        _ => return html! {},
    };
    html! {
        form.inline method="post" action={ "/ops/shipments/" (s.id) "/" (step) } {
            input type="hidden" name="csrf" value=(csrf);
            button.primary type="submit" data-step=(step) { (label) span.visually-hidden { " parcel " (s.id) } }
        }
    }
}

fn parse_shipment(raw: &str) -> Result<ShipmentId, ApiError> {
    ShipmentId::parse(raw).map_err(|_| ApiError::NotFound("shipment"))
}

/// One parcel: what is in it, where it is, and its next step; once shipped, the label to print.
pub async fn shipment(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    render_shipment(&state, &staff, &id, None).await
}

async fn render_shipment(
    state: &AppState,
    staff: &Staff,
    id: &str,
    problem: Option<FormProblem>,
) -> Result<Response, PageError> {
    let id = parse_shipment(id)?;
    let mut read = state.store.read().await.map_err(ApiError::from)?;
    let parcel = warehouse::parcel(&mut read.conn(), state, id, staff.warehouse()?).await?;
    drop(read);
    let s = OpsShipmentView::new(&parcel);
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let body = html! {
        (form_alert(problem.as_ref(), &[]))
        h1 { "Parcel " span.mono { (s.id) } }
        p.lead { span.status #shipment-status { (status_words(s.status)) } " at " (s.fulfillment_center) }
        dl.facts {
            dt { "Items" } dd { @for l in &s.lines { (l.quantity) " × " span.mono { (l.sku) } br; } }
            dt { "Orders" } dd { @for o in &s.order_ids { a.mono href={ "/ops/orders/" (o) } { (o) } br; } }
            @if let Some(b) = &s.box_code { dt { "Box" } dd { (b) @if let Some(w) = s.weight_grams { ", " (w) " g" } } }
            @if let (Some(c), Some(t)) = (&s.carrier, &s.tracking_number) {
                dt { "Carrier" } dd { (c) " " (s.service.as_deref().unwrap_or("")) }
                dt { "Tracking" } dd.mono #tracking-number { (t) }
            }
        }
        (action(&s, &staff.csrf))
        @if s.tracking_number.is_some() {
            p { a.button.primary #print-label href={ "/ops/shipments/" (s.id) "/label" } target="_blank" rel="noopener" { "Print label (PDF)" } }
        }
        p { a href="/ops" { "Back to the pick list" } }
    };
    Ok(respond(status, page(&format!("Parcel {}", s.id), nav(staff), body)))
}

/// Pick, pack or ship, then the parcel's page. A step the parcel is not ready for says why there.
pub async fn step(
    State(state): State<AppState>,
    staff: Staff,
    PagePath((id, step)): PagePath<(String, String)>,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    let auth = StaffAuth(staff.warehouse()?.clone());
    let (path, empty) = (Path(id.clone()), bytes::Bytes::new());
    let done = match step.as_str() {
        "pick" => shipments::pick(State(state.clone()), auth, path, empty).await.map(drop),
        "pack" => shipments::pack(State(state.clone()), auth, path, empty).await.map(drop),
        "ship" => shipments::ship(State(state.clone()), auth, path, empty).await.map(drop),
        _ => return Err(ApiError::NotFound("step").into()),
    };
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/ops/shipments/{id}")).into_response()),
        Err(e @ (ApiError::Conflict(..) | ApiError::Unprocessable(..) | ApiError::Validation(_))) => {
            render_shipment(&state, &staff, &id, Some(e.into())).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn label(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    Ok(shipments::label(State(state), StaffAuth(staff.warehouse()?.clone()), Path(id)).await?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Search {
    q: String,
}

/// Orders by their id or the customer's e-mail (the store's staff only: a seller sees its own queue).
pub async fn orders(
    State(state): State<AppState>,
    staff: Staff,
    Query(search): Query<Search>,
) -> Result<Response, PageError> {
    if matches!(staff.actor, Some(Actor::Seller(_))) {
        return Err(ApiError::Forbidden("warehouse").into());
    }
    let q = search.q.trim();
    if q.len() > 200 {
        return Err(ApiError::from(buynow_domain::InvalidValue::new("q", "at most 200 characters")).into());
    }
    let mut read = state.store.read().await.map_err(ApiError::from)?;
    let found = if q.is_empty() {
        Vec::new()
    } else if let Ok(id) = OrderId::parse(q) {
        orders::get(&mut read.conn(), id).await.map_err(ApiError::from)?.into_iter().collect()
    } else if let Ok(email) = Email::parse(q) {
        let hashes = crate::personal_data::email_hashes(&state.vault, &email);
        match customers::by_email_hash(&mut read.conn(), &hashes).await.map_err(ApiError::from)? {
            Some(c) => orders::for_customer(&mut read.conn(), c.id, 50).await.map_err(ApiError::from)?,
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    drop(read);
    let body = html! {
        h1 { "Orders" }
        form.inline role="search" method="get" action="/ops/orders" {
            label for="q" { "Order id or customer e-mail" }
            input #q name="q" type="search" value=(q) maxlength="200";
            button.secondary type="submit" { "Search" }
        }
        @if !q.is_empty() && found.is_empty() { p.muted { "No order matches." } }
        ul.saved {
            @for o in &found {
                li {
                    a.mono href={ "/ops/orders/" (o.id) } { (o.id) } " — " (status_words(o.status.as_str())) " — "
                    (money(&o.total.into())) " — " (when(buynow_store::from_micros(o.created_at)))
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page("Orders", nav(&staff), body)))
}

pub async fn order(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    if matches!(staff.actor, Some(Actor::Seller(_))) {
        return Err(ApiError::Forbidden("warehouse").into());
    }
    let id = view::parse_order_id(&id)?;
    let mut read = state.store.read().await.map_err(ApiError::from)?;
    let order = orders::get(&mut read.conn(), id).await.map_err(ApiError::from)?.ok_or(ApiError::NotFound("order"))?;
    let o = view::render(&state, &mut read.conn(), order).await?;
    drop(read);
    let body = html! {
        h1 { "Order " span.mono { (o.id) } }
        p.lead { span.status { (status_words(o.status)) } " · " (money(&o.total)) " · arriving "
            (window(o.estimated_delivery.earliest, o.estimated_delivery.latest)) }
        section.card {
            h2 { "Parcels" }
            ul { @for s in &o.shipments {
                li { a.mono href={ "/ops/shipments/" (s.id) } { (s.id) } " — " (s.fulfillment_center) ", " (status_words(s.status))
                    @if let Some(t) = &s.tracking_number { " — " span.mono { (t) } } }
            } }
        }
        section.card {
            h2 { "Timeline" }
            ol.timeline { @for t in &o.timeline { li { time { (when(t.at)) } " — " (t.note) } } }
        }
    };
    Ok(respond(StatusCode::OK, page(&format!("Order {}", o.id), nav(&staff), body)))
}

/// Messages that failed: retrying, or dead-lettered with "Send again" (admin).
pub async fn deliveries(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    if !staff.admin {
        return Err(ApiError::Forbidden("admin").into());
    }
    let troubled = {
        let mut read = state.store.read().await.map_err(ApiError::from)?;
        notifications::troubled(&mut read.conn(), 100).await.map_err(ApiError::from)?
    };
    let body = html! {
        h1 { "Failing deliveries" }
        @if troubled.is_empty() { p.muted #no-failures { "Every message went out." } }
        @else {
            table.picks {
                thead { tr {
                    th scope="col" { "Message" } th scope="col" { "To" } th scope="col" { "Attempts" }
                    th scope="col" { "Last error" } th scope="col" { "Action" }
                } }
                tbody {
                    @for d in &troubled {
                        tr data-delivery=(d.id) {
                            td { (d.kind.as_str()) br; a.mono href={ "/ops/orders/" (d.order_id) } { (d.order_id) } }
                            td { (d.channel.as_str()) ": " span.mono { (d.target) } }
                            td { (d.attempts) @if d.status == DeliveryStatus::Dead { br; strong { "dead-lettered" } } }
                            td { (d.last_error.as_deref().unwrap_or("")) }
                            td {
                                @if d.status == DeliveryStatus::Dead {
                                    form.inline method="post" action={ "/ops/deliveries/" (d.id) "/retry" } {
                                        input type="hidden" name="csrf" value=(staff.csrf);
                                        button.primary type="submit" { "Send again" span.visually-hidden { " " (d.id) } }
                                    }
                                } @else {
                                    "retrying"
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page("Failing deliveries", nav(&staff), body)))
}

pub async fn retry_delivery(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    if !staff.admin {
        return Err(ApiError::Forbidden("admin").into());
    }
    match webhooks::retry(State(state), AdminAuth(staff.member.clone()), Path(id)).await {
        Ok(_) | Err(ApiError::Conflict(..)) => Ok(Redirect::to("/ops/deliveries").into_response()),
        Err(e) => Err(e.into()),
    }
}

/// Staff keys (admins): every key with its role and whether it still works, a form to issue one (shown once,
/// on the page that answers the form), and revoking.
pub async fn keys(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    keys_page(&state, &staff, None, None, &KeyForm::default()).await
}

async fn keys_page(
    state: &AppState,
    staff: &Staff,
    issued: Option<crate::ops::keys::KeyCreated>,
    problem: Option<FormProblem>,
    entered: &KeyForm,
) -> Result<Response, PageError> {
    let axum::Json(list) = crate::ops::keys::list(State(state.clone()), AdminAuth(staff.member.clone())).await?;
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let body = html! {
        h1 { "Staff keys" }
        @if let Some(made) = &issued {
            div.notice role="status" #issued-key {
                p { "The key of " strong { (made.view.name) } " (" (made.view.role) "). Copy it now: it is not shown again." }
                p { code.mono #new-key { (made.key) } }
            }
        }
        form.stack method="post" action="/ops/keys" aria-labelledby="issue-title" {
            h2 #issue-title { "Issue a key" }
            (form_alert(problem.as_ref(), &["name", "center"]))
            input type="hidden" name="csrf" value=(staff.csrf);
            div.field {
                label for="role" { "Role" }
                select #role name="role" {
                    @for (role, words) in [
                        ("warehouse", "Warehouse: pick, pack, ship, receive returns"),
                        ("support", "Support: gift cards (and support cases)"),
                        ("admin", "Admin: everything"),
                    ] {
                        option value=(role) selected[entered.role == role] { (words) }
                    }
                }
            }
            (super::account::field("name", "Whose key", "text", &entered.name, "off", problem.as_ref()))
            (super::account::field(
                "center", "Center (warehouse keys; leave empty for every center)", "text", &entered.center, "off",
                problem.as_ref()
            ))
            button.primary type="submit" { "Issue the key" }
        }
        table.picks #keys {
            caption { "Keys" }
            thead { tr {
                th scope="col" { "Whose" } th scope="col" { "Role" } th scope="col" { "Limited to" }
                th scope="col" { "Issued" } th scope="col" { "State" }
            } }
            tbody {
                @for k in &list.keys {
                    tr data-key=(k.id) {
                        td { (k.name) br; span.mono { (k.id) } }
                        td { (k.role) }
                        td { (k.center.as_deref().or(k.seller.as_deref()).unwrap_or("—")) }
                        td { (when(k.created_at)) }
                        td {
                            @if let Some(at) = k.revoked_at { "revoked " (when(at)) }
                            @else {
                                form.inline method="post" action={ "/ops/keys/" (k.id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(staff.csrf);
                                    button.secondary type="submit" { "Revoke" span.visually-hidden { " the key of " (k.name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted { "The start-up key (BUYNOW_ADMIN_KEY) is not listed: it is the first admin key, set where BuyNow starts." }
    };
    Ok(respond(status, page("Staff keys", nav(staff), body)))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct KeyForm {
    role: String,
    name: String,
    center: String,
}

pub async fn issue_key(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<KeyForm>,
) -> Result<Response, PageError> {
    let body = crate::ops::keys::NewKey {
        role: form.role.clone(),
        name: form.name.clone(),
        center: optional(&form.center),
        seller: None,
    };
    match crate::ops::keys::issue(State(state.clone()), AdminAuth(staff.member.clone()), Json(body)).await {
        Ok((_, axum::Json(made))) => keys_page(&state, &staff, Some(made), None, &KeyForm::default()).await,
        Err(e @ (ApiError::Validation(_) | ApiError::Unprocessable(..))) => {
            keys_page(&state, &staff, None, Some(e.into()), &form).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    crate::ops::keys::revoke(State(state), AdminAuth(staff.member.clone()), Path(id)).await?;
    Ok(Redirect::to("/ops/keys").into_response())
}

/// The audit trail (admins), newest first, filtered by who or by what, a hundred at a time.
pub async fn audit_trail(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditChoice>,
) -> Result<Response, PageError> {
    let query = crate::ops::audit::AuditQuery {
        actor: q.actor.as_deref().and_then(optional),
        contains: q.contains.as_deref().and_then(optional),
        before: q.before,
        limit: None,
    };
    let (actor, contains) = (query.actor.clone(), query.contains.clone());
    let axum::Json(list) =
        crate::ops::audit::list(State(state), AdminAuth(staff.member.clone()), Ok(Query(query))).await?;
    let older = list.entries.last().filter(|_| list.entries.len() == 100).map(|e| e.seq);
    let body = html! {
        h1 { "Audit trail" }
        form.inline method="get" action="/ops/audit" aria-label="Filter" {
            label for="actor" { "Who" }
            input #actor name="actor" type="text" value=(actor.as_deref().unwrap_or(""));
            label for="contains" { "What (an id, a route, sign_in_failed)" }
            input #contains name="contains" type="text" value=(contains.as_deref().unwrap_or(""));
            button.secondary type="submit" { "Filter" }
        }
        @if list.entries.is_empty() { p.muted { "Nothing recorded matches." } }
        @else {
            table.picks #audit {
                caption.visually-hidden { "Audit entries, newest first" }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" }
                    th scope="col" { "What" } th scope="col" { "On" } th scope="col" { "Request" }
                } }
                tbody {
                    @for e in &list.entries {
                        tr {
                            td { (e.seq) }
                            td { (when(e.at)) }
                            td.mono { (e.actor) }
                            td { (e.action) }
                            td.mono { (e.subject) }
                            td.mono { (e.request_id) }
                        }
                    }
                }
            }
        }
        @if let Some(before) = older {
            p { a href={ "/ops/audit?before=" (before) } { "Older entries" } }
        }
    };
    Ok(respond(StatusCode::OK, page("Audit trail", nav(&staff), body)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditChoice {
    actor: Option<String>,
    contains: Option<String>,
    before: Option<i64>,
}
