-- Gift cards and their ledger. A card's code is shown once, when it is issued, and kept only as a hash.
CREATE TABLE gift_cards (
    id             TEXT PRIMARY KEY,
    code_hash      TEXT NOT NULL UNIQUE,
    code_last4     TEXT NOT NULL,
    currency       TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    issued_by      TEXT NOT NULL,
    redeemed_by    TEXT,
    redeemed_at    INTEGER,
    created_at     INTEGER NOT NULL
);

-- Every movement of gift card money is one transaction of two entries that sum to zero; a balance is the sum
-- of its account's entries. A movement's id (txn_id) makes it happen once, however often it is asked.
CREATE TABLE ledger_entries (
    id          INTEGER PRIMARY KEY,
    txn_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    account     TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    order_id    TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (txn_id, account)
);
CREATE INDEX ledger_entries_by_account ON ledger_entries(account, id);
