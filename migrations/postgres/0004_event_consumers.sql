-- The event stream: the append-only events table is the outbox (written in
-- the same transaction as each transition); each consumer keeps its own
-- position in it. Keep in step with migrations/sqlite.
CREATE TABLE event_consumers (
    name        TEXT    PRIMARY KEY,
    position    BIGINT NOT NULL,   -- the last events.id handled
    updated_at  BIGINT NOT NULL
);
