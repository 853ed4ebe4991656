-- The supplier call budget shared by every process using the key: one row
-- per call admitted in the last window. Used on PostgreSQL (several
-- replicas); on SQLite one process owns the key and the table stays empty.
-- Keep in step with migrations/postgres.
CREATE TABLE budget_calls (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,       -- Unix ms
    priority   TEXT    NOT NULL        -- write | read
);
CREATE INDEX budget_calls_at ON budget_calls (at);
