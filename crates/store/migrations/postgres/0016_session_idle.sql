-- A session also ends after a time without use: `idle_until` is moved on as it is used (at most hourly).
-- Sessions made before this column start with no idle limit; their first use sets one.
ALTER TABLE sessions ADD COLUMN idle_until BIGINT NOT NULL DEFAULT 9223372036854775807;
CREATE INDEX sessions_by_customer ON sessions(customer_id);
