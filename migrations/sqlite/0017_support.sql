-- The support line: a buyer's tickets and their messages. Keep in step
-- with migrations/postgres.

-- A buyer's conversation with the shop: one open ticket per buyer at a
-- time; closing it lets the buyer's next message open a new one.
CREATE TABLE support_tickets (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    chat_id     INTEGER NOT NULL,
    buyer_name  TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at   INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,     -- the buyer's last message
    last_text   TEXT    NOT NULL DEFAULT '',
    closed_at   INTEGER,
    closed_by   INTEGER
);
-- Two replicas taking a buyer's first two messages at once must not open
-- two threads.
CREATE UNIQUE INDEX support_tickets_one_open ON support_tickets (user_id)
    WHERE state = 'open';
CREATE INDEX support_tickets_by_state ON support_tickets (state, last_at);

-- Every Telegram message the support line took in (a buyer's, or an
-- admin's answer), under its chat and message id: a re-delivered update,
-- or the same one at a second replica, is handled once.
CREATE TABLE support_messages (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    author_id   INTEGER NOT NULL,
    ticket_id   INTEGER REFERENCES support_tickets (id),   -- NULL: not taken (rate)
    direction   TEXT    NOT NULL CHECK (direction IN ('buyer', 'shop')),
    -- pending (being passed on) | passed (reached someone) | failed | limited
    status      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT support_messages_once UNIQUE (chat_id, message_id)
);
CREATE INDEX support_messages_by_author ON support_messages (author_id, created_at);

-- The copies of a buyer's message in the admins' chats: an admin's reply
-- to one finds its ticket.
CREATE TABLE support_copies (
    admin_chat_id INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    ticket_id     INTEGER NOT NULL REFERENCES support_tickets (id),
    PRIMARY KEY (admin_chat_id, message_id)
);
