-- A counter bumped by every change to users, so a running server notices changes made by
-- another process (the admin CLI) with one cheap query a second.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('users_version', 0);
CREATE TRIGGER users_version_insert AFTER INSERT ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_version'; END;
CREATE TRIGGER users_version_update AFTER UPDATE ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_version'; END;
CREATE TRIGGER users_version_delete AFTER DELETE ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_version'; END;
