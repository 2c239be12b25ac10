-- A job remembers the request that made it (or the job that did, and so on), so that its log lines can be
-- followed back to the request: `x-request-id`, the `request_id` of a problem.
ALTER TABLE jobs ADD COLUMN request_id TEXT;
