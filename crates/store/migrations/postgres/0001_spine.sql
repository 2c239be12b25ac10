-- The Buy Now spine, PostgreSQL edition: the same tables and names as the SQLite schema, in PostgreSQL types.
-- Times are BIGINT microseconds since the Unix epoch (UTC); money is BIGINT minor units beside a currency code;
-- flags are 0/1 BIGINTs and ids prefixed text, so one set of queries reads both back ends alike.

CREATE TABLE customers (
    id                        TEXT PRIMARY KEY,
    email                     TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    password_hash             TEXT NOT NULL,
    prime                     BIGINT NOT NULL DEFAULT 0,
    default_address_id        TEXT,
    default_payment_method_id TEXT,
    created_at                BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE addresses (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    name        TEXT NOT NULL,
    line1       TEXT NOT NULL,
    line2       TEXT,
    city        TEXT NOT NULL,
    region      TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    country     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX addresses_by_customer ON addresses(customer_id);

-- The card number lives only in `sealed`: AES-256-GCM under the data key `key_id`. The CVC is never stored.
CREATE TABLE payment_methods (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    brand       TEXT NOT NULL,
    funding     TEXT NOT NULL,
    last4       TEXT NOT NULL,
    exp_month   BIGINT NOT NULL,
    exp_year    BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX payment_methods_by_customer ON payment_methods(customer_id);

CREATE TABLE centers (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    cutoff_minute  BIGINT NOT NULL,           -- minutes after local midnight
    operating_days TEXT NOT NULL,              -- ISO weekday numbers, e.g. '123456' = Mon..Sat
    holidays       TEXT NOT NULL DEFAULT '',   -- comma-separated YYYY-MM-DD
    rank           BIGINT NOT NULL,
    is_default     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE products (
    sku            TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    price          BIGINT NOT NULL CHECK (price >= 0),
    currency       TEXT NOT NULL,
    prime_eligible BIGINT NOT NULL,
    fulfilled_by   TEXT NOT NULL DEFAULT 'store',   -- 'store' or the marketplace seller's name
    created_at     BIGINT NOT NULL
);

-- Invariant 2 is enforced by the database too: no update can break it, whatever the code does.
CREATE TABLE stock (
    sku      TEXT NOT NULL REFERENCES products(sku),
    center   TEXT NOT NULL REFERENCES centers(code),
    on_hand  BIGINT NOT NULL,
    reserved BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, center),
    CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)
);

CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    status            TEXT NOT NULL,
    delivery_speed    TEXT NOT NULL,
    currency          TEXT NOT NULL,
    subtotal          BIGINT NOT NULL,
    shipping          BIGINT NOT NULL,
    tax               BIGINT NOT NULL,
    total             BIGINT NOT NULL,
    address_id        TEXT NOT NULL,
    ship_to           TEXT NOT NULL,             -- JSON snapshot of the address at placement
    payment_method_id TEXT NOT NULL,
    estimated_earliest TEXT NOT NULL,
    estimated_latest   TEXT NOT NULL,
    hold_until        BIGINT NOT NULL,
    declines          BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX orders_by_customer ON orders(customer_id, created_at);

CREATE TABLE order_items (
    order_id   TEXT NOT NULL REFERENCES orders(id),
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL,
    PRIMARY KEY (order_id, sku)
);

CREATE TABLE shipments (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES orders(id),
    center          TEXT NOT NULL REFERENCES centers(code),
    sku             TEXT NOT NULL,
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    status          TEXT NOT NULL,
    carrier         TEXT,
    tracking_number TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX shipments_by_order ON shipments(order_id);

-- One row per authorization attempt. `id` is also the idempotency key sent to the gateway, so a retried call
-- can never make a second hold.
CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES orders(id),
    payment_method_id TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount >= 0),
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL,   -- pending, authorized, declined, voided, cancelled
    authorization_ref TEXT,
    decline_code      TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX payments_by_order ON payments(order_id);

CREATE TABLE idempotency_keys (
    customer_id  TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (customer_id, key)
);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedup_key    TEXT UNIQUE,
    status       TEXT NOT NULL,          -- queued, running, done, failed
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX jobs_due ON jobs(status, run_at);

CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX outbox_unpublished ON outbox(published_at, created_at);

CREATE TABLE order_timeline (
    seq      BIGSERIAL PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    at       BIGINT NOT NULL,
    status   TEXT NOT NULL,
    note     TEXT NOT NULL
);
CREATE INDEX timeline_by_order ON order_timeline(order_id, seq);
