-- XCAP documents of each user (RFC 4825): buddy lists (resource-lists, RFC 4826) and
-- presence authorization rules (pres-rules, RFC 5025), whole documents with an ETag.
CREATE TABLE documents (
    aor        TEXT NOT NULL,
    auid       TEXT NOT NULL,
    xml        TEXT NOT NULL,
    etag       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (aor, auid)
);
