-- foxbot schema, SQLite edition. Keep in step with migrations/postgres.
-- Every time is Unix milliseconds; every amount of money is exact decimal text.

CREATE TABLE customers (
    user_id        INTEGER PRIMARY KEY,          -- Telegram user id
    chat_id        INTEGER NOT NULL,
    language       TEXT    NOT NULL DEFAULT 'en',
    language_set   INTEGER NOT NULL DEFAULT 0,   -- 1: chosen with /language
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- The catalog as last read from the supplier.
CREATE TABLE products (
    id             TEXT    PRIMARY KEY,          -- supplier product id
    category       TEXT,
    name           TEXT    NOT NULL,
    description    TEXT,
    price          TEXT,                         -- wholesale unit price; NULL: known at order time
    currency       TEXT    NOT NULL,
    stock          INTEGER,                      -- NULL: unknown
    min_qty        INTEGER NOT NULL DEFAULT 1,
    max_qty        INTEGER,
    note_fields    TEXT    NOT NULL DEFAULT '[]',-- JSON array of required note field names
    active         INTEGER NOT NULL DEFAULT 1,
    refreshed_at   INTEGER NOT NULL
);

-- One row per paid purchase: the durable intent, written before any supplier call.
CREATE TABLE purchases (
    id                  INTEGER PRIMARY KEY,
    client_ref          TEXT    NOT NULL UNIQUE,
    user_id             INTEGER NOT NULL REFERENCES customers (user_id),
    chat_id             INTEGER NOT NULL,
    product_id          TEXT    NOT NULL,
    product_name        TEXT    NOT NULL,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    note                TEXT    NOT NULL DEFAULT '{}',  -- canonical JSON object
    signature           TEXT    NOT NULL,               -- (item, quantity, note)
    unit_price          TEXT,                           -- wholesale price the sale was based on
    order_price         TEXT,                           -- unit price offered to the supplier (re-quoted within tolerance)
    currency            TEXT    NOT NULL,
    stars               INTEGER NOT NULL CHECK (stars >= 0),
    source              TEXT    NOT NULL,               -- telegram | manual
    telegram_charge_id  TEXT    UNIQUE,
    state               TEXT    NOT NULL,
    attempt             INTEGER NOT NULL DEFAULT 0,     -- bumped by every claim
    lease_owner         TEXT,
    lease_expires_at    INTEGER,
    next_action_at      INTEGER NOT NULL,
    supplier_order_id   TEXT    UNIQUE,
    supplier_status     TEXT,
    current_attempt_id  INTEGER,                        -- supplier_attempts.id of the create in flight
    order_attempts      INTEGER NOT NULL DEFAULT 0,     -- supplier creates started
    hold_reason         TEXT,
    hold_since          INTEGER,
    resume_state        TEXT,
    pay_sent_at         INTEGER,
    waiting_since       INTEGER,                        -- supplier order paid: the stall clock
    stall_alerted_at    INTEGER,
    last_checked_at     INTEGER,
    last_error          TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    finished_at         INTEGER
);
CREATE INDEX purchases_due ON purchases (state, next_action_at);
CREATE INDEX purchases_state ON purchases (state);
CREATE INDEX purchases_user ON purchases (user_id, id);

-- Every supplier create we started, with what we knew before sending it.
CREATE TABLE supplier_attempts (
    id                  INTEGER PRIMARY KEY,
    purchase_id         INTEGER NOT NULL REFERENCES purchases (id),
    signature           TEXT    NOT NULL,
    state               TEXT    NOT NULL,  -- submitting | unknown | created | found | absent | rejected | not_sent | abandoned
    watermark           TEXT,              -- newest supplier order id known before sending; '' = none existed
    started_at          INTEGER NOT NULL,
    clean_scans         INTEGER NOT NULL DEFAULT 0,
    supplier_order_id   TEXT,
    outcome             TEXT,
    resolved_at         INTEGER
);
-- One unresolved create per signature: while one may have reached the
-- supplier, another identical one would make its answer ambiguous.
CREATE UNIQUE INDEX supplier_attempts_one_unresolved
    ON supplier_attempts (signature) WHERE state IN ('submitting', 'unknown');
CREATE INDEX supplier_attempts_purchase ON supplier_attempts (purchase_id);
CREATE INDEX supplier_attempts_order ON supplier_attempts (supplier_order_id);

-- The codes received for a purchase, kept so the buyer can view them again.
CREATE TABLE purchase_codes (
    purchase_id         INTEGER PRIMARY KEY REFERENCES purchases (id),
    codes               TEXT    NOT NULL,  -- JSON array, verbatim from the supplier
    received_at         INTEGER NOT NULL
);

-- Claimed before the codes are sent; one row per order, ever.
CREATE TABLE delivery_log (
    id                  INTEGER PRIMARY KEY,
    purchase_id         INTEGER NOT NULL UNIQUE REFERENCES purchases (id),
    state               TEXT    NOT NULL,  -- claimed | sent | unknown | resent
    claimed_at          INTEGER NOT NULL,
    sent_at             INTEGER,
    message_id          INTEGER,
    resent              INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT
);

-- Claimed before refundStarPayment is called; one row per purchase, ever.
CREATE TABLE refunds (
    id                  INTEGER PRIMARY KEY,
    purchase_id         INTEGER NOT NULL UNIQUE REFERENCES purchases (id),
    telegram_charge_id  TEXT,
    stars               INTEGER NOT NULL,
    reason              TEXT    NOT NULL,
    state               TEXT    NOT NULL,  -- claimed | confirmed | manual
    tries               INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    claimed_at          INTEGER NOT NULL,
    confirmed_at        INTEGER
);

-- Append-only history of every transition and decision. Never holds codes.
CREATE TABLE events (
    id                  INTEGER PRIMARY KEY,
    purchase_id         INTEGER REFERENCES purchases (id),
    at                  INTEGER NOT NULL,
    kind                TEXT    NOT NULL,
    from_state          TEXT,
    to_state            TEXT,
    attempt             INTEGER,
    actor               TEXT,
    detail              TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_purchase ON events (purchase_id, id);

-- Messages for the admins, written by the engine and pushed by the bot.
CREATE TABLE alerts (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL,
    purchase_id         INTEGER REFERENCES purchases (id),
    dedup_key           TEXT    UNIQUE,
    detail              TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    sent_at             INTEGER
);
CREATE INDEX alerts_unsent ON alerts (id) WHERE sent_at IS NULL;

-- Single-role tasks (the poller) are held by one process at a time.
CREATE TABLE leases (
    name                TEXT    PRIMARY KEY,
    owner               TEXT    NOT NULL,
    expires_at          INTEGER NOT NULL
);

-- Small facts shared by all processes (the newest supplier order seen, …).
CREATE TABLE kv (
    key                 TEXT    PRIMARY KEY,
    value               TEXT    NOT NULL,
    updated_at          INTEGER NOT NULL
);
