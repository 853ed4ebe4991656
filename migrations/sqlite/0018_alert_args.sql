-- An alert is stored as its kind and its arguments (a JSON object), and
-- worded only when it is sent, in each admin's language, from the message
-- `alert-<kind>` of the locales. Rows written before keep their English
-- `detail` and NULL `args`, and are sent as they are; new rows leave
-- `detail` empty.
ALTER TABLE alerts ADD COLUMN args TEXT;
