//! Backup and restore: one versioned JSON Lines file with users (HA1 credentials), their
//! buddy lists and presence rules, the notification groups, offline messages waiting
//! for delivery, and the archive. It names no store, so a backup of the embedded edition
//! restores into the pool and the other way round. A restore goes into an empty
//! deployment only (no users), and checks the whole file before writing anything.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use herald_homeserver::{
    presence::{lists, rules},
    store::{Aor, ArchiveQuery, Document, StoredMessage},
};
use serde::{Deserialize, Serialize};

use crate::{
    archive::ArchiveRecordView,
    error::ErrorBody,
    import::{self, UserRecord},
    status::now_secs,
    ApiError, ApiState,
};

/// The format's name and version, in the first line.
pub const FORMAT: &str = "herald-backup";
pub const VERSION: u32 = 1;

/// One line of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Line {
    Header {
        format: String,
        version: u32,
        domain: String,
        created_at: u64,
    },
    User(UserRecord),
    Document {
        address: String,
        auid: String,
        xml: String,
    },
    Offline {
        recipient: String,
        from: String,
        content_type: String,
        body_base64: String,
        received_at_ms: u64,
    },
    Archive(ArchiveRecordView),
}

/// Write a backup of everything.
#[utoipa::path(get, path = "/api/v1/backup", tag = "backup",
    responses((status = 200, body = String, content_type = "application/jsonl"), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn backup(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let mut out = Vec::new();
    out.push(Line::Header {
        format: FORMAT.into(),
        version: VERSION,
        domain: s.domain.clone(),
        created_at: now_secs(),
    });
    let users = s.store.users().await?;
    out.extend(users.iter().map(|u| Line::User(import::record_of(u))));
    let mut owners: Vec<Aor> = users.iter().map(|u| u.aor.clone()).collect();
    owners.push(s.notify.service.clone());
    for aor in &owners {
        for auid in [lists::AUID, rules::AUID] {
            if let Some(d) = s.store.document(aor, auid).await? {
                out.push(Line::Document {
                    address: aor.to_string(),
                    auid: auid.into(),
                    xml: d.xml,
                });
            }
        }
    }
    for u in &users {
        for m in s.store.pending(&u.aor).await? {
            out.push(Line::Offline {
                recipient: m.recipient.to_string(),
                from: m.from,
                content_type: m.content_type,
                body_base64: base64::engine::general_purpose::STANDARD.encode(&m.body),
                received_at_ms: m.received_at_ms,
            });
        }
    }
    let records = crate::archive::every_match(&s, ArchiveQuery::default()).await?;
    out.extend(
        records
            .iter()
            .map(|r| Line::Archive(ArchiveRecordView::from(r))),
    );
    let mut body = String::new();
    for l in &out {
        if let Ok(j) = serde_json::to_string(l) {
            body.push_str(&j);
            body.push('\n');
        }
    }
    tracing::info!(users = users.len(), lines = out.len(), "backup written");
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], body).into_response())
}

/// What a restore wrote.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Restored {
    pub users: usize,
    pub documents: usize,
    pub offline_messages: usize,
    pub archive_records: usize,
}

/// Restore a backup into this (empty) deployment.
#[utoipa::path(post, path = "/api/v1/restore", tag = "backup",
    request_body(content = String, content_type = "text/plain",
        description = "a backup file as written by GET /api/v1/backup (JSON Lines)"),
    responses((status = 200, body = Restored), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn restore(
    State(s): State<ApiState>,
    body: String,
) -> Result<Json<Restored>, ApiError> {
    let lines = parse(&body, &s.domain)?;
    let any_archive = ArchiveQuery {
        limit: 1,
        ..ArchiveQuery::default()
    };
    if !s.store.users().await?.is_empty() || !s.store.search_archive(&any_archive).await?.is_empty()
    {
        return Err(ApiError::Conflict(
            "this deployment already has users or archived messages: a backup restores into an empty one".into(),
        ));
    }
    let mut done = Restored::default();
    for l in lines {
        match l {
            Checked::User(u) => {
                s.store.create_user(&u).await?;
                done.users += 1;
            }
            Checked::Document(aor, auid, doc) => {
                s.store.put_document(&aor, &auid, &doc, None).await?;
                s.home.documents_changed(aor).await;
                done.documents += 1;
            }
            Checked::Offline(m) => {
                s.store.hold_message(&m).await?;
                done.offline_messages += 1;
            }
            Checked::Archive(e) => {
                // Written through, not behind: when the restore answers, what it counted
                // is stored (and searchable).
                s.store.archive_durably(&e).await?;
                done.archive_records += 1;
            }
        }
    }
    tracing::info!(?done, "backup restored");
    Ok(Json(done))
}

enum Checked {
    User(herald_homeserver::store::User),
    Document(Aor, String, Document),
    Offline(StoredMessage),
    Archive(herald_homeserver::store::ArchiveEntry),
}

/// Every line checked; the first bad one is named.
fn parse(body: &str, domain: &str) -> Result<Vec<Checked>, ApiError> {
    let bad = |n: usize, e: String| ApiError::BadRequest(format!("backup line {n}: {e}"));
    let mut out = Vec::new();
    let mut header = false;
    let mut seen = std::collections::HashSet::new();
    for (i, text) in body.lines().enumerate() {
        let n = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
        let aor = |a: &str| Aor::parse(a).ok_or_else(|| bad(n, format!("invalid address {a:?}")));
        match line {
            Line::Header {
                format,
                version,
                domain: d,
                ..
            } => {
                if format != FORMAT || version != VERSION {
                    return Err(bad(n, format!("format {format} version {version}; this server reads {FORMAT} version {VERSION}")));
                }
                if d != domain {
                    return Err(bad(
                        n,
                        format!("the backup is of domain {d}, this server serves {domain}"),
                    ));
                }
                header = true;
            }
            _ if !header => {
                return Err(bad(
                    n,
                    format!("not a {FORMAT} file (no header line first)"),
                ))
            }
            Line::User(r) => {
                let u = import::user_of(&r, domain).map_err(|e| bad(n, e))?;
                if !seen.insert(u.aor.clone()) {
                    return Err(bad(n, format!("user {} appears twice", u.aor)));
                }
                out.push(Checked::User(u));
            }
            Line::Document { address, auid, xml } => {
                if auid != lists::AUID && auid != rules::AUID {
                    return Err(bad(n, format!("unknown document application {auid:?}")));
                }
                herald_homeserver::presence::check_document(&auid, xml.as_bytes())
                    .map_err(|e| bad(n, e.to_string()))?;
                let etag = format!("{:016x}", rand::random::<u64>());
                out.push(Checked::Document(
                    aor(&address)?,
                    auid,
                    Document { xml, etag },
                ));
            }
            Line::Offline {
                recipient,
                from,
                content_type,
                body_base64,
                received_at_ms,
            } => {
                let name_addr = herald_sip::NameAddr::parse(&from).is_some();
                if from.chars().any(char::is_control) || !name_addr {
                    return Err(bad(
                        n,
                        format!("offline message: From {from:?} is not a name-addr"),
                    ));
                }
                if content_type.is_empty() || content_type.chars().any(char::is_control) {
                    return Err(bad(
                        n,
                        format!("offline message: bad content type {content_type:?}"),
                    ));
                }
                let body = base64::engine::general_purpose::STANDARD
                    .decode(body_base64)
                    .map_err(|e| bad(n, format!("bad base64 body: {e}")))?;
                out.push(Checked::Offline(StoredMessage {
                    id: 0,
                    recipient: aor(&recipient)?,
                    from,
                    content_type,
                    body,
                    received_at_ms,
                }));
            }
            Line::Archive(v) => out.push(Checked::Archive(v.to_entry().map_err(|e| bad(n, e))?)),
        }
    }
    if !header {
        return Err(ApiError::BadRequest(format!(
            "empty backup: no {FORMAT} header line"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"kind":"header","format":"herald-backup","version":1,"domain":"example.com","created_at":1}"#;

    fn offline(from: &str) -> String {
        let line = serde_json::json!({"kind": "offline", "recipient": "bob@example.com", "from": from,
            "content_type": "text/plain", "body_base64": "aGk=", "received_at_ms": 1});
        format!("{HEADER}\n{line}\n")
    }

    #[test]
    fn restored_messages_cannot_carry_extra_headers() {
        assert!(parse(&offline("<sip:alice@example.com>;tag=1"), "example.com").is_ok());
        for bad in [
            "<sip:a@example.com>\r\nRoute: <sip:evil.example>",
            "not an address",
        ] {
            let e = parse(&offline(bad), "example.com")
                .err()
                .map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("line 2")), "{bad:?}");
        }
    }

    #[test]
    fn a_user_twice_or_another_domain_is_refused_before_anything_is_written() {
        let user = r#"{"kind":"user","address":"alice@example.com","ha1_md5":"0123456789abcdef0123456789abcdef"}"#;
        let twice = format!("{HEADER}\n{user}\n{user}\n");
        let e = parse(&twice, "example.com").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("line 3") && e.contains("twice")));
        let e = parse(&format!("{HEADER}\n"), "other.org")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("other.org")));
        let e = parse(user, "example.com").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("no header")));
    }
}
