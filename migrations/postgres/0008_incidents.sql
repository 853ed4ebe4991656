-- Conditions the admins hear about once when they start and once when they
-- clear (hysteresis): one row per condition. Keep in step with
-- migrations/sqlite.
CREATE TABLE incidents (
    name        TEXT    PRIMARY KEY,
    open        BIGINT  NOT NULL,        -- 1 while the condition holds
    opened_at   BIGINT,
    closed_at   BIGINT,
    detail      TEXT    NOT NULL DEFAULT ''
);
