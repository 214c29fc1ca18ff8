-- Herald pool store (PostgreSQL): users, credentials, offline messages, archive, XCAP
-- documents and API tokens. Bindings and presence live in Redis.
CREATE TABLE users (
    aor          TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT,
    disabled     BOOLEAN NOT NULL DEFAULT false,
    ha1_md5      TEXT,
    ha1_sha256   TEXT,
    created_at   BIGINT NOT NULL
);

-- Bumped by every change to users: caches in every home server compare it.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('users_version', 0);
CREATE FUNCTION bump_users_version() RETURNS trigger AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'users_version';
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_version AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_users_version();

CREATE TABLE offline_messages (
    id           BIGSERIAL PRIMARY KEY,
    recipient    TEXT NOT NULL,
    sender_from  TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         BYTEA NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX offline_by_recipient ON offline_messages (recipient, id);

CREATE TABLE archive (
    id           BIGSERIAL PRIMARY KEY,
    sender       TEXT NOT NULL,
    recipients   TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    call_id      TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         BYTEA NOT NULL,
    -- The body when it is UTF-8 (text search).
    body_text    TEXT,
    outcome      TEXT NOT NULL
);
CREATE INDEX archive_by_sender ON archive (sender, at_ms);
CREATE INDEX archive_by_time ON archive (at_ms);
CREATE TABLE archive_recipients (
    archive_id BIGINT NOT NULL REFERENCES archive (id) ON DELETE CASCADE,
    recipient  TEXT NOT NULL
);
CREATE INDEX archive_recipients_by_user ON archive_recipients (recipient, archive_id);

CREATE TABLE documents (
    aor        TEXT NOT NULL,
    auid       TEXT NOT NULL,
    xml        TEXT NOT NULL,
    etag       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (aor, auid)
);

CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
