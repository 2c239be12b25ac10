//! Returns: asked for within the return window after delivery, with a label back to the center; received
//! there (restocked, or written off when damaged), then refunded by a job: to the card first, then to the gift
//! card balance the order was partly paid with.

use super::lifecycle;
use super::warehouse::{address_lines, center_lines};
use crate::error::ApiError;
use crate::jobs;
use crate::state::AppState;
use buynow_domain::{EventKind, InvalidValue, JobId, Money, OrderEvent, OrderStatus, PostalAddress, ReturnId};
use buynow_logistics::label::{self, Label};
use buynow_logistics::Place;
use buynow_store::orders::{self, Order};
use buynow_store::payments::{self, Payment, Refund};
use buynow_store::returns::{self, Return};
use buynow_store::{carriers as carrier_records, catalog, shipments, Conn};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Why the customer sends it back. The first three are the shop's fault: shipping is refunded too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Damaged,
    Defective,
    WrongItem,
    NoLongerNeeded,
    Other,
}

impl ReturnReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnReason::Damaged => "damaged",
            ReturnReason::Defective => "defective",
            ReturnReason::WrongItem => "wrong_item",
            ReturnReason::NoLongerNeeded => "no_longer_needed",
            ReturnReason::Other => "other",
        }
    }

    pub fn shops_fault(self) -> bool {
        match self {
            ReturnReason::Damaged | ReturnReason::Defective | ReturnReason::WrongItem => true,
            ReturnReason::NoLongerNeeded | ReturnReason::Other => false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub quantity: u32,
}

/// The carrier that brings returns back.
const RETURN_CARRIER: &str = "swift";
const RETURN_SERVICE: &str = "ground";

/// Opens a return of `lines` of a delivered order; refused past the return window, for more than was
/// delivered, or for an order not delivered. An order takes one return: once asked, it is no longer `delivered`.
pub async fn request(
    c: &mut Conn<'_>,
    state: &AppState,
    order: &Order,
    lines: Vec<Line>,
    reason: ReturnReason,
    now: i64,
) -> Result<Return, ApiError> {
    if order.status != OrderStatus::Delivered {
        return Err(ApiError::Conflict(
            "not_returnable",
            format!("the order is {}: returns are accepted once it is delivered", order.status.as_str()),
        ));
    }
    let rows = shipments::for_order(c, order.id).await?;
    let delivered_at = rows.iter().filter_map(|s| s.delivered_at).max().unwrap_or(order.updated_at);
    let window = state.config.return_window.num_microseconds().unwrap_or(i64::MAX);
    if now - delivered_at > window {
        return Err(ApiError::Conflict(
            "return_window_closed",
            format!("returns are accepted for {} days after delivery", state.config.return_window.num_days()),
        ));
    }
    if lines.is_empty() {
        return Err(InvalidValue::new("items", "name at least one item to return").into());
    }
    let items = orders::items(c, order).await?;
    let mut refund = Money::zero(order.total.currency());
    let ordered: u32 = items.iter().map(|i| i.quantity).sum();
    let mut units = 0;
    // A refusal names the line by its place in the request, never by what was sent in it.
    for (n, line) in lines.iter().enumerate() {
        let item = items
            .iter()
            .find(|i| i.sku == line.sku)
            .ok_or_else(|| InvalidValue::new("items", format!("items[{n}] is not an item of this order")))?;
        let asked: u32 = lines.iter().filter(|l| l.sku == line.sku).map(|l| l.quantity).sum();
        if line.quantity == 0 || asked > item.quantity {
            let why = format!("items[{n}]: 1 to {} of {} can be returned", item.quantity, item.title);
            return Err(InvalidValue::new("items", why).into());
        }
        units += line.quantity;
        let amount = item.unit_price.checked_mul(i64::from(line.quantity)).map_err(ApiError::internal)?;
        refund = refund.checked_add(amount).map_err(ApiError::internal)?;
    }
    // Tax goes back with the items it was charged on, in proportion; shipping when the fault was the shop's.
    let tax = order.tax.minor() * i64::from(units) / i64::from(ordered.max(1));
    refund = refund.checked_add(Money::new(tax, order.total.currency())).map_err(ApiError::internal)?;
    if reason.shops_fault() {
        refund = refund.checked_add(order.shipping).map_err(ApiError::internal)?;
    }
    let center =
        rows.first().map(|s| s.center.clone()).ok_or_else(|| ApiError::internal("an order with no shipment"))?;
    let to = crate::personal_data::ship_to(&state.vault, order)?;
    let tracking = book_return(c, state, order, &center, &to, now).await?;
    let ret = Return {
        id: ReturnId::new(),
        order_id: order.id,
        status: "requested".into(),
        reason: reason.as_str().into(),
        lines: serde_json::to_string(&lines).map_err(ApiError::internal)?,
        refund,
        center,
        carrier: RETURN_CARRIER.into(),
        tracking_number: tracking,
        condition: None,
        created_at: now,
    };
    returns::insert(c, &ret).await?;
    let note = format!("Return requested ({}): refund of {refund} once it arrives", reason.as_str());
    let to_status =
        lifecycle::apply(c, order, OrderEvent::RequestReturn, EventKind::ReturnRequested, &note, now).await?;
    debug_assert_eq!(to_status, OrderStatus::ReturnRequested);
    Ok(ret)
}

/// Books the return parcel with the return carrier, from the customer to the center.
async fn book_return(
    c: &mut Conn<'_>,
    state: &AppState,
    order: &Order,
    center: &str,
    from: &PostalAddress,
    now: i64,
) -> Result<String, ApiError> {
    let carrier = state.carrier(RETURN_CARRIER).ok_or_else(|| ApiError::internal("no return carrier"))?;
    let centers = state.centers();
    let to = centers.by_code.get(center).and_then(|i| i.place()).unwrap_or_else(|| Place::new("US", "WA"));
    for _ in 0..8 {
        let parcel = carrier_records::Parcel {
            carrier: carrier.code.into(),
            tracking_number: carrier.tracking.format(rand::thread_rng().gen()),
            shipment_ref: format!("return:{}:{now}", order.id),
            service: RETURN_SERVICE.into(),
            origin: format!("{}-{}", from.country, from.region),
            destination: format!("{}-{}", to.country, to.region),
            weight_grams: 0,
            delivered_by: String::new(),
            booked_at: now,
            step: 0,
            // The customer drops it off; the warehouse scans it in when it arrives.
            next_event_at: None,
        };
        if let Some(booked) = carrier_records::book(c, &parcel).await? {
            return Ok(booked.tracking_number);
        }
    }
    Err(ApiError::internal("no free tracking number for the return"))
}

/// The return label (PDF): from the customer to the center.
pub async fn label(c: &mut Conn<'_>, state: &AppState, order: &Order, id: ReturnId) -> Result<Vec<u8>, ApiError> {
    let ret = returns::get(c, id).await?.filter(|r| r.order_id == order.id).ok_or(ApiError::NotFound("return"))?;
    let carrier = state.carrier(&ret.carrier).ok_or_else(|| ApiError::internal("unknown return carrier"))?;
    let centers = state.centers();
    let info = centers.by_code.get(&ret.center).ok_or_else(|| ApiError::internal("unknown center"))?;
    let from = crate::personal_data::ship_to(&state.vault, order)?;
    let doc = Label {
        carrier: carrier.name.into(),
        service: "Return".into(),
        tracking_number: ret.tracking_number.clone(),
        from: address_lines(&from),
        to: center_lines(info),
        weight_grams: 0,
        reference: ret.id.to_string(),
        ship_date: buynow_store::from_micros(ret.created_at).date_naive().to_string(),
    };
    label::render(&doc).map_err(ApiError::internal)
}

/// How a refund of `amount` splits between the sources that paid (split tender): the card first, up to what
/// its captures took and earlier refunds have not given back; then the gift card balance, up to what the order
/// took of it and has not given back.
pub(crate) async fn refund_sources(
    c: &mut Conn<'_>,
    payment: &Payment,
    amount: Money,
) -> Result<(Money, Money), ApiError> {
    let captured: i64 = payments::captures(c, payment.id).await?.iter().map(|cap| cap.amount.minor()).sum();
    let (card_owed, gift_owed) = payments::refunds_owed(c, payment.id).await?;
    let card = amount.minor().min((captured - card_owed).max(0));
    let gift_left = payment.gift_amount.map_or(0, |g| g.minor()) - gift_owed;
    let gift = (amount.minor() - card).min(gift_left.max(0));
    Ok((Money::new(card, amount.currency()), Money::new(gift, amount.currency())))
}

/// The center has the return: sellable units back on the shelf, damaged ones written off; the order is
/// `returned`, and a job refunds it. Receiving it again answers as the first time did. Staff limited to one
/// center (`at_center`) receive only its returns.
pub async fn receive(
    c: &mut Conn<'_>,
    id: ReturnId,
    sellable: bool,
    at_center: Option<&str>,
    now: i64,
) -> Result<(Return, Option<JobId>), ApiError> {
    let ret = returns::get(c, id).await?.ok_or(ApiError::NotFound("return"))?;
    if at_center.is_some_and(|own| own != ret.center) {
        return Err(ApiError::NotYours("return"));
    }
    if ret.status != "requested" {
        return Ok((ret, None));
    }
    let condition = if sellable { "sellable" } else { "damaged" };
    if !returns::set_status(c, id, "requested", "received", Some(condition), now).await? {
        return Err(ApiError::Conflict("invalid_state", "the return changed meanwhile".into()));
    }
    let lines: Vec<Line> = serde_json::from_str(&ret.lines).map_err(ApiError::internal)?;
    if sellable {
        for line in &lines {
            catalog::restock(c, &line.sku, &ret.center, line.quantity).await?;
        }
    }
    let order = orders::lock(c, ret.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let note = format!("Return received at {} ({condition})", ret.center);
    lifecycle::apply(c, &order, OrderEvent::ReceiveReturn, EventKind::ReturnReceived, &note, now).await?;
    let payment = payments::authorized_for_order(c, order.id).await?.ok_or_else(|| ApiError::internal("no payment"))?;
    let (card, gift) = refund_sources(c, &payment, ret.refund).await?;
    let refund = Refund {
        id: format!("rfd_{}", ret.id.uuid().simple()),
        payment_id: payment.id,
        return_id: Some(ret.id),
        amount: card,
        gift_amount: gift,
        status: "pending".into(),
    };
    payments::add_refund(c, &refund, now).await?;
    let job = jobs::enqueue(c, jobs::refund(&refund.id, now)).await?;
    let ret = returns::get(c, id).await?.ok_or(ApiError::NotFound("return"))?;
    Ok((ret, job))
}
