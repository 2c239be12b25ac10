-- Support cases: whatever about an order cannot finish by itself, or its customer asked about. While a case
-- is open, `open_key` names what it is about (a job, a payment, a parcel, the order), so the same trouble
-- found twice opens one case; it is cleared when the case is resolved.
CREATE TABLE support_cases (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,
    holds_order BIGINT NOT NULL,
    summary     TEXT NOT NULL,
    subject     TEXT,
    open_key    TEXT UNIQUE,
    opened_by   TEXT NOT NULL,
    assignee    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX support_cases_by_status ON support_cases(status, created_at);
CREATE INDEX support_cases_by_order ON support_cases(order_id);

-- A case's story: its opening, the customer's messages, and each staff action with its note.
CREATE TABLE case_notes (
    case_id TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    author  TEXT NOT NULL,
    action  TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- A support reship: the lost or damaged shipment it replaces (and so is not charged for).
ALTER TABLE shipments ADD COLUMN replaces TEXT;

-- The sweeper's look-up: orders in one state, unchanged the longest.
CREATE INDEX orders_by_progress ON orders(status, updated_at);
