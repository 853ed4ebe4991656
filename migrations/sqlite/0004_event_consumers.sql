-- The event stream: the append-only events table is the outbox (written in
-- the same transaction as each transition); each consumer keeps its own
-- position in it. Keep in step with migrations/postgres.
CREATE TABLE event_consumers (
    name        TEXT    PRIMARY KEY,
    position    INTEGER NOT NULL,   -- the last events.id handled
    updated_at  INTEGER NOT NULL
);
