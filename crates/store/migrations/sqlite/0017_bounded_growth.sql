-- A key is kept for a while past its last use, then removed (a retry after that is a new purchase): its time is
-- when it was last used, and the retention sweep finds the old ones by it.
ALTER TABLE idempotency_keys RENAME COLUMN created_at TO last_used_at;
CREATE INDEX idempotency_keys_by_last_use ON idempotency_keys(last_used_at);

-- The retention sweep deletes finished jobs and sent deliveries by age, a batch at a time, from these indexes
-- rather than by scanning the tables (published events have `outbox_unpublished` already).
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE status IN ('done', 'failed');
CREATE INDEX deliveries_sent ON deliveries(sent_at) WHERE status = 'sent';
