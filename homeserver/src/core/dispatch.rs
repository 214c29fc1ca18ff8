//! Request dispatch: the checks every request passes in RFC 3261 §16.3 order (URI scheme,
//! Max-Forwards, Proxy-Require), in-dialog routing, authentication, then one handler per
//! method; anything else is answered 501 with Allow.

use std::sync::Arc;

use herald_proto::v1::FlowRef;
use herald_sip::{HeaderName, Method, Request, StatusCode, Uri};
use tracing::Instrument;

use super::{now_secs, At, Core, Peer};
use crate::{
    auth::Verdict,
    reply,
    store::{Aor, UserRef},
};

/// The methods this server handles, for Allow.
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, REGISTER, UPDATE, INFO, REFER, PRACK, NOTIFY, SUBSCRIBE, PUBLISH";

impl Core {
    pub(super) async fn on_request(&mut self, at: At, req: Request, flow: Option<Peer>) {
        let Some(flow) = flow else {
            return;
        };
        let span = tracing::info_span!("request", method = %req.method.as_str(), call_id = %req.headers.call_id().unwrap_or(""), remote = %flow.remote);
        // Instrumented, never entered with a guard: a guard held across an await leaves
        // the span on the thread's stack for whatever runs there next (and
        // tracing-subscriber 0.3.23 panics on it, taking the engine with it).
        self.dispatch(at, req, flow).instrument(span).await;
    }

    async fn dispatch(&mut self, at: At, req: Request, flow: Peer) {
        let cfg = self.cfg.clone();
        if req.method == Method::Cancel {
            return self.on_cancel(at, req).await;
        }
        // §16.3 step 2: the Request-URI scheme. The same parse answers what routing asks
        // below (nothing on the way changes the Request-URI): is the target ours, and is
        // it the server itself.
        let target = match req.parse_uri() {
            Ok(Uri::Sip(u)) => {
                let local = match u.host {
                    herald_sip::Host::Domain(d) => cfg.is_local(d),
                    ref ip => cfg.is_local(&ip.to_string()),
                };
                Ok((local, u.user.is_none()))
            }
            Ok(Uri::Tel(_)) => Err((StatusCode::NOT_FOUND, "No route for tel URIs")),
            Ok(_) => Err((StatusCode::UNSUPPORTED_URI_SCHEME, "Unsupported URI Scheme")),
            Err(_) => Err((StatusCode::BAD_REQUEST, "Bad Request-URI")),
        };
        let (local, to_server) = match target {
            Ok(t) => t,
            Err((status, reason)) => {
                return self
                    .reply(&at, reply::with_reason(&req, status, reason, &cfg))
                    .await
            }
        };
        // Step 3: Max-Forwards.
        if req.headers.max_forwards().ok().flatten() == Some(0) {
            return self
                .reply(&at, reply::to(&req, StatusCode::TOO_MANY_HOPS, &cfg))
                .await;
        }
        // Step 5: Proxy-Require (and Require where this server is the UAS).
        let mut unsupported: Vec<String> = Vec::new();
        let names: &[HeaderName] = if req.method == Method::Register {
            &[HeaderName::ProxyRequire, HeaderName::Require]
        } else {
            &[HeaderName::ProxyRequire]
        };
        for name in names {
            if let Ok(tags) = req.headers.tokens(name, "Require") {
                unsupported.extend(tags.into_iter().map(str::to_owned));
            }
        }
        if !unsupported.is_empty() {
            let mut r = reply::to(&req, StatusCode::BAD_EXTENSION, &cfg);
            r.headers
                .push(HeaderName::Unsupported, unsupported.join(", "));
            return self.reply(&at, r).await;
        }
        // In-dialog requests that carry our Record-Route go where the route says (a
        // REGISTER is never in a dialog: it goes to the registrar whatever its Route).
        if let Some(route) = self
            .our_route(&req)
            .filter(|_| req.method != Method::Register)
        {
            return self
                .route_in_dialog(at, req, Arc::unwrap_or_clone(flow), route)
                .await;
        }
        let mut req = req;
        self.pop_self_routes(&mut req);
        if !local {
            let r = reply::with_reason(&req, StatusCode::FORBIDDEN, "Relaying not allowed", &cfg);
            return self.reply(&at, r).await;
        }
        match req.method {
            Method::Register => self.on_register(at, req, &flow).await,
            Method::Message
            | Method::Invite
            | Method::Options
            | Method::Refer
            | Method::Info
            | Method::Update => {
                if req.method == Method::Options && to_server {
                    let mut r = reply::to(&req, StatusCode::OK, &cfg);
                    r.headers.push(HeaderName::Allow, ALLOW);
                    r.headers
                        .push(HeaderName::Accept, "application/sdp, text/plain");
                    return self.reply(&at, r).await;
                }
                let Some(user) = self.authenticate(&at, &req, &flow).await else {
                    return;
                };
                if req.method == Method::Message {
                    self.on_message(at, req, user).await;
                } else {
                    self.proxy_to_user(at, req, Arc::unwrap_or_clone(flow))
                        .await;
                }
            }
            // A pool's home server whose lease lapsed holds no presence state: another
            // server may own these presentities now.
            Method::Subscribe | Method::Publish if !self.may_act() => {
                let r = reply::unavailable(&req, &cfg);
                self.reply(&at, r).await;
            }
            Method::Subscribe if req.headers.to_tag().is_ok_and(|t| t.is_some()) => {
                self.resubscribe(at, req).await;
            }
            Method::Subscribe | Method::Publish => {
                let Some(user) = self.authenticate(&at, &req, &flow).await else {
                    return;
                };
                if req.method == Method::Subscribe {
                    self.on_subscribe(at, req, Arc::unwrap_or_clone(flow), user)
                        .await;
                } else {
                    self.on_publish(at, req, user).await;
                }
            }
            Method::Bye | Method::Prack | Method::Notify => {
                let r = reply::to(&req, StatusCode::CALL_DOES_NOT_EXIST, &cfg);
                self.reply(&at, r).await;
            }
            _ => {
                let mut r = reply::to(&req, StatusCode::NOT_IMPLEMENTED, &cfg);
                r.headers.push(HeaderName::Allow, ALLOW);
                self.reply(&at, r).await;
            }
        }
    }

    /// Authenticates a request and checks that its From is the authenticated user. On
    /// `None` the request has been answered.
    pub(super) async fn authenticate(
        &mut self,
        at: &At,
        req: &Request,
        flow: &FlowRef,
    ) -> Option<UserRef> {
        let cfg = self.cfg.clone();
        let source = crate::flow::source_ip(flow);
        let verdict = self
            .auth
            .check(req, source, self.store.as_ref(), &cfg, now_secs())
            .await;
        let user = match verdict {
            Ok(Verdict::Ok(u)) => u,
            Ok(Verdict::Reply(r)) if r.status.is_challenge() => {
                self.reply_statelessly(at, r).await;
                return None;
            }
            Ok(Verdict::Reply(r)) => {
                self.reply(at, r).await;
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "store failure during authentication");
                let r = reply::unavailable(req, &cfg);
                self.reply(at, r).await;
                return None;
            }
        };
        let header = if req.method == Method::Register {
            req.headers.to()
        } else {
            req.headers.from()
        };
        let claimed = header.ok().and_then(|na| self.local_aor(&na.uri));
        if claimed.as_ref() != Some(&user.aor) {
            let reason = if req.method == Method::Register {
                "To does not match the authenticated user"
            } else {
                "From does not match the authenticated user"
            };
            let r = reply::with_reason(req, StatusCode::FORBIDDEN, reason, &cfg);
            self.reply(at, r).await;
            return None;
        }
        Some(user)
    }

    /// The AOR a URI names in this domain (any local host maps to the domain).
    pub(super) fn local_aor(&self, uri: &Uri<'_>) -> Option<Aor> {
        let Uri::Sip(u) = uri else { return None };
        let aor = Aor::of_uri(u)?;
        // Already the domain's own spelling (lower case): no second copy.
        if aor.domain().eq_ignore_ascii_case(&self.cfg.domain) {
            return Some(aor);
        }
        self.cfg
            .is_local(aor.domain())
            .then(|| Aor::new(aor.user(), &self.cfg.domain))
    }
}
