-- Delivery and refunds. Keep in step with migrations/sqlite.

-- A delivery may take several messages (Telegram's 4096-character limit):
-- how many are confirmed sent, so a re-send starts at the first unsure one.
ALTER TABLE delivery_log ADD COLUMN parts_sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE delivery_log ADD COLUMN parts_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE delivery_log ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
