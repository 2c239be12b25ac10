-- `/metrics` counts the dead deliveries at every scrape: from an index of their own, not the table through.
CREATE INDEX deliveries_dead ON deliveries(created_at) WHERE status = 'dead';
