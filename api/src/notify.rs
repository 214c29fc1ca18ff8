//! Notifications (`POST /api/v1/notify`): a program (monitoring, a build system) sends a
//! message to users or groups. A recipient with a registered device who is not busy gets
//! a SIP MESSAGE from the service identity, reported "delivered" only after a device
//! answered 2xx; anyone else gets an e-mail through the relay, when they have an address.
//! Busy (RPID busy, on-the-phone, meeting, …) follows `HERALD_NOTIFY_WHEN_BUSY`: `email`
//! (the default: do not interrupt; urgency `high` still goes by SIP) or `sip`. Every
//! attempt is archived.

use axum::{extract::State, Json};
use futures_util::{stream, StreamExt};
use herald_homeserver::{
    store::{Aor, ArchiveEntry, Outcome},
    Notice, NoticeResult,
};
use serde::{Deserialize, Serialize};

use crate::{
    documents::group_members, error::ErrorBody, import::address, mail::Mailer, ApiError, ApiState,
};

/// What to do with a busy recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Send e-mail instead (urgent notifications still go by SIP).
    Email,
    /// Send by SIP anyway.
    Sip,
}

/// The notification service's settings.
#[derive(Clone)]
pub struct NotifyConfig {
    /// The SIP identity notifications come from (its resource-lists are the groups).
    pub service: Aor,
    pub service_name: String,
    pub when_busy: WhenBusy,
    /// Absent: no e-mail fallback.
    pub mailer: Option<Mailer>,
}

/// Recipients of one notification, groups included.
const MAX_RECIPIENTS: usize = 1000;
/// Recipients handled at once.
const CONCURRENCY: usize = 16;

/// RPID activities during which a person should not be interrupted.
const BUSY: [&str; 5] = [
    "busy",
    "on-the-phone",
    "meeting",
    "presentation",
    "performance",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    #[default]
    Normal,
    /// Sent by SIP even to busy recipients, with `Priority: urgent`.
    High,
}

/// A notification.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NotifyRequest {
    /// Users (user@domain or user name).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Notification groups (see /api/v1/groups).
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub urgency: Urgency,
}

/// What became of the notification for one recipient.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecipientResult {
    pub recipient: String,
    /// sip, email or none.
    pub channel: String,
    /// delivered (a device answered 2xx), sent (the relay took the mail), failed, or
    /// undelivered (no device and no e-mail address).
    pub outcome: String,
    pub detail: String,
}

/// Per recipient, the channel and the outcome.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotifyReport {
    pub results: Vec<RecipientResult>,
}

/// Send a notification: SIP to signed-in recipients, e-mail to the others.
#[utoipa::path(post, path = "/api/v1/notify", tag = "notifications", request_body = NotifyRequest,
    responses((status = 200, body = NotifyReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn notify(
    State(s): State<ApiState>,
    Json(r): Json<NotifyRequest>,
) -> Result<Json<NotifyReport>, ApiError> {
    if r.text.trim().is_empty() {
        return Err(ApiError::BadRequest("text must not be empty".into()));
    }
    let mut names = r.recipients.clone();
    for g in &r.groups {
        names.extend(group_members(&s, g).await?);
    }
    if names.is_empty() {
        return Err(ApiError::BadRequest(
            "no recipients (recipients or groups)".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut targets = Vec::new();
    for n in names {
        let resolved = address(&n, &s.domain);
        let key = resolved
            .as_ref()
            .map_or_else(|_| n.clone(), |a| a.to_string());
        if seen.insert(key) {
            targets.push((n, resolved));
        }
    }
    if targets.len() > MAX_RECIPIENTS {
        return Err(ApiError::BadRequest(format!(
            "{} recipients: at most {MAX_RECIPIENTS} per notification",
            targets.len()
        )));
    }
    // In a task of its own: a client that goes away does not cut sends (and their archive
    // records) in half. A few recipients at a time, so SIP clients keep the engine's queue.
    let work = tokio::spawn(async move {
        let r = &r;
        let s = &s;
        stream::iter(targets)
            .map(|(name, aor)| one(s, r, name, aor))
            .buffered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await
    });
    let results = work
        .await
        .map_err(|e| ApiError::Unavailable(format!("notification task failed: {e}")))?;
    for res in &results {
        metrics::counter!(
            "herald_notifications_total",
            "channel" => res.channel.clone(),
            "outcome" => res.outcome.clone()
        )
        .increment(1);
    }
    Ok(Json(NotifyReport { results }))
}

async fn one(
    s: &ApiState,
    r: &NotifyRequest,
    name: String,
    aor: Result<Aor, String>,
) -> RecipientResult {
    let result = |channel: &str, outcome: &str, detail: String| RecipientResult {
        recipient: aor.as_ref().map_or(name.clone(), |a| a.to_string()),
        channel: channel.into(),
        outcome: outcome.into(),
        detail,
    };
    let aor = match &aor {
        Ok(a) => a.clone(),
        Err(e) => return result("none", "failed", e.clone()),
    };
    let user = match s.store.user(&aor).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => {
            archive(s, r, &aor, Outcome::Refused(404)).await;
            return result("none", "failed", format!("no user {aor}"));
        }
        Err(e) => return result("none", "failed", format!("store: {e}")),
    };
    let busy = match s.home.presence(aor.clone()).await {
        Ok(doc) => doc.activities.iter().any(|a| BUSY.contains(&a.as_str())),
        Err(_) => false,
    };
    let by_sip = !busy || s.notify.when_busy == WhenBusy::Sip || r.urgency == Urgency::High;
    let why_mail = if by_sip {
        let notice = Notice {
            to: aor.clone(),
            from: format!(
                "\"{}\" <{}>;tag={:016x}",
                quoted(&s.notify.service_name),
                s.notify.service.to_uri(),
                rand::random::<u64>()
            ),
            subject: r.subject.clone(),
            text: r.text.clone(),
            urgent: r.urgency == Urgency::High,
        };
        match s.home.notice(notice).await {
            Ok(NoticeResult::Delivered(code)) => {
                return result("sip", "delivered", format!("a device answered {code}"))
            }
            Ok(NoticeResult::Failed(code)) => format!("no device took it ({code})"),
            Ok(NoticeResult::NoDevice) => "not signed in".into(),
            Err(e) => e.to_string(),
        }
    } else {
        "busy".into()
    };
    let (Some(mailer), Some(email)) = (&s.notify.mailer, &user.email) else {
        archive(s, r, &aor, Outcome::Undelivered).await;
        let missing = if s.notify.mailer.is_none() {
            "no SMTP relay configured"
        } else {
            "no e-mail address"
        };
        return result("none", "undelivered", format!("{why_mail}; {missing}"));
    };
    let subject = if r.subject.is_empty() {
        "Notification"
    } else {
        r.subject.as_str()
    };
    match mailer.send(email, subject, &r.text).await {
        Ok(()) => {
            archive(s, r, &aor, Outcome::Mailed).await;
            tracing::info!(to = %aor, %email, reason = %why_mail, "notification sent by e-mail");
            result("email", "sent", format!("{why_mail}; mailed to {email}"))
        }
        Err(e) => {
            archive(s, r, &aor, Outcome::Undelivered).await;
            tracing::warn!(to = %aor, error = %e, "notification mail failed");
            result("email", "failed", format!("{why_mail}; {e}"))
        }
    }
}

/// `name` as the inside of a quoted-string (RFC 3261 §25.1: `\` and `"` escaped,
/// control characters dropped).
fn quoted(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().filter(|c| !c.is_control()) {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Archives what became of a notification that did not go by SIP (the home server
/// archives the SIP attempts itself).
async fn archive(s: &ApiState, r: &NotifyRequest, to: &Aor, outcome: Outcome) {
    let body = if r.subject.is_empty() {
        r.text.clone()
    } else {
        format!("{}\n\n{}", r.subject, r.text)
    };
    let entry = ArchiveEntry {
        sender: s.notify.service.to_string(),
        recipients: vec![to.to_string()],
        at_ms: crate::status::now_secs() * 1000,
        call_id: format!("notify-{:016x}", rand::random::<u64>()),
        content_type: "text/plain;charset=utf-8".into(),
        body: body.into_bytes(),
        outcome,
    };
    if let Err(e) = s.store.archive(entry).await {
        tracing::error!(error = %e, "notification not archived");
    }
}
