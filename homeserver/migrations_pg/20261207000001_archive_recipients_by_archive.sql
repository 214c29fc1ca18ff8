-- Purging the archive deletes recipients by cascade: without an index on archive_id every
-- deleted archive row scanned the whole recipients table.
CREATE INDEX archive_recipients_by_archive ON archive_recipients (archive_id);
