//! REGISTER (RFC 3261 §10.3). In the embedded edition bindings live in memory (the store
//! writes them behind), so the registrar runs inline. In the pool they are written through
//! to Redis before the 200 (another home server must find them if this one dies a moment
//! later); there the read-apply-write runs as a task of its own, one at a time per AOR
//! (`lanes.rs`), and the answer goes out when the engine hears back. One user's round
//! trips never hold everyone else's requests, and concurrent writes share the store's
//! connection (Redis pipelines them).

use std::time::Instant;

use herald_proto::v1::FlowRef;
use herald_sip::{Request, Response, StatusCode, Uri};

use super::{
    lanes::Settled,
    now_secs,
    register_seen::{Key, Seen},
    At, Core, Peer,
};
use crate::{
    config::HomeConfig,
    registrar, reply,
    store::{Aor, Bindings, Store, StoreError},
};

/// What the registrar decided: the bindings now in force, or the answer to a refused
/// request; `Err` when the store failed.
type Outcome = Result<Result<Bindings, Response>, StoreError>;

/// A REGISTER whose bindings are to be read, applied and written.
pub(super) struct Waiting {
    at: At,
    req: Request,
    flow: FlowRef,
}

/// A written REGISTER, back at the engine for its answer.
pub(super) struct Done {
    aor: Aor,
    at: At,
    req: Request,
    now: u64,
    outcome: Outcome,
}

/// Reads `aor`'s bindings, applies the REGISTER, writes the result if it changed anything.
async fn apply_and_write(
    store: &dyn Store,
    req: &Request,
    aor: &Aor,
    flow: &FlowRef,
    now: u64,
    cfg: &HomeConfig,
) -> Outcome {
    let existing = store.bindings(aor, now).await?;
    match registrar::apply(req, aor, &existing, flow, now, cfg) {
        Ok(Some(set)) => {
            let set = Bindings::from(set);
            store.replace_bindings(aor, set.clone()).await?;
            Ok(Ok(set))
        }
        Ok(None) => Ok(Ok(existing)),
        Err(r) => Ok(Err(r)),
    }
}

impl Core {
    /// A REGISTER with an RFC 3261 branch, answered without a server transaction
    /// (`register_seen.rs`): a retransmission meets what became of the first copy.
    pub(super) async fn register_arrived(&mut self, req: Request, flow: Peer, now: Instant) {
        let key = if crate::flow::reliable(&flow) {
            None
        } else {
            self.seen_registers.key(&req)
        };
        let earlier = key.and_then(|k| self.seen_registers.arrive(k, now));
        let Some(earlier) = earlier else {
            let at = At::Register(Peer::clone(&flow), key);
            return self.on_request(at, req, Some(flow)).await;
        };
        metrics::counter!("herald_register_retransmissions_total").increment(1);
        match earlier {
            Seen::Pending => {}
            Seen::Registered(aor) => {
                let now = now_secs();
                let cfg = self.cfg.clone();
                let r = match self.store.bindings(&aor, now).await {
                    Ok(set) => registrar::ok(&req, &set, now, &cfg),
                    Err(e) => {
                        tracing::error!(error = %e, "store failure answering a retransmitted REGISTER");
                        reply::unavailable(&req, &cfg)
                    }
                };
                self.reply(&At::Register(flow, None), r).await;
            }
            Seen::Refused(raw) => {
                if let Err(status) = self.send(FlowRef::clone(&flow), raw).await {
                    tracing::info!(%status, "REGISTER response not sent");
                }
            }
        }
    }

    /// A REGISTER noted in `seen_registers` was answered `status`: a challenge is not
    /// kept (its retransmission is challenged anew), a refusal is; a 200 was noted with
    /// its AOR where the bindings were settled.
    pub(super) fn register_answered(&mut self, key: Key, status: StatusCode, raw: &bytes::Bytes) {
        let code = status.as_u16();
        if code == 401 || code == 407 {
            self.seen_registers.settle(key, None);
        } else if code >= 300 {
            self.seen_registers
                .settle(key, Some(Seen::Refused(raw.clone())));
        }
    }

    pub(super) async fn on_register(&mut self, at: At, req: Request, flow: &FlowRef) {
        let cfg = self.cfg.clone();
        let to_uri_ok = matches!(req.headers.to().map(|t| t.uri), Ok(Uri::Sip(_)));
        if !to_uri_ok {
            let r = reply::with_reason(&req, StatusCode::BAD_REQUEST, "To must be a SIP AOR", &cfg);
            return self.reply(&at, r).await;
        }
        let Some(user) = self.authenticate(&at, &req, flow).await else {
            return;
        };
        if !cfg.store_is_remote {
            let now = now_secs();
            let outcome =
                apply_and_write(self.store.as_ref(), &req, &user.aor, flow, now, &cfg).await;
            return self.registered(&user.aor, &at, &req, now, outcome).await;
        }
        let waiting = Waiting {
            at,
            req,
            flow: flow.clone(),
        };
        if let Some(w) = self.registering.enter(&user.aor, waiting) {
            self.write_through(user.aor.clone(), w);
        }
    }

    /// Starts the read-apply-write of one REGISTER as a task of its own.
    fn write_through(&self, aor: Aor, w: Waiting) {
        let store = self.store.clone();
        let cfg = self.cfg.clone();
        let back = self.settled.clone();
        tokio::spawn(async move {
            let now = now_secs();
            let outcome = apply_and_write(store.as_ref(), &w.req, &aor, &w.flow, now, &cfg).await;
            let _ = back.send(Settled::Registered(Done {
                aor,
                at: w.at,
                req: w.req,
                now,
                outcome,
            }));
        });
    }

    /// A REGISTER written through: answer it, then start the next one of that AOR.
    pub(super) async fn register_done(&mut self, d: Done) {
        self.registered(&d.aor, &d.at, &d.req, d.now, d.outcome)
            .await;
        if let Some(w) = self.registering.next(&d.aor) {
            self.write_through(d.aor, w);
        }
    }

    /// Answers a REGISTER whose bindings are settled.
    async fn registered(&mut self, aor: &Aor, at: &At, req: &Request, now: u64, outcome: Outcome) {
        let cfg = self.cfg.clone();
        match outcome {
            Ok(Ok(set)) => {
                tracing::info!(%aor, contacts = set.len(), "registered");
                self.counters.registrations.increment(1);
                if let At::Register(_, Some(key)) = at {
                    self.seen_registers
                        .settle(*key, Some(Seen::Registered(aor.clone())));
                }
                let r = registrar::ok(req, &set, now, &cfg);
                self.reply(at, r).await;
                // Automatic presence: registering or signing out changes what watchers see.
                self.presentity_changed(aor);
                if !set.is_empty() {
                    self.start_delivery(aor.clone()).await;
                }
            }
            Ok(Err(r)) => self.reply(at, r).await,
            Err(e) => {
                tracing::error!(error = %e, "store failure in the registrar");
                let r = reply::unavailable(req, &cfg);
                self.reply(at, r).await;
            }
        }
    }
}
