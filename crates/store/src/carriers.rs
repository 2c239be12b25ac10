//! Carrier accounts (the secret each signs its tracking events with) and the simulated carriers' own records
//! of the parcels booked with them: as a card processor's sandbox keeps its holds, a simulated carrier keeps
//! its parcels in the shared database, so that `buynow carrier-sim` in another process moves them on.

use crate::{args, Conn, Row, StoreError};

pub async fn secret(c: &mut Conn<'_>, code: &str) -> Result<Option<String>, StoreError> {
    c.opt("SELECT secret FROM carrier_accounts WHERE code = $1", args![code])
        .await?
        .map(|r| r.text("secret"))
        .transpose()
}

/// Sets the secret only where the carrier has none yet (several processes may start at once).
pub async fn ensure_secret(c: &mut Conn<'_>, code: &str, secret: &str, at: i64) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO carrier_accounts (code, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
        args![code, secret, at],
    )
    .await
    .map(drop)
}

/// A parcel as its carrier has it booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    pub carrier: String,
    pub tracking_number: String,
    /// The shipper's reference (our shipment id): one booking per reference.
    pub shipment_ref: String,
    pub service: String,
    pub origin: String,
    pub destination: String,
    pub weight_grams: u32,
    /// The day the service promises delivery by.
    pub delivered_by: String,
    pub booked_at: i64,
    /// How many of its tracking events the simulation has sent.
    pub step: i64,
    pub next_event_at: Option<i64>,
}

const COLS: &str = "carrier, tracking_number, shipment_ref, service, origin, destination, weight_grams, delivered_by, \
    booked_at, step, next_event_at";

fn parcel(r: &Row) -> Result<Parcel, StoreError> {
    Ok(Parcel {
        carrier: r.text("carrier")?,
        tracking_number: r.text("tracking_number")?,
        shipment_ref: r.text("shipment_ref")?,
        service: r.text("service")?,
        origin: r.text("origin")?,
        destination: r.text("destination")?,
        weight_grams: u32::try_from(r.int("weight_grams")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        delivered_by: r.text("delivered_by")?,
        booked_at: r.int("booked_at")?,
        step: r.int("step")?,
        next_event_at: r.opt_int("next_event_at")?,
    })
}

/// Books the parcel unless its reference is booked already; returns the booking that stands (a retried
/// label gets the same tracking number), or `None` when the tracking number belongs to another parcel: draw
/// another.
pub async fn book(c: &mut Conn<'_>, p: &Parcel) -> Result<Option<Parcel>, StoreError> {
    if let Some(existing) = by_ref(c, &p.carrier, &p.shipment_ref).await? {
        return Ok(Some(existing));
    }
    let n = c
        .exec(
            "INSERT INTO carrier_parcels (carrier, tracking_number, shipment_ref, service, origin, destination, \
         weight_grams, delivered_by, booked_at, step, next_event_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10) ON CONFLICT DO NOTHING",
            args![
                &p.carrier,
                &p.tracking_number,
                &p.shipment_ref,
                &p.service,
                &p.origin,
                &p.destination,
                p.weight_grams,
                &p.delivered_by,
                p.booked_at,
                p.next_event_at
            ],
        )
        .await?;
    if n == 1 {
        return Ok(Some(p.clone()));
    }
    by_ref(c, &p.carrier, &p.shipment_ref).await
}

pub async fn by_ref(c: &mut Conn<'_>, carrier: &str, shipment_ref: &str) -> Result<Option<Parcel>, StoreError> {
    let sql = format!("SELECT {COLS} FROM carrier_parcels WHERE carrier = $1 AND shipment_ref = $2");
    c.opt(&sql, args![carrier, shipment_ref]).await?.as_ref().map(parcel).transpose()
}

/// Parcels whose next tracking event is due at `now`, soonest first.
pub async fn due(c: &mut Conn<'_>, now: i64, limit: u32) -> Result<Vec<Parcel>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM carrier_parcels WHERE next_event_at IS NOT NULL AND next_event_at <= $1 \
         ORDER BY next_event_at LIMIT $2"
    );
    c.all(&sql, args![now, limit]).await?.iter().map(parcel).collect()
}

/// Records that the event of `step` went out, and when the next one is due (`None`: it was the last).
/// Guarded by the step, so two simulators never both advance a parcel.
pub async fn advance(
    c: &mut Conn<'_>,
    carrier: &str,
    tracking_number: &str,
    step: i64,
    next_event_at: Option<i64>,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE carrier_parcels SET step = $3 + 1, next_event_at = $4 \
             WHERE carrier = $1 AND tracking_number = $2 AND step = $3",
            args![carrier, tracking_number, step, next_event_at],
        )
        .await?;
    Ok(n == 1)
}
