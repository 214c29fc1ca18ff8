//! SUBSCRIBE (RFC 6665, RFC 3856, RFC 3857, RFC 4662) and PUBLISH (RFC 3903) as the
//! engine handles them: authentication, authorization by the presentity's rules, the
//! dialog, and the first NOTIFY; refreshes, unsubscribes and 481 for unknown dialogs.

use herald_proto::v1::FlowRef;
use herald_sip::{HeaderName, Request, StatusCode};

use super::{now_secs, presence::Sub, At, Core};
use crate::{
    presence::{
        lists::{self, Buddy},
        publish::{self, PublishLimits, Published200},
        rules::{self, Handling},
        subscription::{Ending, Kind, State, Subscription},
    },
    reply,
    store::{Aor, User, UserRef},
};

/// Live publications one user may hold (one per device is the norm).
const MAX_PUBLICATIONS: usize = 32;

/// The events this server notifies.
const EVENTS: &str = "presence, presence.winfo";
/// The suffix of a user's buddy-list URI: `sip:alice-list@example.com`.
pub(crate) const LIST_SUFFIX: &str = "-list";

impl Core {
    /// The Expires of a SUBSCRIBE, capped; `None` when answered (400, 423).
    async fn subscribe_expires(&mut self, at: &At, req: &Request) -> Option<u32> {
        let cfg = self.cfg.clone();
        let expires = match req.headers.expires() {
            Ok(e) => e.unwrap_or(cfg.presence.default_expires),
            Err(_) => {
                let r = reply::with_reason(req, StatusCode::BAD_REQUEST, "Bad Expires", &cfg);
                self.reply(at, r).await;
                return None;
            }
        };
        if expires != 0 && expires < cfg.presence.min_expires {
            let mut r = reply::to(req, StatusCode::INTERVAL_TOO_BRIEF, &cfg);
            r.headers
                .push(HeaderName::MinExpires, cfg.presence.min_expires.to_string());
            self.reply(at, r).await;
            return None;
        }
        Some(expires.min(cfg.presence.max_expires))
    }

    /// A new subscription from an authenticated watcher.
    pub(super) async fn on_subscribe(
        &mut self,
        at: At,
        req: Request,
        flow: FlowRef,
        user: UserRef,
    ) {
        let cfg = self.cfg.clone();
        let Some(expires) = self.subscribe_expires(&at, &req).await else {
            return;
        };
        let event = req.headers.event().ok().flatten();
        let kind = match event.as_ref().map(|e| e.package.to_ascii_lowercase()) {
            Some(p) if p == "presence" => Kind::Presence,
            Some(p) if p == "presence.winfo" => Kind::Winfo,
            _ => {
                let mut r = reply::to(&req, StatusCode::BAD_EVENT, &cfg);
                r.headers.push(HeaderName::AllowEvents, EVENTS);
                return self.reply(&at, r).await;
            }
        };
        let event_id = event.as_ref().and_then(|e| e.id()).map(str::to_owned);
        let Some((kind, target)) = self.subscription_target(&req, kind, &user).await else {
            let r = reply::to(&req, StatusCode::NOT_FOUND, &cfg);
            return self.reply(&at, r).await;
        };
        if kind != Kind::Presence && target != user.aor {
            let r = reply::with_reason(
                &req,
                StatusCode::FORBIDDEN,
                "Only the owner may subscribe",
                &cfg,
            );
            return self.reply(&at, r).await;
        }
        if kind == Kind::List {
            let supported = req
                .headers
                .tokens(&HeaderName::Supported, "Supported")
                .is_ok_and(|t| t.iter().any(|t| t.eq_ignore_ascii_case("eventlist")));
            if !supported {
                let mut r = reply::to(&req, StatusCode::EXTENSION_REQUIRED, &cfg);
                r.headers.push(HeaderName::Require, "eventlist");
                return self.reply(&at, r).await;
            }
        }
        // One user cannot grow the server's memory and NOTIFY load without bound.
        let max = cfg.presence.max_subscriptions_per_user;
        let held = self.watch.per_watcher.get(&user.aor).copied().unwrap_or(0);
        if max > 0 && held >= max {
            let r = reply::with_reason(&req, StatusCode::FORBIDDEN, "Too many subscriptions", &cfg);
            return self.reply(&at, r).await;
        }
        let handling = match kind {
            Kind::Presence => self.authorize(&target, &user.aor).await,
            _ => Handling::Allow,
        };
        if handling == Handling::Block {
            let r = reply::to(&req, StatusCode::FORBIDDEN, &cfg);
            return self.reply(&at, r).await;
        }
        let Some(contact) = req.headers.contact().ok().flatten().and_then(|c| match c {
            herald_sip::header::Contact::Addrs(a) => a.first().map(|n| n.uri_raw.to_owned()),
            herald_sip::header::Contact::Star => None,
        }) else {
            let r = reply::with_reason(&req, StatusCode::BAD_REQUEST, "Contact required", &cfg);
            return self.reply(&at, r).await;
        };
        // A random tag: with the Call-ID and the watcher's tag it is what authenticates a
        // refresh or unsubscribe later.
        let local_tag = format!("hs{:016x}", rand::random::<u64>());
        let mut ok = reply::to(&req, StatusCode::OK, &cfg);
        let to = req.headers.get(&HeaderName::To).unwrap_or("").to_owned();
        ok.headers
            .set(HeaderName::To, format!("{to};tag={local_tag}"));
        ok.headers.push(HeaderName::Expires, expires.to_string());
        ok.headers.push(
            HeaderName::Contact,
            format!("<{}>", self.contact_uri(&flow)),
        );
        if kind == Kind::List {
            ok.headers.push(HeaderName::Require, "eventlist");
        }
        let route_set = req
            .headers
            .get_all(&HeaderName::RecordRoute)
            .map(str::to_owned)
            .collect();
        let buddies = if kind == Kind::List {
            self.buddies(&target).await
        } else {
            Vec::new()
        };
        let from = req.headers.from().ok();
        let sub = Sub::new(
            Subscription {
                kind,
                watcher: user.aor.clone(),
                target: target.clone(),
                call_id: req.headers.call_id().unwrap_or("").to_owned(),
                local_tag,
                remote_tag: from.as_ref().and_then(|f| f.tag()).unwrap_or("").to_owned(),
                local_uri: req
                    .headers
                    .to()
                    .map(|t| t.uri_raw.to_owned())
                    .unwrap_or_default(),
                remote_uri: from
                    .as_ref()
                    .map(|f| f.uri_raw.to_owned())
                    .unwrap_or_default(),
                remote_target: contact,
                route_set,
                flow,
                event_id,
                cseq: 0,
                expires_at: now_secs() + u64::from(expires),
                state: if handling == Handling::Confirm {
                    State::Pending
                } else {
                    State::Active
                },
                version: 0,
            },
            handling,
            buddies,
        );
        tracing::info!(watcher = %user.aor, %target, event = kind.event(), ?handling, expires, "subscribed");
        self.reply(&at, ok).await;
        let id = self.watch.insert(sub);
        if expires == 0 {
            // A fetch: one NOTIFY with the state, and the subscription ends.
            return self.send_notify(id, Ending::Terminated("timeout")).await;
        }
        self.send_notify(id, Ending::Continues(u64::from(expires)))
            .await;
        if kind == Kind::Presence {
            self.watchers_changed(&target);
        }
    }

    /// What the Request-URI names: a user's presence, or (`<user>-list`) their buddy list.
    async fn subscription_target(
        &self,
        req: &Request,
        kind: Kind,
        user: &User,
    ) -> Option<(Kind, Aor)> {
        let uri = req.parse_uri().ok()?;
        let aor = self.local_aor(&uri)?;
        if self.store.user(&aor).await.ok().flatten().is_some() {
            return Some((kind, aor));
        }
        let owner = aor.user().strip_suffix(LIST_SUFFIX)?;
        let owner = Aor::new(owner, aor.domain());
        (kind == Kind::Presence && owner == user.aor).then_some((Kind::List, owner))
    }

    /// A refresh or unsubscribe in an existing dialog (Call-ID and both tags must match;
    /// our tag is random, so they are the dialog's credentials); 481 if there is none.
    pub(super) async fn resubscribe(&mut self, at: At, req: Request) {
        let cfg = self.cfg.clone();
        let Some(expires) = self.subscribe_expires(&at, &req).await else {
            return;
        };
        let tag = req
            .headers
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_owned));
        let their = req
            .headers
            .from()
            .ok()
            .and_then(|f| f.tag().map(str::to_owned));
        let call_id = req.headers.call_id().unwrap_or("");
        let id = match self
            .watch
            .dialog(call_id, tag.as_deref().unwrap_or(""))
            .as_ref()
        {
            Some(id) if Some(&self.watch.subs[id].s.remote_tag) == their.as_ref() => *id,
            _ => {
                let r = reply::to(&req, StatusCode::CALL_DOES_NOT_EXIST, &cfg);
                return self.reply(&at, r).await;
            }
        };
        let mut ok = reply::to(&req, StatusCode::OK, &cfg);
        ok.headers.push(HeaderName::Expires, expires.to_string());
        self.reply(&at, ok).await;
        if expires == 0 {
            tracing::info!(sub = id, "unsubscribed");
            return self.send_notify(id, Ending::Terminated("timeout")).await;
        }
        self.watch.to_save.insert(id);
        if let Some(sub) = self.watch.subs.get_mut(&id) {
            sub.s.expires_at = now_secs() + u64::from(expires);
            // A refresh is answered with the full state (RFC 6665 §4.2.1.2).
            sub.changed = None;
        }
        self.schedule(id);
    }

    /// How `watcher` may see `owner`: the owner's rules, else the default policy.
    pub(super) async fn authorize(&self, owner: &Aor, watcher: &Aor) -> Handling {
        let rules = match self.store.document(owner, rules::AUID).await {
            Ok(Some(d)) => rules::parse(d.xml.as_bytes()).unwrap_or_default(),
            _ => Vec::new(),
        };
        let buddies = if rules.is_empty()
            && self.cfg.presence.default_policy == rules::DefaultPolicy::Buddies
        {
            self.buddies(owner).await
        } else {
            Vec::new()
        };
        rules::decide(
            &rules,
            &buddies,
            owner,
            watcher,
            self.cfg.presence.default_policy,
        )
    }

    /// The owner's buddy list (empty when none or unreadable).
    pub(super) async fn buddies(&self, owner: &Aor) -> Vec<Buddy> {
        match self.store.document(owner, lists::AUID).await {
            Ok(Some(d)) => lists::parse(d.xml.as_bytes()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The owner's rules or list changed (XCAP): pending and blocked watchers are
    /// re-decided, list subscriptions re-read their buddies, and everyone is re-sent.
    pub(super) async fn documents_changed(&mut self, owner: &Aor) {
        let ids: Vec<u64> = self
            .watch
            .subs
            .iter()
            .filter(|(_, s)| s.s.target == *owner)
            .map(|(id, _)| *id)
            .collect();
        let mut winfo = false;
        for id in ids {
            let (kind, watcher) = {
                let s = &self.watch.subs[&id];
                (s.s.kind, s.s.watcher.clone())
            };
            match kind {
                Kind::Presence => {
                    let h = self.authorize(owner, &watcher).await;
                    if h == Handling::Block {
                        self.send_notify(id, Ending::Terminated("rejected")).await;
                        winfo = true;
                        continue;
                    }
                    if let Some(s) = self.watch.subs.get_mut(&id) {
                        let state = if h == Handling::Confirm {
                            State::Pending
                        } else {
                            State::Active
                        };
                        winfo |= s.s.state != state;
                        s.s.state = state;
                        s.handling = h;
                        self.watch.to_save.insert(id);
                    }
                }
                Kind::List => {
                    let buddies = self.buddies(owner).await;
                    self.watch.set_buddies(id, buddies);
                    self.watch.to_save.insert(id);
                }
                Kind::Winfo => {}
            }
            self.schedule(id);
        }
        if winfo {
            self.watchers_changed(owner);
        }
    }

    pub(super) async fn on_publish(&mut self, at: At, req: Request, user: UserRef) {
        let cfg = self.cfg.clone();
        let target = req.parse_uri().ok().and_then(|u| self.local_aor(&u));
        if target.as_ref() != Some(&user.aor) {
            let r = reply::with_reason(
                &req,
                StatusCode::FORBIDDEN,
                "Only your own presence can be published",
                &cfg,
            );
            return self.reply(&at, r).await;
        }
        let limits = PublishLimits {
            min_expires: cfg.presence.min_expires,
            max_expires: cfg.presence.max_expires,
            default_expires: cfg.presence.default_expires,
            ..PublishLimits::default()
        };
        let pubs = self.watch.pubs.entry(user.aor.clone()).or_default();
        let is_new = req.headers.get(&HeaderName::SipIfMatch).is_none();
        if is_new && pubs.len() >= MAX_PUBLICATIONS {
            let r = reply::with_reason(&req, StatusCode::FORBIDDEN, "Too many publications", &cfg);
            return self.reply(&at, r).await;
        }
        let result = publish::apply(&req, pubs, now_secs(), &limits, || {
            format!("{:016x}", rand::random::<u64>())
        });
        match result {
            Ok(done) => {
                let mut ok = reply::to(&req, StatusCode::OK, &cfg);
                if let Published200::Stored { etag, expires } = &done {
                    ok.headers.push(HeaderName::SipETag, etag.clone());
                    ok.headers.push(HeaderName::Expires, expires.to_string());
                }
                tracing::info!(aor = %user.aor, ?done, "published");
                self.watch.pubs_to_save.insert(user.aor.clone());
                self.reply(&at, ok).await;
                self.presentity_changed(&user.aor);
            }
            Err(refusal) => {
                tracing::info!(aor = %user.aor, status = refusal.status.as_u16(), reason = %refusal.reason, "PUBLISH refused");
                let mut r = reply::with_reason(&req, refusal.status, &refusal.reason, &cfg);
                if let Some((name, value)) = refusal.header {
                    r.headers.push(name, value);
                }
                self.reply(&at, r).await;
            }
        }
    }
}
