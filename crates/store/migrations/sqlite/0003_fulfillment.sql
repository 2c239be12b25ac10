-- After the order: centers with an address and a box table, products with size and where they cannot go,
-- marketplace sellers and staff keys, shipments through the warehouse and the carrier, captures, refunds,
-- returns, tracking events, and the simulated card processor's and carriers' own records.

ALTER TABLE centers ADD COLUMN address TEXT NOT NULL DEFAULT '';      -- JSON postal address of the center
ALTER TABLE centers ADD COLUMN boxes TEXT NOT NULL DEFAULT '';        -- JSON box table; '' is the standard one
ALTER TABLE centers ADD COLUMN seller_id TEXT;                        -- set for a marketplace seller's own place
ALTER TABLE centers ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0; -- every process reloads on a change

ALTER TABLE products ADD COLUMN weight_grams INTEGER NOT NULL DEFAULT 500;
ALTER TABLE products ADD COLUMN length_mm INTEGER NOT NULL DEFAULT 200;
ALTER TABLE products ADD COLUMN width_mm INTEGER NOT NULL DEFAULT 150;
ALTER TABLE products ADD COLUMN height_mm INTEGER NOT NULL DEFAULT 100;
ALTER TABLE products ADD COLUMN not_shippable_to TEXT NOT NULL DEFAULT '';  -- comma-separated: 'US-HI', 'CA'

CREATE TABLE sellers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- API keys of staff: only a hash of the key is kept; it is shown once, when made.
CREATE TABLE staff_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    seller_id  TEXT,
    center     TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

ALTER TABLE orders ADD COLUMN on_hold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN hold_reason TEXT;

-- A shipment row is one order's part from one center. Consolidated shipments travel as the one named in
-- `consolidated_into`, whose row carries the parcel's box, carrier and tracking.
ALTER TABLE shipments ADD COLUMN consolidated_into TEXT;
ALTER TABLE shipments ADD COLUMN box TEXT;
ALTER TABLE shipments ADD COLUMN weight_grams INTEGER;
ALTER TABLE shipments ADD COLUMN service TEXT;
ALTER TABLE shipments ADD COLUMN released_at INTEGER;
ALTER TABLE shipments ADD COLUMN shipped_at INTEGER;
ALTER TABLE shipments ADD COLUMN delivered_at INTEGER;
ALTER TABLE shipments ADD COLUMN updated_at INTEGER;
-- Pick lists and queues read what is at a center and not yet shipped; a placement's pending rows stay out.
CREATE INDEX shipments_at_center ON shipments(center, status) WHERE status IN ('released', 'picking', 'packed');
CREATE INDEX shipments_consolidated ON shipments(consolidated_into) WHERE consolidated_into IS NOT NULL;
CREATE UNIQUE INDEX shipments_by_tracking ON shipments(carrier, tracking_number) WHERE tracking_number IS NOT NULL;

ALTER TABLE payments ADD COLUMN captured INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN authorized_at INTEGER;

ALTER TABLE order_timeline ADD COLUMN event TEXT NOT NULL DEFAULT '';

-- One capture per shipment row: its share of the order, taken when it ships.
CREATE TABLE captures (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL,
    shipment_id TEXT NOT NULL UNIQUE,
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL,        -- pending, captured
    gateway_ref TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX captures_by_payment ON captures(payment_id);

CREATE TABLE returns (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    status          TEXT NOT NULL,    -- requested, received, refunded
    reason          TEXT NOT NULL,
    lines           TEXT NOT NULL,    -- JSON [{sku, quantity}]
    refund_amount   INTEGER NOT NULL CHECK (refund_amount >= 0),
    currency        TEXT NOT NULL,
    center          TEXT NOT NULL,
    carrier         TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    condition       TEXT,
    created_at      INTEGER NOT NULL,
    received_at     INTEGER,
    refunded_at     INTEGER
);
CREATE INDEX returns_by_order ON returns(order_id);

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,     -- also the gateway's idempotency key
    payment_id  TEXT NOT NULL,
    return_id   TEXT,
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL,        -- pending, refunded
    gateway_ref TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds(payment_id);

-- Each carrier event once: the primary key is the carrier's own event id.
CREATE TABLE tracking_events (
    carrier            TEXT NOT NULL,
    event_id           TEXT NOT NULL,
    shipment_id        TEXT NOT NULL,
    type               TEXT NOT NULL,
    occurred_at        INTEGER NOT NULL,
    location           TEXT,
    detail             TEXT,
    estimated_delivery TEXT,
    applied            INTEGER NOT NULL,  -- 0: arrived after a later event, kept but not applied
    received_at        INTEGER NOT NULL,
    PRIMARY KEY (carrier, event_id)
);
CREATE INDEX tracking_events_by_shipment ON tracking_events(shipment_id, occurred_at);

-- The secret each carrier signs its tracking events with.
CREATE TABLE carrier_accounts (
    code       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The simulated carriers' own records: a parcel booked with a label, and how far the simulation has moved it.
CREATE TABLE carrier_parcels (
    carrier         TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    shipment_ref    TEXT NOT NULL,
    service         TEXT NOT NULL,
    origin          TEXT NOT NULL,
    destination     TEXT NOT NULL,
    weight_grams    INTEGER NOT NULL,
    delivered_by    TEXT NOT NULL,
    booked_at       INTEGER NOT NULL,
    step            INTEGER NOT NULL DEFAULT 0,
    next_event_at   INTEGER,
    PRIMARY KEY (carrier, tracking_number),
    UNIQUE (carrier, shipment_ref)
);
CREATE INDEX carrier_parcels_due ON carrier_parcels(next_event_at) WHERE next_event_at IS NOT NULL;

-- The sandbox card processor's own records, as a processor keeps them: every call by its idempotency key.
CREATE TABLE sandbox_authorizations (
    idempotency_key TEXT PRIMARY KEY,
    outcome         TEXT NOT NULL,    -- approved, or the decline code
    amount          INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE TABLE sandbox_operations (
    idempotency_key TEXT PRIMARY KEY,
    authorization_ref TEXT NOT NULL,
    kind            TEXT NOT NULL,    -- capture, void, refund
    amount          INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX sandbox_operations_by_authorization ON sandbox_operations(authorization_ref);
