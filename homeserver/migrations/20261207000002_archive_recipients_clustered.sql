-- The archive's recipients, clustered by (recipient, archive id) and without a foreign key.
-- Before, every row was a row of its own table plus an entry in an index on the same
-- columns (two b-tree inserts per archived message, one now), and the foreign key made
-- every purged archive row scan the whole recipients table for references (purging
-- 20,000 of 40,000 messages took 24 s; purges delete the recipients first anyway).
-- A recipient named twice in one message is kept once (archive writes INSERT OR IGNORE).
CREATE TABLE archive_recipients_clustered (
    recipient  TEXT NOT NULL,
    archive_id INTEGER NOT NULL,
    PRIMARY KEY (recipient, archive_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO archive_recipients_clustered (recipient, archive_id)
    SELECT recipient, archive_id FROM archive_recipients;
DROP TABLE archive_recipients;
ALTER TABLE archive_recipients_clustered RENAME TO archive_recipients;
