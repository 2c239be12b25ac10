-- Notifications: every outbox event fans out into deliveries (one e-mail to the customer, one webhook per
-- matching subscription), each sent and retried on its own until sent or dead-lettered.

CREATE TABLE webhook_subscriptions (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,      -- event types, comma-separated; empty is every customer-facing type
    secret          TEXT NOT NULL,      -- whsec_…
    previous_secret TEXT,               -- still signs beside the new one for a day after a rotation
    rotated_at      BIGINT,
    status          TEXT NOT NULL,      -- active, disabled
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- the event type
    channel         TEXT NOT NULL,      -- email, webhook
    target          TEXT NOT NULL,      -- the recipient's address, or the subscription's id
    status          TEXT NOT NULL,      -- pending, sent, dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    UNIQUE (event_id, channel, target)
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_order ON deliveries(order_id);
CREATE INDEX deliveries_by_customer ON deliveries(customer_id, created_at);

CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    outcome     TEXT NOT NULL,          -- sent, failed, gone
    detail      TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE INDEX outbox_pending ON outbox(created_at) WHERE published_at IS NULL;
