-- The Telegram shop front. Keep in step with migrations/postgres.

-- An invoice offered to a buyer: what they get for how many Stars. Its
-- payload (unguessable) names it; a successful payment turns it into a
-- purchase, once. A second payment of the same invoice is refunded.
CREATE TABLE checkouts (
    id                  INTEGER PRIMARY KEY,
    payload             TEXT    NOT NULL UNIQUE,
    user_id             INTEGER NOT NULL,
    chat_id             INTEGER NOT NULL,
    language            TEXT    NOT NULL,
    product_id          TEXT    NOT NULL,
    product_name        TEXT    NOT NULL,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    note                TEXT    NOT NULL DEFAULT '{}',
    unit_price          TEXT,                         -- wholesale unit price offered on
    currency            TEXT    NOT NULL,
    stars               INTEGER NOT NULL CHECK (stars > 0),   -- the invoice total
    state               TEXT    NOT NULL,             -- open | paid | cancelled
    purchase_id         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX checkouts_user ON checkouts (user_id, id);

-- Where a conversation stands (asking a product's note fields), one per
-- user, in our own table: it survives restarts and every replica sees it.
CREATE TABLE dialogues (
    user_id             INTEGER PRIMARY KEY,
    state               TEXT    NOT NULL,             -- JSON
    updated_at          INTEGER NOT NULL
);

-- `foxbot purchase --idempotency-key K` records one purchase per K.
ALTER TABLE purchases ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX purchases_idempotency_key ON purchases (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The one message the buyer sees edited as the purchase moves on.
ALTER TABLE purchases ADD COLUMN progress_message_id INTEGER;
ALTER TABLE purchases ADD COLUMN checkout_id INTEGER;
-- Why a purchase is being refunded, in words the buyer is told
-- (supplier | paid_twice | amount_mismatch | unavailable | admin); NULL: supplier.
ALTER TABLE purchases ADD COLUMN refund_reason TEXT;
