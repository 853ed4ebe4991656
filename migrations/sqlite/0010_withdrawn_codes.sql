-- Codes an admin withdrew with a "refund anyway" (a dead letter refunded
-- although its codes had reached the buyer): /orders no longer shows them.
-- A row of its own, so that codes stored later are hidden too. Keep in step
-- with migrations/postgres.
CREATE TABLE withdrawn_codes (
    purchase_id     INTEGER PRIMARY KEY REFERENCES purchases (id),
    withdrawn_at    INTEGER NOT NULL,
    withdrawn_by    TEXT    NOT NULL     -- the actor, e.g. admin:9000
);
