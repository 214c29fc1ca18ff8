//! Calls and other dialogs, proxied statefully (RFC 3261 §16): INVITE and out-of-dialog
//! requests forked to every contact of the callee with our Record-Route; CANCEL answered
//! and passed to the pending branches; in-dialog requests routed by the flow tokens in
//! our Route entry; ACK for 2xx forwarded statelessly. Media never passes through here.

use std::time::Instant;

use herald_proto::v1::FlowRef;
use herald_sip::{HeaderName, Method, Request, StatusCode};

use super::{
    fork::Origin,
    forward::{pop_our_routes, OurRoute},
    now_secs, At, Core,
};
use crate::{flow, reply, store::Binding};

impl Core {
    /// INVITE, OPTIONS, REFER, INFO, UPDATE to a user of this domain (sender already
    /// authenticated).
    pub(super) async fn proxy_to_user(&mut self, at: At, req: Request, from_flow: FlowRef) {
        let cfg = self.cfg.clone();
        let target = req.parse_uri().ok().and_then(|u| self.local_aor(&u));
        let user = match &target {
            Some(aor) => self
                .store
                .user(aor)
                .await
                .ok()
                .flatten()
                .filter(|u| !u.disabled),
            None => None,
        };
        let Some(user) = user else {
            return self
                .reply(&at, reply::to(&req, StatusCode::NOT_FOUND, &cfg))
                .await;
        };
        let bindings = self
            .store
            .bindings(&user.aor, now_secs())
            .await
            .unwrap_or_default();
        if bindings.is_empty() {
            let r = reply::to(&req, StatusCode::TEMPORARILY_UNAVAILABLE, &cfg);
            return self.reply(&at, r).await;
        }
        let At::Tx(stx) = at else {
            let r = reply::with_reason(&req, StatusCode::BAD_REQUEST, "Missing Via branch", &cfg);
            return self.reply(&at, r).await;
        };
        let dialog = matches!(
            req.method,
            Method::Invite | Method::Refer | Method::Subscribe
        );
        let rr = dialog.then_some(from_flow);
        let targets = bindings.iter().map(Binding::target);
        tracing::info!(to = %user.aor, method = %req.method.as_str(), "proxying");
        if let Err(req) = self
            .start_fork(Origin::Client(stx), req, None, targets, rr)
            .await
        {
            let r = reply::to(&req, StatusCode::TEMPORARILY_UNAVAILABLE, &cfg);
            self.reply(&at, r).await;
        }
    }

    /// CANCEL (§9.2, §16.10): 200 to the CANCEL, then CANCEL every pending branch; the
    /// INVITE gets the 487 the callees send.
    pub(super) async fn on_cancel(&mut self, at: At, req: Request) {
        let cfg = self.cfg.clone();
        let invite = self.txl.invite_for_cancel(&req);
        let status = match invite {
            Some(stx) if self.cancel_fork(stx) => StatusCode::OK,
            Some(stx) => {
                // Not forked (answered already or never proxied): end it with 487.
                // The 487 answers the INVITE: same headers as the CANCEL but its CSeq method.
                let mut r = reply::to(&req, StatusCode::REQUEST_TERMINATED, &cfg);
                let seq = req.headers.cseq().map(|c| c.seq).unwrap_or(0);
                r.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
                let _ = self.txl.respond(stx, r, Instant::now());
                StatusCode::OK
            }
            None => StatusCode::CALL_DOES_NOT_EXIST,
        };
        self.reply(&at, reply::to(&req, status, &cfg)).await;
    }

    /// A request carrying our Route: to the other side's flow.
    pub(super) async fn route_in_dialog(
        &mut self,
        at: At,
        mut req: Request,
        from: FlowRef,
        route: OurRoute,
    ) {
        // From side b (or from b's address, after a reconnect) it goes to a; anything
        // else goes to b.
        let from_b = flow::same(&from, &route.b)
            || (!flow::same(&from, &route.a) && from.remote == route.b.remote);
        let to_flow = if from_b { route.a } else { route.b };
        pop_our_routes(&mut req);
        if req.method == Method::Bye {
            self.call_ended(req.headers.call_id().unwrap_or(""));
        }
        let target = req.uri.as_str().to_owned();
        let At::Tx(stx) = at else {
            let r = reply::with_reason(
                &req,
                StatusCode::BAD_REQUEST,
                "Missing Via branch",
                &self.cfg,
            );
            return self.reply(&at, r).await;
        };
        let rr = matches!(req.method, Method::Refer | Method::Subscribe).then_some(from);
        let targets = [(target.as_str(), &to_flow)];
        if let Err(req) = self
            .start_fork(Origin::Client(stx), req, None, targets, rr)
            .await
        {
            let r = reply::to(&req, StatusCode::CALL_DOES_NOT_EXIST, &self.cfg);
            self.reply(&at, r).await;
        }
    }

    /// ACK for a 2xx: forwarded statelessly along our Route; anything else is dropped.
    pub(super) async fn on_ack(&mut self, mut req: Request) {
        let Some(route) = self.our_route(&req) else {
            tracing::debug!("ACK without our route dropped");
            return;
        };
        pop_our_routes(&mut req);
        // The ACK arrived in the message being handled now.
        let to_flow = match &self.inbound_flow {
            Some(f) if flow::same(f, &route.b) => route.a,
            _ => route.b,
        };
        req.headers.push_front(HeaderName::Via, self.via(&to_flow));
        let mf = req.headers.max_forwards().ok().flatten().unwrap_or(71);
        req.headers.set(
            HeaderName::MaxForwards,
            mf.saturating_sub(1).min(70).to_string(),
        );
        if let Err(status) = self.send(to_flow, req.to_bytes()).await {
            tracing::info!(%status, "ACK not forwarded: flow gone");
        }
    }
}
