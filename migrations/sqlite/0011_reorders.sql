-- Issue #14, hole 5 (codes are counted): the units missing from a partly
-- delivered purchase are re-ordered as a new purchase linked to it, at the
-- shop's cost. One re-order per purchase: pressing the button twice makes
-- one (the UNIQUE index decides, not a read before the write).
ALTER TABLE purchases ADD COLUMN parent_purchase_id INTEGER REFERENCES purchases (id);
CREATE UNIQUE INDEX purchases_one_reorder ON purchases (parent_purchase_id)
    WHERE parent_purchase_id IS NOT NULL;
