//! The archive: search by user, peer, time range and text (JSON pages), export of every
//! match as JSON Lines or CSV, and deletion of what is older than N days (the retention
//! policy; the server also applies `HERALD_ARCHIVE_RETENTION_DAYS` by itself).

use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use herald_homeserver::store::{ArchiveQuery, ArchivedRecord, Outcome};
use serde::{Deserialize, Serialize};

use crate::{error::ErrorBody, status::now_secs, ApiError, ApiState};

/// An archived message as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArchiveRecordView {
    pub id: i64,
    pub sender: String,
    pub recipients: Vec<String>,
    /// Milliseconds since the epoch.
    pub at_ms: u64,
    pub call_id: String,
    pub content_type: String,
    /// The body as text (when it is UTF-8).
    pub text: Option<String>,
    /// The body in base64 (when it is not UTF-8).
    pub body_base64: Option<String>,
    /// delivered:CODE, stored, refused:CODE, mailed or undelivered.
    pub outcome: String,
}

impl From<&ArchivedRecord> for ArchiveRecordView {
    fn from(r: &ArchivedRecord) -> ArchiveRecordView {
        let e = &r.entry;
        let text = String::from_utf8(e.body.clone()).ok();
        ArchiveRecordView {
            id: r.id,
            sender: e.sender.clone(),
            recipients: e.recipients.clone(),
            at_ms: e.at_ms,
            call_id: e.call_id.clone(),
            content_type: e.content_type.clone(),
            body_base64: text
                .is_none()
                .then(|| base64::engine::general_purpose::STANDARD.encode(&e.body)),
            text,
            outcome: e.outcome.to_db(),
        }
    }
}

impl ArchiveRecordView {
    /// Back to a store record (a restore).
    pub fn to_entry(&self) -> Result<herald_homeserver::store::ArchiveEntry, String> {
        let body = match (&self.text, &self.body_base64) {
            (Some(t), _) => t.clone().into_bytes(),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("archive record {}: bad base64 body: {e}", self.id))?,
            (None, None) => Vec::new(),
        };
        Ok(herald_homeserver::store::ArchiveEntry {
            sender: self.sender.clone(),
            recipients: self.recipients.clone(),
            at_ms: self.at_ms,
            call_id: self.call_id.clone(),
            content_type: self.content_type.clone(),
            body,
            outcome: Outcome::from_db(&self.outcome).ok_or_else(|| {
                format!(
                    "archive record {}: unknown outcome {:?}",
                    self.id, self.outcome
                )
            })?,
        })
    }
}

/// How to answer a search.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveFormat {
    /// One page as a JSON object.
    #[default]
    Json,
    /// Every match, one JSON object per line.
    Jsonl,
    /// Every match as CSV.
    Csv,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct SearchParams {
    /// Messages this user sent or received (user@domain).
    user: Option<String>,
    /// Messages exchanged with this peer (with `user`: between the two).
    peer: Option<String>,
    /// From this time (milliseconds since the epoch, inclusive).
    since: Option<u64>,
    /// Before this time (exclusive).
    until: Option<u64>,
    /// Text the message contains.
    text: Option<String>,
    /// Records after this id (the `next` of the previous page).
    after: Option<i64>,
    /// Page size for `json` (1–1000, default 100).
    limit: Option<u32>,
    #[serde(default)]
    format: ArchiveFormat,
}

/// The longest text searched for.
const MAX_TEXT: usize = 1000;

/// A page of archived messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArchivePage {
    pub records: Vec<ArchiveRecordView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<i64>,
}

/// Search the archive, oldest first.
#[utoipa::path(get, path = "/api/v1/archive", tag = "archive", params(SearchParams),
    responses((status = 200, body = ArchivePage), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn search(
    State(s): State<ApiState>,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    if p.text
        .as_deref()
        .is_some_and(|t| t.chars().count() > MAX_TEXT)
    {
        return Err(ApiError::BadRequest(format!(
            "text: at most {MAX_TEXT} characters"
        )));
    }
    let q = ArchiveQuery {
        user: p
            .user
            .filter(|u| !u.is_empty())
            .map(|u| canonical(&u, &s.domain)),
        peer: p
            .peer
            .filter(|u| !u.is_empty())
            .map(|u| canonical(&u, &s.domain)),
        since_ms: p.since,
        until_ms: p.until,
        text: p.text.filter(|t| !t.is_empty()),
        after_id: p.after.unwrap_or(0),
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    if let ArchiveFormat::Json = p.format {
        let records = s.store.search_archive(&q).await?;
        let next = (records.len() == q.limit as usize)
            .then(|| records.last().map(|r| r.id))
            .flatten();
        return Ok(Json(ArchivePage {
            records: records.iter().map(ArchiveRecordView::from).collect(),
            next,
        })
        .into_response());
    }
    let mut out = Export::new(p.format);
    for r in &every_match(&s, q).await? {
        out.push(&ArchiveRecordView::from(r));
    }
    Ok(out.into_response())
}

/// Every record matching `q` (read a thousand at a time), oldest first.
pub(crate) async fn every_match(
    s: &ApiState,
    mut q: ArchiveQuery,
) -> Result<Vec<ArchivedRecord>, ApiError> {
    q.limit = 1000;
    let mut all = Vec::new();
    loop {
        let page = s.store.search_archive(&q).await?;
        let full = page.len() == q.limit as usize;
        if let Some(last) = page.last() {
            q.after_id = last.id;
        }
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// How much to keep.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Purge {
    /// Delete records older than this many days.
    pub older_than_days: u32,
}

/// How many records were deleted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Purged {
    pub deleted: u64,
}

/// Delete archived messages older than N days.
#[utoipa::path(post, path = "/api/v1/archive/purge", tag = "archive", request_body = Purge,
    responses((status = 200, body = Purged), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn purge(
    State(s): State<ApiState>,
    Json(p): Json<Purge>,
) -> Result<Json<Purged>, ApiError> {
    let deleted = purge_older_than(&s, p.older_than_days).await?;
    Ok(Json(Purged { deleted }))
}

/// Deletes records older than `days` days; returns how many.
pub async fn purge_older_than(s: &ApiState, days: u32) -> Result<u64, ApiError> {
    let before_ms = now_secs().saturating_sub(u64::from(days) * 86_400) * 1000;
    let deleted = s.store.purge_archive(before_ms).await?;
    tracing::info!(deleted, days, "archive purged");
    Ok(deleted)
}

/// `sip:Alice@Example.com` → `Alice@example.com`, `alice` → `alice@<domain>`, as the
/// archive keeps addresses.
fn canonical(a: &str, domain: &str) -> String {
    let full = if a.contains('@') {
        a.to_owned()
    } else {
        format!("{a}@{domain}")
    };
    herald_homeserver::store::Aor::parse(&full).map_or_else(|| a.to_owned(), |x| x.to_string())
}

/// An export being written.
struct Export {
    format: ArchiveFormat,
    text: String,
    csv: Option<csv::Writer<Vec<u8>>>,
}

impl Export {
    fn new(format: ArchiveFormat) -> Export {
        let csv = matches!(format, ArchiveFormat::Csv).then(|| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record([
                "id",
                "at_ms",
                "sender",
                "recipients",
                "call_id",
                "content_type",
                "outcome",
                "text",
            ]);
            w
        });
        Export {
            format,
            text: String::new(),
            csv,
        }
    }

    fn push(&mut self, r: &ArchiveRecordView) {
        if let Some(w) = &mut self.csv {
            let _ = w.write_record([
                r.id.to_string(),
                r.at_ms.to_string(),
                r.sender.clone(),
                r.recipients.join(" "),
                r.call_id.clone(),
                r.content_type.clone(),
                r.outcome.clone(),
                r.text.clone().unwrap_or_default(),
            ]);
        } else if let Ok(line) = serde_json::to_string(r) {
            self.text.push_str(&line);
            self.text.push('\n');
        }
    }

    fn into_response(self) -> Response {
        match (self.format, self.csv) {
            (ArchiveFormat::Csv, Some(w)) => {
                let body = w.into_inner().unwrap_or_default();
                ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
            }
            _ => ([(header::CONTENT_TYPE, "application/jsonl")], self.text).into_response(),
        }
    }
}
