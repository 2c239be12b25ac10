-- Ended sessions are deleted by the retention sweep: one that expired, or went unused past its idle limit,
-- logs nobody in again, and without this every sign-in ever made would stay. Each of the two ways a session
-- ends has its index, so that the sweep finds a batch of them without reading the table.
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
CREATE INDEX sessions_by_idle_limit ON sessions(idle_until);
