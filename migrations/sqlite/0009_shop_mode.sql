-- Which mode created this database. A demo shop (no FOXRELOAD_API_KEY, the
-- built-in simulator as supplier, nothing paid) must never complete
-- purchases or overwrite the catalog of a live shop, and a live shop must
-- never order for purchases that were never paid: the first start records
-- the mode, and every later start must match it. One row, ever.
CREATE TABLE shop_mode (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    mode        TEXT    NOT NULL CHECK (mode IN ('demo', 'live')),
    recorded_at BIGINT  NOT NULL
);
