-- A delivery's messages, rendered once when the delivery is claimed (in the
-- buyer's language then) and kept: a resumed delivery sends exactly the
-- parts it started with, so part k is the same message whatever changed
-- in between (the buyer's language, the texts after an upgrade).
-- `parts` is a JSON array of {"html", "copy"}; NULL on rows from before.
ALTER TABLE delivery_log ADD COLUMN parts TEXT;
ALTER TABLE delivery_log ADD COLUMN parts_language TEXT;
