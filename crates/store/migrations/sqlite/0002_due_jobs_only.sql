-- `jobs_due` is what a worker's claim walks: jobs waiting or running. A finished job (done or failed) is never
-- claimed again, so it leaves the index, which then stays as small as the work in hand rather than growing
-- with every job ever run.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs(status, run_at) WHERE status IN ('queued', 'running');
