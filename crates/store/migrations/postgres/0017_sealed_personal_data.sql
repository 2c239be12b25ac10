-- Personal data sealed at rest by the vault, like card numbers. A customer's e-mail and name live in `sealed`,
-- with a keyed hash of the e-mail in `email_hash` for sign-in and uniqueness; an address's lines in `sealed`,
-- with only its region and country in clear (what routing, promises and tax read); an order's `ship_to` is its
-- address's sealed blob, copied at placement. An e-mail delivery names its customer, not the e-mail address.
--
-- The vault's key is not known to a migration: rows written before it keep their values in clear (in
-- `email_hash` itself, `legacy_name`, `legacy`, `legacy_ship_to`) until the server's first start after it
-- seals them and empties those columns (`personal_data::seal_legacy`). New rows leave the legacy columns empty.
-- The old values stay in dead tuples until a VACUUM FULL of customers, addresses and orders.
ALTER TABLE customers RENAME COLUMN email TO email_hash;
ALTER TABLE customers RENAME COLUMN name TO legacy_name;
ALTER TABLE customers ADD COLUMN sealed BYTEA;

ALTER TABLE addresses ADD COLUMN sealed BYTEA, ADD COLUMN legacy TEXT;
UPDATE addresses SET legacy = json_build_object('name', name, 'line1', line1, 'line2', line2, 'city', city,
    'region', region, 'postal_code', postal_code, 'country', country)::text;
ALTER TABLE addresses DROP COLUMN name, DROP COLUMN line1, DROP COLUMN line2, DROP COLUMN city,
    DROP COLUMN postal_code;

ALTER TABLE orders RENAME COLUMN ship_to TO legacy_ship_to;
ALTER TABLE orders ADD COLUMN ship_to BYTEA;

UPDATE deliveries SET target = customer_id WHERE channel = 'email';

-- What is left to seal, found at every start without reading the tables through: these stay empty once sealed.
CREATE INDEX customers_unsealed ON customers(id) WHERE sealed IS NULL;
CREATE INDEX addresses_unsealed ON addresses(id) WHERE sealed IS NULL;
CREATE INDEX orders_unsealed ON orders(id) WHERE ship_to IS NULL;
