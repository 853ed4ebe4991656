-- Telegram updates already handled, by update_id. Telegram sends a webhook
-- update again when it did not see it acknowledged, possibly to another
-- replica; the first to record its id handles it, the others skip it. Rows
-- older than a couple of days are deleted (Telegram gives up long before).
CREATE TABLE seen_updates (
    update_id BIGINT PRIMARY KEY,
    seen_at   BIGINT NOT NULL
);
CREATE INDEX seen_updates_by_age ON seen_updates (seen_at);
