-- Personal data sealed at rest by the vault, like card numbers. A customer's e-mail and name live in `sealed`,
-- with a keyed hash of the e-mail in `email_hash` for sign-in and uniqueness; an address's lines in `sealed`,
-- with only its region and country in clear (what routing, promises and tax read); an order's `ship_to` is its
-- address's sealed blob, copied at placement. An e-mail delivery names its customer, not the e-mail address.
--
-- The vault's key is not known to a migration: rows written before it keep their values in clear (in
-- `email_hash` itself, `legacy_name`, `legacy`, `legacy_ship_to`) until the server's first start after it
-- seals them and empties those columns (`personal_data::seal_legacy`). New rows leave the legacy columns empty.
-- Freed pages zeroed too, for the rest of this process: the table rebuilt below and the legacy rows sealed after
-- it leave no clear copy behind (a later start is back at FAST, see `sqlite::configure`).
PRAGMA secure_delete = ON;

ALTER TABLE customers RENAME COLUMN email TO email_hash;
ALTER TABLE customers RENAME COLUMN name TO legacy_name;
ALTER TABLE customers ADD COLUMN sealed BLOB;

-- Nothing refers to an address by a foreign key, so the table is built again without its clear columns.
CREATE TABLE addresses_sealed (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    region      TEXT NOT NULL,
    country     TEXT NOT NULL,
    sealed      BLOB,
    legacy      TEXT,
    created_at  INTEGER NOT NULL
);
INSERT INTO addresses_sealed (id, customer_id, region, country, sealed, legacy, created_at)
SELECT id, customer_id, region, country, NULL,
       json_object('name', name, 'line1', line1, 'line2', line2, 'city', city, 'region', region,
                   'postal_code', postal_code, 'country', country),
       created_at
FROM addresses;
DROP TABLE addresses;
ALTER TABLE addresses_sealed RENAME TO addresses;
CREATE INDEX addresses_by_customer ON addresses(customer_id);

ALTER TABLE orders RENAME COLUMN ship_to TO legacy_ship_to;
ALTER TABLE orders ADD COLUMN ship_to BLOB;

UPDATE deliveries SET target = customer_id WHERE channel = 'email';

-- What is left to seal, found at every start without reading the tables through: these stay empty once sealed.
CREATE INDEX customers_unsealed ON customers(id) WHERE sealed IS NULL;
CREATE INDEX addresses_unsealed ON addresses(id) WHERE sealed IS NULL;
CREATE INDEX orders_unsealed ON orders(id) WHERE ship_to IS NULL;
