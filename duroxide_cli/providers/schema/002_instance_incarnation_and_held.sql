-- duroxide SQLite schema, version 2.
-- incarnation: an opaque token made when the instance row is created. An id deleted and started
--   again gets a new one, so a runtime never takes a generator it cached for the deleted
--   instance as the new one's. Rows from version 1 get one here.
-- held: why `duroxide run --reload` holds a Running instance back (NULL: not held). Version 1
--   kept that reason in `error`, which is for failures, cancels and Pending reasons; a hold
--   found there moves here.

ALTER TABLE instances ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';
UPDATE instances SET incarnation = lower(hex(randomblob(16))) WHERE incarnation = '';
ALTER TABLE instances ADD COLUMN held TEXT;
UPDATE instances SET held = error, error = NULL
WHERE status IN ('Pending', 'Running') AND error LIKE 'held back by `duroxide run --reload`%';
