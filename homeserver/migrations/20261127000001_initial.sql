-- Herald embedded store (SQLite): users, credentials, bindings, offline messages, archive.
CREATE TABLE users (
    aor          TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT,
    disabled     INTEGER NOT NULL DEFAULT 0,
    ha1_md5      TEXT,
    ha1_sha256   TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE bindings (
    aor            TEXT NOT NULL,
    contact        TEXT NOT NULL,
    q              INTEGER,
    expires_at     INTEGER NOT NULL,
    call_id        TEXT NOT NULL,
    cseq           INTEGER NOT NULL,
    instance       TEXT,
    reg_id         INTEGER,
    flow_frontend  TEXT NOT NULL,
    flow_conn      INTEGER NOT NULL,
    flow_transport INTEGER NOT NULL,
    flow_remote    TEXT NOT NULL,
    user_agent     TEXT,
    PRIMARY KEY (aor, contact)
);
CREATE INDEX bindings_expiry ON bindings (expires_at);

CREATE TABLE offline_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient    TEXT NOT NULL,
    sender_from  TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX offline_by_recipient ON offline_messages (recipient, id);

CREATE TABLE archive (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sender       TEXT NOT NULL,
    recipients   TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    call_id      TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    outcome      TEXT NOT NULL
);
CREATE INDEX archive_by_sender ON archive (sender, at_ms);
CREATE TABLE archive_recipients (
    archive_id INTEGER NOT NULL REFERENCES archive (id),
    recipient  TEXT NOT NULL
);
CREATE INDEX archive_recipients_by_user ON archive_recipients (recipient, archive_id);
