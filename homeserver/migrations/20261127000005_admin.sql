-- Administrators' API tokens (SHA-256 of the secret; the secret is shown once) and an
-- index for archive searches by time.
CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX archive_by_time ON archive (at_ms);
