-- The audit trail: append-only, in order (seq 1, 2, 3, … with no gaps), each entry holding the hash of the
-- one before it, so that `buynow audit verify` finds an entry changed or taken out.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log(actor, seq);
