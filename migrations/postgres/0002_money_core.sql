-- Money core, second pass. Keep in step with migrations/sqlite.

-- The claim counter is a fence, not a supplier attempt: name it so.
ALTER TABLE purchases RENAME COLUMN attempt TO fence;
ALTER TABLE events RENAME COLUMN attempt TO fence;

-- Every non-final state has a clock from the moment the purchase entered
-- it (stall alerts and dead letters); claims no longer reset it.
ALTER TABLE purchases ADD COLUMN state_since BIGINT NOT NULL DEFAULT 0;
UPDATE purchases SET state_since = COALESCE(waiting_since, updated_at);
-- Pay requests sent for the linked order; bounded, then a person looks.
ALTER TABLE purchases ADD COLUMN pays_sent BIGINT NOT NULL DEFAULT 0;
-- Direct reads that found the order completed without its codes.
ALTER TABLE purchases ADD COLUMN empty_reads BIGINT NOT NULL DEFAULT 0;
CREATE INDEX purchases_state_since ON purchases (state, state_since);

-- The last instant a create could still reach the supplier: it is sent by
-- a send-by instant or never, and gives up after the client's timeout.
-- The settle delay counts from here.
ALTER TABLE supplier_attempts ADD COLUMN reach_by BIGINT;
