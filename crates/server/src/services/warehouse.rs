//! The warehouse: pick lists in waves, pick (with short picks made up from another center where one has the
//! stock), pack (the smallest box that fits), ship (rate shopping, a tracking number, the label), and each
//! shipment's share of its order captured when it leaves.

use super::{lifecycle, support};
use crate::error::ApiError;
use crate::jobs;
use crate::state::{AppState, CenterInfo};
use buynow_domain::payment::share_to_capture;
use buynow_domain::shipment::transition;
use buynow_domain::ShipmentStatus;
use buynow_domain::{
    CaptureId, CaseReason, EventKind, JobId, Money, OrderId, PostalAddress, SellerId, ShipmentEvent, ShipmentId,
};
use buynow_logistics::label::{self, Label};
use buynow_logistics::{boxes, carriers, Carrier, Place};
use buynow_store::orders::{self, Order};
use buynow_store::payments::{self, Capture};
use buynow_store::shipments::{self, Shipment};
use buynow_store::{carriers as carrier_records, catalog, Conn};
use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// Who is working: the store's warehouse staff (at one center when their key names it, else at every center;
/// admins are such staff), or a marketplace seller, who handles only its own shipments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Warehouse { center: Option<String> },
    Seller(SellerId),
}

/// A parcel as the warehouse handles it: the shipment it goes by, and its rows still to be sent.
#[derive(Debug, Clone)]
pub struct Parcel {
    pub id: ShipmentId,
    pub head: Shipment,
    pub rows: Vec<Shipment>,
    pub status: ShipmentStatus,
}

impl Parcel {
    pub fn order_ids(&self) -> Vec<OrderId> {
        self.rows.iter().map(|s| s.order_id).collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// What is in it, by SKU.
    pub fn lines(&self) -> Vec<(String, u32)> {
        let mut lines: BTreeMap<String, u32> = BTreeMap::new();
        for s in &self.rows {
            *lines.entry(s.sku.clone()).or_default() += s.quantity;
        }
        lines.into_iter().collect()
    }
}

/// The parcel `id` (a shipment consolidated into another is found as that one), locked with `lock`.
pub async fn load(c: &mut Conn<'_>, id: ShipmentId, lock: bool) -> Result<Parcel, ApiError> {
    let mut id = id;
    for _ in 0..2 {
        let rows = if lock { shipments::lock_parcel(c, id).await? } else { shipments::parcel(c, id).await? };
        let Some(head) = rows.iter().find(|s| s.id == id).cloned() else { break };
        if let Some(parent) = head.consolidated_into {
            id = parent;
            continue;
        }
        let live: Vec<Shipment> = rows.into_iter().filter(|s| s.status != ShipmentStatus::Cancelled).collect();
        let status = live.first().map_or(ShipmentStatus::Cancelled, |s| s.status);
        return Ok(Parcel { id, head, rows: live, status });
    }
    Err(ApiError::NotFound("shipment"))
}

fn center<'a>(centers: &'a crate::state::Centers, code: &str) -> Result<&'a CenterInfo, ApiError> {
    centers.by_code.get(code).ok_or_else(|| ApiError::internal(format!("unknown center {code}")))
}

fn check_actor(info: &CenterInfo, actor: &Actor) -> Result<(), ApiError> {
    match actor {
        Actor::Warehouse { center: None } => Ok(()),
        Actor::Warehouse { center: Some(code) } if *code == info.center.code => Ok(()),
        Actor::Seller(seller) if info.center.seller_id == Some(*seller) => Ok(()),
        Actor::Warehouse { .. } | Actor::Seller(_) => Err(ApiError::NotYours("shipment")),
    }
}

fn step(p: &Parcel, event: ShipmentEvent) -> Result<ShipmentStatus, ApiError> {
    transition(p.status, event).map_err(|e| ApiError::Conflict("invalid_state", e.to_string()))
}

/// Locks the parcel's orders (by id, the order every writer locks them in) and brings each up to its
/// shipments.
async fn follow(c: &mut Conn<'_>, orders_of: &[OrderId], now: i64) -> Result<Vec<Order>, ApiError> {
    let mut out = Vec::with_capacity(orders_of.len());
    for id in orders_of {
        let order = orders::lock(c, *id).await?.ok_or(ApiError::NotFound("order"))?;
        out.push(lifecycle::follow_shipments(c, &order, now).await?);
    }
    Ok(out)
}

/// Starts picking the parcel with the lines found on the shelf (all of them when `found` is `None`). Units
/// not found are written off; what another center has is shipped from there, and what none has puts the
/// order on hold, the customer told.
pub async fn pick(
    c: &mut Conn<'_>,
    state: &AppState,
    id: ShipmentId,
    found: Option<Vec<(String, u32)>>,
    actor: &Actor,
    now: i64,
) -> Result<Parcel, ApiError> {
    let p = load(c, id, true).await?;
    let centers = state.centers();
    check_actor(center(&centers, &p.head.center)?, actor)?;
    let to = step(&p, ShipmentEvent::StartPicking)?;
    let expected = p.lines();
    let mut found: BTreeMap<String, u32> = match found {
        None => expected.iter().cloned().collect(),
        Some(lines) => {
            let mut sum: BTreeMap<String, u32> = BTreeMap::new();
            for (sku, quantity) in lines {
                *sum.entry(sku).or_default() += quantity;
            }
            sum
        }
    };
    for (sku, quantity) in &found {
        match expected.iter().find(|(s, _)| s == sku) {
            // The SKUs of the shipment are named, never what was sent.
            None => return Err(invalid("lines", "a SKU that is not in this shipment".into())),
            Some((expected_sku, wanted)) if quantity > wanted => {
                return Err(invalid("lines", format!("only {wanted} × {expected_sku} are to be picked")))
            }
            Some(_) => {}
        }
    }
    shipments::move_parcel(c, p.id, p.status, to, now).await?;
    for row in &p.rows {
        let left = found.entry(row.sku.clone()).or_default();
        let picked = (*left).min(row.quantity);
        *left -= picked;
        if picked < row.quantity {
            short_pick(c, state, row, picked, now).await?;
        }
    }
    follow(c, &p.order_ids(), now).await?;
    load(c, p.id, false).await
}

fn invalid(field: &'static str, reason: String) -> ApiError {
    buynow_domain::InvalidValue::new(field, reason).into()
}

/// `row` was found `picked` of its quantity: the rest is written off here and made up from another center
/// when one has it free, else the order waits on staff.
async fn short_pick(c: &mut Conn<'_>, state: &AppState, row: &Shipment, picked: u32, now: i64) -> Result<(), ApiError> {
    let short = row.quantity - picked;
    catalog::write_off_reserved(c, &row.sku, &row.center, short).await?;
    if picked == 0 {
        shipments::move_row(c, row.id, ShipmentStatus::Picking, ShipmentStatus::Cancelled, now).await?;
    } else {
        shipments::set_quantity(c, row.id, picked).await?;
    }
    let order = orders::lock(c, row.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    if let Some(other) = reserve_elsewhere(c, state, &row.sku, short, &row.center, false).await? {
        let mut extra = Shipment::pending(row.order_id, &other, &row.sku, short);
        extra.status = ShipmentStatus::Released;
        extra.released_at = Some(now);
        shipments::insert(c, &extra, now).await?;
        let note =
            format!("{short} × {} could not be found at {}; they ship from {other} instead", row.sku, row.center);
        let payload = serde_json::json!({ "order_id": order.id, "shipment_id": extra.id, "reason": "short_pick" });
        return lifecycle::record(c, &order, order.status, EventKind::ShortPicked, &note, payload, now).await;
    }
    // Nothing to make it up from: the missing units stay on the order's record as a cancelled row, are not
    // charged (see `capture_for`), and the order waits on a person.
    let mut missing = Shipment::pending(row.order_id, &row.center, &row.sku, short);
    missing.status = ShipmentStatus::Cancelled;
    shipments::insert(c, &missing, now).await?;
    let told = format!("{short} × {} could not be found; our support team will contact you", row.sku);
    let summary =
        format!("Short pick at {}: {short} × {} not found, and no other center has them", row.center, row.sku);
    let id = row.id.to_string();
    let trouble =
        support::Trouble { reason: CaseReason::ShortPick, subject: Some(&id), summary: &summary, told: &told };
    support::open(c, &order, trouble, now).await.map(drop)
}

/// Reserves `quantity` of `sku` at a center of the same owner as `home` (the store's, or its seller's) that has
/// it free: `home` itself first when `include_home`, then the others by rank. The center it was reserved at, or
/// `None` when none has it. Making up a short pick and a support reship both send from here.
pub(crate) async fn reserve_elsewhere(
    c: &mut Conn<'_>,
    state: &AppState,
    sku: &str,
    quantity: u32,
    home: &str,
    include_home: bool,
) -> Result<Option<String>, ApiError> {
    let centers = state.centers();
    let seller = centers.by_code.get(home).and_then(|i| i.center.seller_id);
    let mut options: Vec<(bool, u32, String)> = Vec::new();
    for level in catalog::stock_levels(c, sku).await? {
        let Some(info) = centers.by_code.get(&level.center) else { continue };
        let elsewhere = level.center != home;
        if (elsewhere || include_home) && info.center.seller_id == seller && level.available() >= i64::from(quantity) {
            options.push((elsewhere, info.center.rank, level.center.clone()));
        }
    }
    options.sort();
    for (_, _, center) in options {
        if catalog::reserve(c, sku, &center, quantity).await? {
            return Ok(Some(center));
        }
    }
    Ok(None)
}

/// Packs the parcel in `box_code`, or in the smallest box of the center's table that holds its items.
pub async fn pack(
    c: &mut Conn<'_>,
    state: &AppState,
    id: ShipmentId,
    box_code: Option<String>,
    actor: &Actor,
    now: i64,
) -> Result<Parcel, ApiError> {
    let p = load(c, id, true).await?;
    let centers = state.centers();
    let info = center(&centers, &p.head.center)?;
    check_actor(info, actor)?;
    let to = step(&p, ShipmentEvent::Pack)?;
    let mut items = Vec::new();
    for (sku, quantity) in p.lines() {
        let product = catalog::product_by_sku(c, &sku).await?.ok_or(ApiError::NotFound("product"))?;
        let [length_mm, width_mm, height_mm] = product.size_mm;
        let size = boxes::Dimensions { length_mm, width_mm, height_mm };
        items.push(boxes::Item { size, weight_grams: product.weight_grams, quantity });
    }
    let chosen = match box_code {
        Some(code) => {
            let b = info
                .boxes
                .iter()
                .find(|b| b.code == code)
                .ok_or_else(|| invalid("box", format!("no box {code} here")))?;
            if !boxes::fits(b, &items) {
                return Err(ApiError::Unprocessable("box_too_small", format!("the items do not fit in box {code}")));
            }
            b
        }
        None => boxes::choose(&info.boxes, &items).ok_or_else(|| {
            ApiError::Unprocessable(
                "no_box_fits",
                "no box of this center holds these items; name one with `box`".into(),
            )
        })?,
    };
    shipments::set_packed(c, p.id, &chosen.code, boxes::packed_weight(chosen, &items)).await?;
    shipments::move_parcel(c, p.id, p.status, to, now).await?;
    follow(c, &p.order_ids(), now).await?;
    load(c, p.id, false).await
}

/// What the packer may say at the ship step.
#[derive(Debug, Clone, Default)]
pub struct ShipChoice {
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
}

/// Hands the parcel to a carrier: the cheapest service that still meets the promised date (or the one named),
/// a tracking number (drawn, or the seller's own), the stock off the shelf, and each order's share captured by a
/// job. Returns the parcel and the capture jobs.
pub async fn ship(
    c: &mut Conn<'_>,
    state: &AppState,
    id: ShipmentId,
    choice: ShipChoice,
    actor: &Actor,
    now: i64,
) -> Result<(Parcel, Vec<JobId>), ApiError> {
    let p = load(c, id, true).await?;
    let centers = state.centers();
    let info = center(&centers, &p.head.center)?;
    check_actor(info, actor)?;
    let to = step(&p, ShipmentEvent::Ship)?;
    let order_ids = p.order_ids();
    let mut orders_of = Vec::new();
    for oid in &order_ids {
        orders_of.push(orders::lock(c, *oid).await?.ok_or(ApiError::NotFound("order"))?);
    }
    let first = orders_of.first().ok_or(ApiError::NotFound("order"))?;
    let address = crate::personal_data::ship_to(&state.vault, first)?;
    let promised_by = orders_of
        .iter()
        .filter_map(|o| NaiveDate::from_str(&o.estimated_latest).ok())
        .min()
        .ok_or_else(|| ApiError::internal("an order without a promise"))?;
    let from = info.place().ok_or_else(|| ApiError::internal(format!("center {} has no address", info.center.code)))?;
    let dest = Place::new(&address.country, &address.region);
    let ship_date = state.now().with_timezone(&info.calendar.tz()).date_naive();
    let weight = p.head.weight_grams.unwrap_or(0);
    let (carrier, quote) = choose_service(state, info, &choice, &from, &dest, weight, ship_date, promised_by)?;
    let tracking = book(c, carrier, &choice, &p, &quote, &from, &dest, weight, now).await?;
    shipments::set_carrier(c, p.id, carrier.code, quote.service, &tracking).await?;
    for row in &p.rows {
        catalog::ship(c, &row.sku, &row.center, row.quantity).await?;
    }
    shipments::move_parcel(c, p.id, p.status, to, now).await?;
    let mut jobs_made = Vec::new();
    for order in &orders_of {
        for row in p.rows.iter().filter(|r| r.order_id == order.id) {
            if let Some(job) = capture_for(c, order, row, now).await? {
                jobs_made.push(job);
            }
        }
        let note = format!(
            "Shipped with {} {} ({}), tracking {tracking}",
            carrier.name,
            carrier.service(quote.service).map_or(quote.service, |s| s.name),
            p.head.center
        );
        let payload = serde_json::json!({
            "order_id": order.id, "shipment_id": p.id, "carrier": carrier.code, "service": quote.service,
            "tracking_number": tracking, "tracking_url": carrier.tracking_link(&tracking),
            "estimated_delivery": { "earliest": order.estimated_earliest, "latest": order.estimated_latest },
        });
        lifecycle::record(c, order, order.status, EventKind::ShipmentShipped, &note, payload, now).await?;
        lifecycle::follow_shipments(c, order, now).await?;
    }
    Ok((load(c, p.id, false).await?, jobs_made))
}

#[expect(clippy::too_many_arguments, reason = "the facts of one rate shop, each needed")]
fn choose_service<'a>(
    state: &'a AppState,
    info: &CenterInfo,
    choice: &ShipChoice,
    from: &Place,
    to: &Place,
    weight: u32,
    ship_date: NaiveDate,
    promised_by: NaiveDate,
) -> Result<(&'a Carrier, carriers::RateQuote), ApiError> {
    let named = match &choice.carrier {
        Some(code) => Some(state.carrier(code).ok_or_else(|| invalid("carrier", format!("no carrier {code}")))?),
        None if info.center.seller_id.is_some() => {
            return Err(invalid(
                "carrier",
                "a seller ships with its own carrier: name it, with its tracking number".into(),
            ))
        }
        None => None,
    };
    let pool: Vec<Carrier> = match named {
        Some(c) => vec![c.clone()],
        None => state.carriers.clone(),
    };
    let mut quotes = carriers::quotes(&pool, from, to, weight, ship_date, info.calendar.holidays());
    if let Some(service) = &choice.service {
        quotes.retain(|q| q.service == service.as_str());
        if quotes.is_empty() {
            return Err(invalid("service", format!("no service {service} reaches {}-{}", to.country, to.region)));
        }
    }
    let quote = carriers::rate_shop(quotes, promised_by).ok_or_else(|| {
        ApiError::Unprocessable("not_deliverable", "no carrier reaches this address from here".into())
    })?;
    let carrier = state.carrier(quote.carrier).ok_or_else(|| ApiError::internal("a quote from an unknown carrier"))?;
    Ok((carrier, quote))
}

/// Books the parcel with its carrier (the carrier's records are where its tracking events come from) and
/// returns the tracking number: the one given, checked against the carrier's format, or a new one.
#[expect(clippy::too_many_arguments, reason = "a booking carries all of these")]
async fn book(
    c: &mut Conn<'_>,
    carrier: &Carrier,
    choice: &ShipChoice,
    p: &Parcel,
    quote: &carriers::RateQuote,
    from: &Place,
    to: &Place,
    weight: u32,
    now: i64,
) -> Result<String, ApiError> {
    if let Some(number) = &choice.tracking_number {
        if !carrier.tracking.is_valid(number) {
            return Err(ApiError::Unprocessable(
                "invalid_tracking_number",
                format!("{number} is not a {} tracking number (its check digit does not match)", carrier.name),
            ));
        }
    }
    for _ in 0..8 {
        let number = match &choice.tracking_number {
            Some(n) => n.clone(),
            None => carrier.tracking.format(rand::thread_rng().gen()),
        };
        let parcel = carrier_records::Parcel {
            carrier: carrier.code.to_string(),
            tracking_number: number.clone(),
            shipment_ref: p.id.to_string(),
            service: quote.service.to_string(),
            origin: format!("{}-{}", from.country, from.region),
            destination: format!("{}-{}", to.country, to.region),
            weight_grams: weight,
            delivered_by: quote.delivered_by.to_string(),
            booked_at: now,
            step: 0,
            next_event_at: Some(now),
        };
        match carrier_records::book(c, &parcel).await? {
            Some(booked) => return Ok(booked.tracking_number),
            None if choice.tracking_number.is_some() => {
                return Err(ApiError::Conflict("tracking_number_in_use", format!("{number} is another parcel's")))
            }
            None => continue,
        }
    }
    Err(ApiError::internal("no free tracking number after eight draws"))
}

/// Writes `row`'s share of its order's payment as a pending capture, with the job that takes it; `None` if it
/// has one already. Shares follow units: the capture that completes every unit ordered takes what is left of
/// the total, so the captures of a fully shipped order sum to it exactly, and units never shipped are never
/// charged.
async fn capture_for(c: &mut Conn<'_>, order: &Order, row: &Shipment, now: i64) -> Result<Option<JobId>, ApiError> {
    if row.replaces.is_some() {
        // A reship sends again what was paid for: nothing more is charged.
        return Ok(None);
    }
    let payment =
        payments::authorized_for_order(c, order.id).await?.ok_or_else(|| ApiError::internal("no authorization"))?;
    let payment = payments::lock(c, payment.id).await?.ok_or_else(|| ApiError::internal("payment vanished"))?;
    let existing = payments::captures(c, payment.id).await?;
    if existing.iter().any(|cap| cap.shipment_id == row.id) {
        return Ok(None);
    }
    let ordered: u32 = orders::items(c, order).await?.iter().map(|i| i.quantity).sum();
    let all_rows = shipments::for_order(c, order.id).await?;
    let captured_units: u32 =
        all_rows.iter().filter(|s| existing.iter().any(|cap| cap.shipment_id == s.id)).map(|s| s.quantity).sum();
    let captured_so_far =
        existing.iter().try_fold(Money::zero(payment.amount.currency()), |sum, cap| sum.checked_add(cap.amount));
    let captured_so_far = captured_so_far.map_err(ApiError::internal)?;
    let last = captured_units + row.quantity >= ordered;
    let amount =
        share_to_capture(payment.amount, captured_so_far, row.quantity, ordered, last).map_err(ApiError::internal)?;
    let cap = Capture {
        id: CaptureId::new(),
        payment_id: payment.id,
        shipment_id: row.id,
        amount,
        status: "pending".into(),
        gateway_ref: None,
    };
    if !payments::add_capture(c, &cap, now).await? {
        return Ok(None);
    }
    jobs::enqueue(c, jobs::capture(cap.id, now)).await
}

/// The 4×6 in label of a shipped parcel, as PDF.
pub async fn label(c: &mut Conn<'_>, state: &AppState, id: ShipmentId, actor: &Actor) -> Result<Vec<u8>, ApiError> {
    let p = load(c, id, false).await?;
    let centers = state.centers();
    let info = center(&centers, &p.head.center)?;
    check_actor(info, actor)?;
    let (Some(code), Some(tracking)) = (&p.head.carrier, &p.head.tracking_number) else {
        return Err(ApiError::Conflict("not_shipped", "the label is printed when the shipment ships".into()));
    };
    let carrier = state.carrier(code).ok_or_else(|| ApiError::internal(format!("unknown carrier {code}")))?;
    let order = orders::get(c, p.head.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let to = crate::personal_data::ship_to(&state.vault, &order)?;
    let service = p.head.service.as_deref().and_then(|s| carrier.service(s)).map_or("", |s| s.name);
    let shipped = p.head.shipped_at.map(buynow_store::from_micros).unwrap_or_else(|| state.now());
    let doc = Label {
        carrier: carrier.name.to_string(),
        service: service.to_string(),
        tracking_number: tracking.clone(),
        from: center_lines(info),
        to: address_lines(&to),
        weight_grams: p.head.weight_grams.unwrap_or(0),
        reference: p.id.to_string(),
        ship_date: shipped.with_timezone(&info.calendar.tz()).date_naive().to_string(),
    };
    label::render(&doc).map_err(ApiError::internal)
}

pub fn center_lines(info: &CenterInfo) -> Vec<String> {
    let mut lines = vec![info.center.name.clone()];
    if let Some(a) = &info.address {
        lines.extend(address_lines(a).into_iter().skip(1));
    }
    lines
}

pub fn address_lines(a: &PostalAddress) -> Vec<String> {
    let mut lines = vec![a.name.clone(), a.line1.clone()];
    lines.extend(a.line2.clone());
    lines.push(format!("{}, {} {}, {}", a.city, a.region, a.postal_code, a.country));
    lines
}

/// A wave: the parcels that must leave by one cut-off.
#[derive(Debug, Clone)]
pub struct Wave {
    pub cut_off: DateTime<Utc>,
    pub parcels: Vec<Parcel>,
}

/// The center's released parcels, in waves by the cut-off each must meet, the earliest first.
pub async fn pick_lists(c: &mut Conn<'_>, state: &AppState, code: &str, actor: &Actor) -> Result<Vec<Wave>, ApiError> {
    let centers = state.centers();
    let info = centers.by_code.get(code).ok_or(ApiError::NotFound("center"))?;
    check_actor(info, actor)?;
    let rows = shipments::at_center(c, code).await?;
    let heads: BTreeSet<ShipmentId> =
        rows.iter().filter(|s| s.status == ShipmentStatus::Released).map(Shipment::parcel).collect();
    let mut waves: BTreeMap<DateTime<Utc>, Vec<Parcel>> = BTreeMap::new();
    for head in heads {
        let p = load(c, head, false).await?;
        if p.status != ShipmentStatus::Released {
            continue;
        }
        let released = buynow_store::from_micros(p.rows.iter().filter_map(|s| s.released_at).min().unwrap_or(0));
        let day = info.calendar.ship_date(released).map_err(ApiError::internal)?;
        let cut_off = day
            .and_time(info.calendar.cutoff())
            .and_local_timezone(info.calendar.tz())
            .earliest()
            .map_or(released, |t| t.with_timezone(&Utc));
        waves.entry(cut_off).or_default().push(p);
    }
    Ok(waves.into_iter().map(|(cut_off, parcels)| Wave { cut_off, parcels }).collect())
}

/// The center's parcels being worked (picking or packed), for the console's "in progress".
pub async fn in_progress(
    c: &mut Conn<'_>,
    state: &AppState,
    code: &str,
    actor: &Actor,
) -> Result<Vec<Parcel>, ApiError> {
    let centers = state.centers();
    let info = centers.by_code.get(code).ok_or(ApiError::NotFound("center"))?;
    check_actor(info, actor)?;
    let rows = shipments::at_center(c, code).await?;
    let heads: BTreeSet<ShipmentId> = rows
        .iter()
        .filter(|s| matches!(s.status, ShipmentStatus::Picking | ShipmentStatus::Packed))
        .map(Shipment::parcel)
        .collect();
    let mut parcels = Vec::with_capacity(heads.len());
    for head in heads {
        let p = load(c, head, false).await?;
        if matches!(p.status, ShipmentStatus::Picking | ShipmentStatus::Packed) {
            parcels.push(p);
        }
    }
    Ok(parcels)
}

/// One parcel, for those who may work it.
pub async fn parcel(c: &mut Conn<'_>, state: &AppState, id: ShipmentId, actor: &Actor) -> Result<Parcel, ApiError> {
    let p = load(c, id, false).await?;
    let centers = state.centers();
    let info = centers.by_code.get(&p.head.center).ok_or(ApiError::NotFound("center"))?;
    check_actor(info, actor)?;
    Ok(p)
}
