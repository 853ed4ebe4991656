-- The catalog, synced from the supplier by src/catalog.rs in one transaction
-- per sync. Keep in step with migrations/sqlite.
-- A product is sold only if its row says so *and* is fresh: a failed or
-- missed sync must never leave the shop selling at an old price.

CREATE TABLE categories (
    id             TEXT    PRIMARY KEY,          -- supplier category id
    slug           TEXT,
    name           TEXT    NOT NULL,
    parent         TEXT,                         -- supplier id of the parent category
    position       BIGINT  NOT NULL,             -- display order
    active         BIGINT  NOT NULL DEFAULT 1,   -- 0: no longer listed, or no longer configured
    synced_ok      BIGINT  NOT NULL DEFAULT 0,   -- 1: the last sync read all its products
    refreshed_at   BIGINT  NOT NULL              -- last listed by the supplier
);
CREATE INDEX categories_position ON categories (active, position);

-- Retail price in Stars, computed at sync from the wholesale price; NULL:
-- not sellable (no price, not USD, out of range).
ALTER TABLE products ADD COLUMN stars BIGINT;
-- JSON array of {name, kind, options}: each required note field, its type
-- and its choices, as the supplier describes them.
ALTER TABLE products ADD COLUMN note_spec TEXT NOT NULL DEFAULT '[]';
-- Display order within its category (the supplier's order).
ALTER TABLE products ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
-- 1: the last sync read this row from the supplier; 0: its category could
-- not be read, so the row is stale and not sold. `refreshed_at` is when it
-- was last read.
ALTER TABLE products ADD COLUMN synced_ok BIGINT NOT NULL DEFAULT 0;
CREATE INDEX products_category ON products (category, active, position);
