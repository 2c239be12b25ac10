-- An order and its payment are written once and then moved through their states (placed, authorized, released,
-- picking, …). Room left on each page lets those updates stay on the page (HOT) without new index entries; at
-- the default 100 % fill about half of them in `buynow bench` had to move and re-index.
ALTER TABLE orders SET (fillfactor = 85);
ALTER TABLE payments SET (fillfactor = 85);
ALTER TABLE stock SET (fillfactor = 85);
