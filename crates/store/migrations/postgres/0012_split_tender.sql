-- Split tender: the gift card balance an order's payment took (NULL while none was asked for or it is not yet
-- decided; the card is charged the rest, the payment's amount), and the gift card share of each refund (the
-- refund's amount is the card's share).
ALTER TABLE payments ADD COLUMN gift_amount BIGINT;
ALTER TABLE refunds ADD COLUMN gift_amount BIGINT NOT NULL DEFAULT 0;
