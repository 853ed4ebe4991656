-- Conditions the admins hear about once when they start and once when they
-- clear (hysteresis): one row per condition. Keep in step with
-- migrations/postgres.
CREATE TABLE incidents (
    name        TEXT    PRIMARY KEY,
    open        INTEGER NOT NULL,        -- 1 while the condition holds
    opened_at   INTEGER,
    closed_at   INTEGER,
    detail      TEXT    NOT NULL DEFAULT ''
);
