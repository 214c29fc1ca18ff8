//! Instant messages (RFC 3428): MESSAGE from an authenticated user to every device of the
//! recipient; stored and answered 202 when the recipient has none; stored messages
//! delivered in order on the next registration and removed only after a 2xx. Every
//! message is archived with what became of it, unless the archive is off
//! (`ArchiveMode::Off`).

use herald_sip::{HeaderName, Request, StatusCode, Uri};

use super::{fork::Origin, now_ms, now_secs, At, Core};
use crate::{
    config::ArchiveMode,
    reply,
    store::{Aor, ArchiveEntry, Binding, Bindings, Outcome, StoreResult, StoredMessage, UserRef},
};

impl Core {
    pub(super) async fn on_message(&mut self, at: At, req: Request, user: UserRef) {
        let cfg = self.cfg.clone();
        let sender = Some(user.aor.clone());
        if req.body.len() > cfg.max_message_body {
            self.archive_message(&req, sender.as_ref(), Outcome::Refused(413))
                .await;
            let r = reply::to(&req, StatusCode::REQUEST_ENTITY_TOO_LARGE, &cfg);
            return self.reply(&at, r).await;
        }
        let recipient = req.parse_uri().ok().and_then(|u| self.local_aor(&u));
        let known = match &recipient {
            Some(aor) => self
                .store
                .user(aor)
                .await
                .map(|u| u.filter(|u| !u.disabled)),
            None => Ok(None),
        };
        let recipient = match known {
            Ok(Some(u)) => u.aor.clone(),
            Ok(None) => {
                self.archive_message(&req, sender.as_ref(), Outcome::Refused(404))
                    .await;
                return self
                    .reply(&at, reply::to(&req, StatusCode::NOT_FOUND, &cfg))
                    .await;
            }
            Err(e) => return self.store_failed(&at, &req, &e).await,
        };
        if cfg.store_is_remote {
            // The pool: the devices are looked up by a task of their own (`recipient.rs`).
            return self.look_up_devices(recipient, at, req, sender);
        }
        let bindings = self.store.bindings(&recipient, now_secs()).await;
        self.message_to(at, req, sender, recipient, bindings).await;
    }

    /// A MESSAGE whose recipient's devices are known (or could not be read): forked to
    /// them, or stored.
    pub(super) async fn message_to(
        &mut self,
        at: At,
        req: Request,
        sender: Option<Aor>,
        recipient: Aor,
        bindings: StoreResult<Bindings>,
    ) {
        let cfg = self.cfg.clone();
        let bindings = match bindings {
            Ok(b) => b,
            Err(e) => return self.store_failed(&at, &req, &e).await,
        };
        let At::Tx(stx) = at else {
            let r = reply::with_reason(&req, StatusCode::BAD_REQUEST, "Missing Via branch", &cfg);
            return self.reply(&at, r).await;
        };
        if cfg.archive == ArchiveMode::Compliance && !bindings.is_empty() {
            // Stored messages are archived in the same transaction; delivered ones first
            // get a durable record here, or are not delivered at all.
            let entry = self.archive_entry(&req, sender.as_ref(), Outcome::Accepted);
            if let Err(e) = self.store.archive_durably(&entry).await {
                tracing::error!(error = %e, "compliance archiving failed: MESSAGE refused");
                return self.store_failed(&at, &req, &e).await;
            }
        }
        if bindings.is_empty() {
            return self.store_offline(at, req, sender).await;
        }
        tracing::debug!(to = %recipient, devices = bindings.len(), "forking MESSAGE");
        let targets = bindings.iter().map(Binding::target);
        let origin = Origin::Client(stx);
        if let Err(req) = self
            .start_fork(origin, req, sender.clone(), targets, None)
            .await
        {
            self.store_offline(at, req, sender).await;
        }
    }

    /// Stores a MESSAGE for later delivery and answers 202.
    pub(super) async fn store_offline(
        &mut self,
        at: At,
        req: Request,
        sender: Option<crate::store::Aor>,
    ) {
        let cfg = self.cfg.clone();
        let Some(recipient) = req.parse_uri().ok().and_then(|u| self.local_aor(&u)) else {
            return self
                .reply(&at, reply::to(&req, StatusCode::NOT_FOUND, &cfg))
                .await;
        };
        let msg = StoredMessage {
            id: 0,
            recipient: recipient.clone(),
            from: req.headers.get(&HeaderName::From).unwrap_or("").to_owned(),
            content_type: content_type(&req),
            body: req.body.to_vec(),
            received_at_ms: now_ms(),
        };
        let stored = if cfg.archive == ArchiveMode::Off {
            self.store.hold_message(&msg).await
        } else {
            let record = self.archive_entry(&req, sender.as_ref(), Outcome::Stored);
            self.store.store_message(&msg, &record).await
        };
        match stored {
            Ok(id) => {
                tracing::info!(to = %recipient, id, "MESSAGE stored for offline delivery");
                metrics::counter!("herald_messages_total", "outcome" => "stored").increment(1);
                self.reply(&at, reply::to(&req, StatusCode::ACCEPTED, &cfg))
                    .await;
            }
            Err(e) => self.store_failed(&at, &req, &e).await,
        }
    }

    pub(super) async fn archive_message(
        &self,
        req: &Request,
        sender: Option<&Aor>,
        outcome: Outcome,
    ) {
        let counter = match outcome {
            Outcome::Delivered(_) => &self.counters.messages_delivered,
            Outcome::Refused(_) => &self.counters.messages_refused,
            _ => &self.counters.messages_other,
        };
        counter.increment(1);
        if self.cfg.archive == ArchiveMode::Off {
            return;
        }
        let entry = self.archive_entry(req, sender, outcome);
        if let Err(e) = self.store.archive(entry).await {
            tracing::error!(error = %e, "archive write failed");
        }
    }

    /// The archive record of a MESSAGE: sender, recipient, time, type, body, outcome.
    fn archive_entry(&self, req: &Request, sender: Option<&Aor>, outcome: Outcome) -> ArchiveEntry {
        let recipient = match req.parse_uri() {
            Ok(u) => self
                .local_aor(&u)
                .map_or_else(|| u.to_string(), |a| a.to_string()),
            Err(_) => req.uri.as_str().to_owned(),
        };
        let sender = sender.map_or_else(
            || match req.headers.from().map(|f| f.uri) {
                Ok(Uri::Sip(u)) => u.aor(),
                _ => String::new(),
            },
            Aor::to_string,
        );
        ArchiveEntry {
            sender,
            recipients: vec![recipient],
            at_ms: now_ms(),
            call_id: req.headers.call_id().unwrap_or("").to_owned(),
            content_type: content_type(req),
            body: req.body.to_vec(),
            outcome,
        }
    }

    async fn store_failed(&mut self, at: &At, req: &Request, e: &crate::store::StoreError) {
        tracing::error!(error = %e, "store failure handling MESSAGE");
        let r = reply::unavailable(req, &self.cfg);
        self.reply(at, r).await;
    }

    /// Starts delivering `aor`'s stored messages, one at a time in order, unless that is
    /// already under way.
    pub(super) async fn start_delivery(&mut self, aor: Aor) {
        if self.deliveries.contains_key(&aor) {
            return;
        }
        self.deliveries.insert(aor.clone(), Vec::new());
        self.send_next(aor).await;
    }

    /// Called when a device answered 2xx to stored message `msg_id`.
    pub(super) async fn delivered(&mut self, aor: Aor, msg_id: i64) {
        tracing::info!(to = %aor, id = msg_id, "stored MESSAGE delivered");
        if let Err(e) = self.store.remove_message(msg_id).await {
            tracing::error!(error = %e, "removing a delivered message failed");
        }
        self.send_next(aor).await;
    }

    async fn send_next(&mut self, aor: Aor) {
        let pending = match self.store.pending(&aor).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading stored messages failed");
                self.deliveries.remove(&aor);
                return;
            }
        };
        let Some(msg) = pending.into_iter().next() else {
            self.deliveries.remove(&aor);
            return;
        };
        let bindings = match self.store.bindings(&aor, now_secs()).await {
            Ok(b) if !b.is_empty() => b,
            _ => {
                self.deliveries.remove(&aor);
                return;
            }
        };
        let mut req = self.server_message(&aor, &msg.from, &msg.content_type, msg.body.into());
        req.headers
            .push(HeaderName::Date, http_date(msg.received_at_ms / 1000));
        let targets = bindings.iter().map(Binding::target);
        let origin = Origin::Offline {
            aor: aor.clone(),
            msg_id: msg.id,
        };
        if self
            .start_fork(origin, req, None, targets, None)
            .await
            .is_err()
        {
            self.deliveries.remove(&aor);
        }
    }
}

fn content_type(req: &Request) -> String {
    req.headers
        .get(&HeaderName::ContentType)
        .unwrap_or("text/plain")
        .trim()
        .to_owned()
}

/// RFC 1123 date (the SIP Date header form) for seconds since the epoch.
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil from days (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(super::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            super::http_date(1_795_000_000),
            "Wed, 18 Nov 2026 11:06:40 GMT"
        );
    }
}
