-- Presence state that must outlive the process: live publications (RFC 3903) and
-- subscription dialogs (RFC 6665), so that a restarted server keeps notifying the same
-- dialogs. A subscription is an opaque record the engine writes and reads back.
CREATE TABLE presence_publications (
    aor          TEXT NOT NULL,
    etag         TEXT NOT NULL,
    pidf         TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (aor, etag)
);
CREATE TABLE presence_subscriptions (
    key        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
