-- Each payment is compared with the card processor's record once it has settled (see the reconciliation in
-- the server): reconciled_at says it was.
ALTER TABLE payments ADD COLUMN reconciled_at BIGINT;
CREATE INDEX payments_to_reconcile ON payments(updated_at) WHERE reconciled_at IS NULL;
