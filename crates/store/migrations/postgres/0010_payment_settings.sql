-- Which payment methods are accepted: the shop's row (scope 'shop') and a row per marketplace seller that
-- narrows it (scope = the seller's id). No row: everything is accepted.
CREATE TABLE payment_settings (
    scope       TEXT PRIMARY KEY,
    brands      TEXT NOT NULL,      -- comma-separated: visa,mastercard,amex,discover
    funding     TEXT NOT NULL,      -- comma-separated: credit,debit,prepaid
    gift_cards  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
