//! The support console: the queue of cases, one case with its order's whole story (timeline, payments,
//! parcels, messages), and the actions that settle it — each through the API's own handlers.

use super::form::{optional, Form, PagePath};
use super::page::{field_message, form_alert, money, page, respond, status_words, when, FormProblem, Nav, PageError};
use super::session::Staff;
use crate::auth::SupportAuth;
use crate::error::ApiError;
use crate::ops::cases::{self, CaseActionBody, CaseDetail, CaseQuery};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use buynow_domain::{CaseAction, InvalidValue};
use maud::{html, Markup};
use serde::Deserialize;

fn nav(staff: &Staff) -> Nav<'_> {
    Nav::Console {
        csrf: &staff.csrf,
        seller: false,
        warehouse: staff.actor.is_some(),
        support: true,
        admin: staff.admin,
    }
}

fn support_only(staff: &Staff) -> Result<SupportAuth, PageError> {
    if !staff.support() {
        return Err(ApiError::Forbidden("support").into());
    }
    Ok(SupportAuth(staff.member.clone()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QueueChoice {
    status: Option<String>,
}

/// The queue: open cases (or resolved ones), newest first.
pub async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    Query(choice): Query<QueueChoice>,
) -> Result<Response, PageError> {
    let auth = support_only(&staff)?;
    let status = choice.status.as_deref().and_then(optional).unwrap_or_else(|| "open".into());
    let query = CaseQuery {
        status: Some(status.clone()),
        reason: None,
        assignee: None,
        order_id: None,
        before: None,
        limit: Some(200),
    };
    let axum::Json(list) = cases::list(State(state), auth, Ok(Query(query))).await?;
    let body = html! {
        h1 { "Support cases" }
        form.inline method="get" action="/ops/cases" {
            label for="status" { "Show" }
            select #status name="status" {
                option value="open" selected[status == "open"] { "Open" }
                option value="resolved" selected[status == "resolved"] { "Resolved" }
            }
            button.secondary type="submit" { "Show" }
        }
        @if list.cases.is_empty() { p.muted #no-cases { "No " (status) " cases." } }
        @else {
            table.picks #cases {
                caption.visually-hidden { "Support cases, newest first" }
                thead { tr {
                    th scope="col" { "Case" } th scope="col" { "Why" } th scope="col" { "Order" }
                    th scope="col" { "Taken by" } th scope="col" { "Opened" }
                } }
                tbody {
                    @for c in &list.cases {
                        tr data-case=(c.id) {
                            td { a.mono href={ "/ops/cases/" (c.id) } { (c.id) } br; (c.summary.chars().take(120).collect::<String>()) }
                            td { (status_words(c.reason)) @if c.holds_order { br; strong { "order held" } } }
                            td { a.mono href={ "/ops/orders/" (c.order_id) } { (c.order_id) } }
                            td { (c.assignee.as_deref().unwrap_or("nobody yet")) }
                            td { (when(c.created_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page("Support cases", nav(&staff), body)))
}

pub async fn case(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let auth = support_only(&staff)?;
    let axum::Json(detail) = cases::get(State(state), auth, Path(id)).await?;
    Ok(case_page(&staff, &detail, None, &ActionForm::default()))
}

fn case_page(staff: &Staff, d: &CaseDetail, problem: Option<FormProblem>, entered: &ActionForm) -> Response {
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let c = &d.case;
    let o = &d.order;
    let open = c.status == "open";
    let body = html! {
        h1 { "Case " span.mono { (c.id) } }
        p.lead { span.status #case-status { (status_words(c.status)) } " · " (status_words(c.reason))
            @if c.holds_order && open { " · " strong { "holds its order" } } }
        dl.facts {
            dt { "What happened" } dd #case-summary { (c.summary) }
            dt { "Order" } dd { a.mono href={ "/ops/orders/" (c.order_id) } { (c.order_id) } " — " (status_words(o.status))
                @if o.on_hold { " (on hold)" } }
            @if let Some(s) = &c.subject { dt { "About" } dd.mono { (s) } }
            dt { "Opened" } dd { (when(c.created_at)) " by " (c.opened_by) }
            dt { "Taken by" } dd #case-assignee { (c.assignee.as_deref().unwrap_or("nobody yet")) }
        }
        @if open {
            form.inline method="post" action={ "/ops/cases/" (c.id) "/actions" } {
                input type="hidden" name="csrf" value=(staff.csrf);
                input type="hidden" name="action" value="assign";
                button.secondary #take-case type="submit" { "Take this case" }
            }
        }
        (action_form(staff, d, problem.as_ref(), entered))
        section.card aria-labelledby="notes-title" {
            h2 #notes-title { "Notes" }
            ol.timeline #case-notes {
                @for n in &d.notes { li { time { (when(n.at)) } " — " strong { (status_words(&n.action)) } " by " (n.author) ": " (n.body) } }
            }
        }
        section.card aria-labelledby="order-title" {
            h2 #order-title { "The order" }
            p { (o.items.iter().map(|i| format!("{} × {}", i.quantity, i.title)).collect::<Vec<_>>().join(", "))
                " · " (money(&o.total)) " · to " (o.ship_to.name) ", " (o.ship_to.city) }
            h3 { "Payment" }
            p { (status_words(o.payment.status)) ": charged " (money(&o.payment.captured)) ", refunded " (money(&o.payment.refunded)) }
            @if !o.payment.attempts.is_empty() {
                table #case-payments {
                    caption.visually-hidden { "Payment steps" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "Step" } th scope="col" { "Amount" } th scope="col" { "Outcome" } } }
                    tbody { @for a in &o.payment.attempts {
                        tr { td { (when(a.at)) } td { (status_words(&a.step)) } td { (money(&a.amount)) }
                             td { (status_words(&a.outcome)) @if let Some(code) = &a.decline_code { " (" (code) ")" } } }
                    } }
                }
            }
            h3 { "Parcels" }
            ul #case-parcels { @for s in &o.shipments {
                li { span.mono { (s.id) } " — " (s.fulfillment_center) ", " (status_words(s.status))
                    @if let Some(t) = &s.tracking_number { " — " span.mono { (t) } } }
            } }
            h3 { "Timeline" }
            ol.timeline { @for t in &o.timeline { li { time { (when(t.at)) } " — " (t.note) } } }
            h3 { "Messages" }
            ul #case-messages { @for m in &d.messages {
                li { (m.event) " by " (m.channel) ": " (status_words(m.status))
                    @if let Some(e) = &m.last_error { " — " (e) } }
            } }
        }
        p { a href="/ops/cases" { "Back to the cases" } }
    };
    respond(status, page(&format!("Case {}", c.id), nav(staff), body))
}

fn action_form(staff: &Staff, d: &CaseDetail, problem: Option<&FormProblem>, entered: &ActionForm) -> Markup {
    let c = &d.case;
    let open = c.status == "open";
    let choices: &[(&str, &str)] = if open {
        &[
            ("note", "Add a note"),
            ("resolve", "Resolve: the order goes on"),
            ("refund", "Refund (all, or the amount below) and resolve"),
            ("reship", "Send a lost or damaged parcel again and resolve"),
            ("retry_payment", "Try the failed payment again and resolve"),
            ("retry_delivery", "Send the failed messages again and resolve"),
            ("cancel", "Cancel the order and resolve"),
        ]
    } else {
        &[("note", "Add a note")]
    };
    html! {
        form.stack method="post" action={ "/ops/cases/" (c.id) "/actions" } aria-labelledby="act-title" {
            h2 #act-title { @if open { "Act on this case" } @else { "Add a note" } }
            (form_alert(problem, &["action", "note", "amount", "message"]))
            input type="hidden" name="csrf" value=(staff.csrf);
            div.field {
                label for="action" { "Action" }
                select #action name="action" aria-describedby=[described(problem, "action")] {
                    @for (value, words) in choices { option value=(value) selected[entered.action == *value] { (words) } }
                }
                (beside(problem, "action"))
            }
            div.field {
                label for="amount" { "Refund amount (USD, blank for all that is left)" }
                input #amount name="amount" type="text" inputmode="decimal" value=(entered.amount) autocomplete="off"
                    aria-describedby=[described(problem, "amount")];
                (beside(problem, "amount"))
            }
            div.field {
                label for="note" { "Note for the case (staff only)" }
                textarea #note name="note" rows="3" maxlength="2000" aria-describedby=[described(problem, "note")] { (entered.note) }
                (beside(problem, "note"))
            }
            div.field {
                label for="message" { "Message to the customer (optional)" }
                textarea #message name="message" rows="3" maxlength="1000" aria-describedby=[described(problem, "message")] { (entered.message) }
                (beside(problem, "message"))
            }
            button.primary #do-action type="submit" { "Do it" }
        }
    }
}

/// The id of a field's problem, for its `aria-describedby`, when the problem is about it.
fn described(problem: Option<&FormProblem>, field: &str) -> Option<String> {
    field_message(problem, field).map(|_| format!("{field}-error"))
}

fn beside(problem: Option<&FormProblem>, field: &str) -> Markup {
    html! { @if let Some(m) = field_message(problem, field) { p.field-error id={ (field) "-error" } { (m) } } }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    action: String,
    amount: String,
    note: String,
    message: String,
}

/// Dollars and cents as typed ("12", "12.5", "12.50") in cents.
fn cents(raw: &str) -> Result<Option<i64>, InvalidValue> {
    let raw = raw.trim().trim_start_matches('$');
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || InvalidValue::new("amount", "an amount in dollars, such as 12.50");
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && frac.is_empty() || whole.len() > 9 || frac.len() > 2 {
        return Err(bad());
    }
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !all_digits(whole) || !all_digits(frac) {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(Some(whole * 100 + frac))
}

/// An action from the case's page, through the API's own handler; back to the case, or the form with the
/// problem.
pub async fn act(
    State(state): State<AppState>,
    staff: Staff,
    PagePath(id): PagePath<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let auth = support_only(&staff)?;
    let amount = match cents(&form.amount) {
        Ok(a) => a,
        Err(e) => return again(&state, &staff, &id, ApiError::from(e), &form).await,
    };
    let body = serde_json::json!({
        "action": form.action,
        "note": form.note,
        "message": optional(&form.message),
        "amount": amount.map(|a| serde_json::json!({ "amount": a, "currency": "USD" })),
    });
    let body: CaseActionBody = serde_json::from_value(body).map_err(ApiError::internal)?;
    let assigned = CaseAction::parse(&form.action) == Some(CaseAction::Assign);
    match cases::act(State(state.clone()), auth, Path(id.clone()), crate::extract::Json(body)).await {
        Ok(_) if assigned => Ok(Redirect::to(&format!("/ops/cases/{id}")).into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/ops/cases/{id}#case-notes")).into_response()),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..) | ApiError::Unprocessable(..))) => {
            again(&state, &staff, &id, e, &form).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn again(
    state: &AppState,
    staff: &Staff,
    id: &str,
    e: ApiError,
    form: &ActionForm,
) -> Result<Response, PageError> {
    let axum::Json(detail) =
        cases::get(State(state.clone()), SupportAuth(staff.member.clone()), Path(id.to_string())).await?;
    Ok(case_page(staff, &detail, Some(e.into()), form))
}

#[cfg(test)]
mod tests {
    use super::cents;

    #[test]
    fn amounts_as_typed() {
        assert_eq!(cents("").unwrap(), None);
        assert_eq!(cents("12").unwrap(), Some(1200));
        assert_eq!(cents("$12.5").unwrap(), Some(1250));
        assert_eq!(cents("0.07").unwrap(), Some(7));
        assert_eq!(cents(".5").unwrap(), Some(50));
        for bad in ["1.234", "-1", "1e3", "abc", ".", "1,00", "9999999999"] {
            assert!(cents(bad).is_err(), "{bad}");
        }
    }
}
