-- Autovacuum for the tables every order churns. PostgreSQL's defaults wait for a fifth of a table to be dead
-- before vacuuming it: on a table of millions of rows that is hundreds of thousands of dead rows, whose space
-- no new row can use until then, so the table and its indexes grow past their live size (docs/performance.md,
-- "Growth").
--
-- Queues: rows written, updated once or twice, then deleted by the retention sweep. Vacuumed after 1 % dead.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                      autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                        autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                            autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE delivery_attempts SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);
ALTER TABLE idempotency_keys SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);
-- The orders' own rows change state a few times each: vacuumed after 5 % dead.
ALTER TABLE orders SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE payments SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE shipments SET (autovacuum_vacuum_scale_factor = 0.05);
-- Stock: a few rows, each updated by every order of its SKU (a flash sale: thousands of times a second). Its
-- old versions are pruned within the page as it goes (fillfactor 85, no indexed column changes); a vacuum after
-- every few thousand updates, without the cost-based pause, keeps the pages from filling with dead versions.
ALTER TABLE stock SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                       autovacuum_vacuum_cost_delay = 0);
