-- An order's timeline is only ever read whole, by order, in order of `seq`: one index on (order_id, seq) serves
-- that as the primary key, and the index on `seq` alone, which every entry (two per Buy Now) paid for, goes.
ALTER TABLE order_timeline DROP CONSTRAINT order_timeline_pkey;
ALTER TABLE order_timeline ADD PRIMARY KEY (order_id, seq);
DROP INDEX timeline_by_order;
