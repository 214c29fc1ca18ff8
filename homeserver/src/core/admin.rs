//! What operators ask of the engine (through the admin API): a user's composed presence,
//! and notifications — a MESSAGE from the service identity to every device of a user,
//! answered with what the devices said, so the caller can fall back to e-mail.

use herald_sip::{HeaderName, Method, Request};
use tokio::sync::oneshot;

use super::{fork::Origin, now_secs, Command, Core, HomeServer};
use crate::{
    presence::pidf::Pidf,
    store::{Aor, Binding, Outcome},
};

/// A notification for one user.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: Aor,
    /// The From header value: the service identity as a name-addr.
    pub from: String,
    pub subject: String,
    pub text: String,
    /// Sent with `Priority: urgent` (RFC 3261 §20.26).
    pub urgent: bool,
}

/// What became of a notification sent by SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeResult {
    /// A device answered with this 2xx.
    Delivered(u16),
    /// Every device failed; the best final status.
    Failed(u16),
    /// The user has no registered device.
    NoDevice,
}

/// The engine stopped before answering.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the home server engine is not running")]
pub struct EngineGone;

pub(super) enum Query {
    Presence(Aor, oneshot::Sender<Pidf>),
    Notice(Notice, oneshot::Sender<NoticeResult>),
}

impl HomeServer {
    /// The composed presence of `aor`, as a watcher allowed to see it would get it.
    pub async fn presence(&self, aor: Aor) -> Result<Pidf, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.ask(Query::Presence(aor, tx)).await?;
        rx.await.map_err(|_| EngineGone)
    }

    /// Sends a notification to every device of `notice.to` and waits for the outcome
    /// (at most the non-INVITE transaction timeout, 32 s).
    pub async fn notice(&self, notice: Notice) -> Result<NoticeResult, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.ask(Query::Notice(notice, tx)).await?;
        // Dropped unanswered: no branch could be started (every flow was gone).
        Ok(rx.await.unwrap_or(NoticeResult::Failed(503)))
    }

    async fn ask(&self, q: Query) -> Result<(), EngineGone> {
        self.tx
            .send(Command::Query(q))
            .await
            .map_err(|_| EngineGone)
    }
}

impl Core {
    pub(super) async fn on_query(&mut self, q: Query) {
        match q {
            Query::Presence(aor, reply) => {
                let doc = self.presence_of(&aor).await;
                let _ = reply.send(doc);
            }
            Query::Notice(n, reply) => self.send_notice(n, reply).await,
        }
    }

    async fn send_notice(&mut self, n: Notice, reply: oneshot::Sender<NoticeResult>) {
        let bindings = match self.store.bindings(&n.to, now_secs()).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, to = %n.to, "notification: bindings not read");
                let req = self.notice_request(&n);
                self.archive_message(&req, sender_of(&req).as_ref(), Outcome::Refused(500))
                    .await;
                let _ = reply.send(NoticeResult::Failed(500));
                return;
            }
        };
        if bindings.is_empty() {
            let _ = reply.send(NoticeResult::NoDevice);
            return;
        }
        let req = self.notice_request(&n);
        let targets = bindings.iter().map(Binding::target);
        let origin = Origin::Notice(Some(reply));
        if let Err(req) = self.start_fork(origin, req, None, targets, None).await {
            // The caller learns Failed(503) from the dropped answer.
            tracing::warn!(to = %n.to, "notification: no branch could be started");
            self.archive_message(&req, sender_of(&req).as_ref(), Outcome::Refused(503))
                .await;
        }
    }

    /// The MESSAGE of a notification.
    fn notice_request(&self, n: &Notice) -> Request {
        let body = if n.subject.is_empty() {
            n.text.clone()
        } else {
            format!("{}\n\n{}", n.subject, n.text)
        };
        let mut req = self.server_message(&n.to, &n.from, "text/plain;charset=utf-8", body.into());
        if !n.subject.is_empty() {
            req.headers.push(HeaderName::Subject, one_line(&n.subject));
        }
        if n.urgent {
            req.headers
                .push(HeaderName::Other("Priority".into()), "urgent");
        }
        req
    }

    /// A MESSAGE this server originates to `aor` (stored messages, notifications).
    pub(super) fn server_message(
        &self,
        aor: &Aor,
        from: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> Request {
        let mut req = Request::new(Method::Message, aor.to_uri());
        req.headers.push(HeaderName::MaxForwards, "70");
        req.headers.push(HeaderName::From, from);
        req.headers
            .push(HeaderName::To, format!("<{}>", aor.to_uri()));
        req.headers.push(
            HeaderName::CallId,
            format!("{:016x}@{}", rand::random::<u64>(), self.cfg.domain),
        );
        req.headers.push(HeaderName::CSeq, "1 MESSAGE");
        req.headers
            .push(HeaderName::ContentType, one_line(content_type));
        req.body = body;
        req
    }
}

/// The AOR in a request's From header (the service identity of a notification).
pub(super) fn sender_of(req: &Request) -> Option<Aor> {
    req.headers.from().ok().and_then(|f| Aor::of(&f.uri))
}

/// A header value with every control character (CR, LF above all) made a space: values
/// that came from a store or an operator must not add headers.
fn one_line(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
