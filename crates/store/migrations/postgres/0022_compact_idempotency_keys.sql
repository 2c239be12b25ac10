-- Idempotency keys as what it takes to find and answer them: the customer's id as its 16 bytes, the key and the
-- request each as the first 16 bytes of their SHA-256 (`idempotency::Digest`). The key's text was up to a
-- header's length and the request's hash 64 hex digits; a day of keys is what a Buy Now's one random lookup
-- walks, and a smaller index keeps more of it in the cache.

-- SQLite's built-in, so that one query turns a text id into its bytes on both back ends (`unhex(substr(id, 5))`).
-- Written in SQL and IMMUTABLE, so the planner inlines it.
CREATE FUNCTION unhex(text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT decode($1, 'hex') $$;

ALTER TABLE idempotency_keys RENAME TO idempotency_keys_text;
-- So that the new table's primary key takes the name.
ALTER TABLE idempotency_keys_text RENAME CONSTRAINT idempotency_keys_pkey TO idempotency_keys_text_pkey;
DROP INDEX idempotency_keys_by_last_use;

CREATE TABLE idempotency_keys (
    customer       BYTEA NOT NULL,
    key_digest     BYTEA NOT NULL,
    request_digest BYTEA NOT NULL,
    order_id       TEXT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    PRIMARY KEY (customer, key_digest)
);
-- The text-era request hash was the whole SHA-256 in hex: its first 32 digits are the digest's 16 bytes.
INSERT INTO idempotency_keys (customer, key_digest, request_digest, order_id, last_used_at)
SELECT unhex(substr(customer_id, 5)), substr(sha256(convert_to(key, 'UTF8')), 1, 16),
       unhex(substr(request_hash, 1, 32)), order_id, last_used_at
FROM idempotency_keys_text;
DROP TABLE idempotency_keys_text;
CREATE INDEX idempotency_keys_by_last_use ON idempotency_keys(last_used_at);
-- As migration 0021 set for the table this one replaces.
ALTER TABLE idempotency_keys SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);
