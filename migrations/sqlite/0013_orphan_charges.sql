-- Stars payments no invoice of ours explains (issue #14, hole 6). Keep in
-- step with migrations/postgres.

-- One row per such charge, ever (UNIQUE charge id): recorded once when its
-- update or the sweep of getStarTransactions first finds it, so the admins
-- are alerted and the buyer told once, not at every sweep. An admin's
-- refund makes a purchase in `refunding` for the charge (refund_purchase_id);
-- the refunds table then refunds it once, like any other.
CREATE TABLE orphan_charges (
    id                  INTEGER PRIMARY KEY,
    charge_id           TEXT    NOT NULL UNIQUE,
    user_id             INTEGER NOT NULL,
    chat_id             INTEGER NOT NULL,
    language            TEXT    NOT NULL,
    payload             TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    stars               INTEGER NOT NULL,
    recorded_at         INTEGER NOT NULL,
    refund_purchase_id  INTEGER REFERENCES purchases (id)
);

-- Pre-checkout counts what was paid at the supplier since the balance was
-- read (Store::in_flight_cost) for every buyer who taps Pay.
CREATE INDEX purchases_pay_sent ON purchases (pay_sent_at) WHERE pay_sent_at IS NOT NULL;
