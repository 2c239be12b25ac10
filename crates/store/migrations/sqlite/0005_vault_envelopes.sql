-- The card vault's envelopes: each card number is sealed by a data key of its own, kept here wrapped by the
-- master key named in key_id. NULL on a card sealed before envelopes (by the master key itself), until
-- `buynow keys rotate` gives it one.
ALTER TABLE payment_methods ADD COLUMN wrapped_key BLOB;
CREATE INDEX payment_methods_by_key ON payment_methods(key_id);
