-- Card authentication (3-D Secure). A payment whose card's bank asks the customer to authenticate keeps the
-- processor's challenge id: its page is where the customer goes.
ALTER TABLE payments ADD COLUMN challenge TEXT;

-- The sandbox card processor's side: an authorization that waits for the customer to authenticate is
-- recorded as `authentication_required` with the unguessable id of its challenge page; the page's answer turns
-- it into `approved` or `authentication_failed`.
ALTER TABLE sandbox_authorizations ADD COLUMN challenge TEXT;
CREATE UNIQUE INDEX sandbox_authorizations_by_challenge ON sandbox_authorizations(challenge)
    WHERE challenge IS NOT NULL;
