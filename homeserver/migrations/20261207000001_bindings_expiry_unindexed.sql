-- Bindings are no longer indexed by expiry: every REGISTER refresh moved the row's entry
-- in that index (a delete and an insert), while the only query by expiry is the
-- periodic sweep of expired rows, which now reads the table instead.
DROP INDEX bindings_expiry;
