//! REGISTER (RFC 3261 §10.3). In the embedded edition bindings live in memory (the store
//! writes them behind), so the registrar runs inline. In the pool they are written through
//! to Redis before the 200 (another home server must find them if this one dies a moment
//! later); there the engine does not wait for those round trips: the read-apply-write runs
//! as a task of its own, one at a time per AOR (later REGISTERs of that AOR wait behind
//! it, in order), and the answer goes out when the engine hears back. One user's round
//! trips never hold everyone else's requests, and concurrent writes share the store's
//! connection (Redis pipelines them).

use std::collections::{HashMap, VecDeque};

use herald_proto::v1::FlowRef;
use herald_sip::{Request, Response, StatusCode, Uri};
use tokio::sync::mpsc;

use super::{now_secs, At, Core};
use crate::{
    config::HomeConfig,
    registrar, reply,
    store::{Aor, Binding, Store, StoreError},
};

/// What the registrar decided: the bindings now in force, or the answer to a refused
/// request; `Err` when the store failed.
type Outcome = Result<Result<Vec<Binding>, Response>, StoreError>;

/// A REGISTER waiting for the one before it (same AOR) to be written.
struct Waiting {
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

/// The REGISTERs being written through, per AOR, and the way results come back.
pub(super) struct Registering {
    in_flight: HashMap<Aor, VecDeque<Waiting>>,
    done: mpsc::UnboundedSender<Done>,
}

impl Registering {
    pub(super) fn new() -> (Registering, mpsc::UnboundedReceiver<Done>) {
        let (done, rx) = mpsc::unbounded_channel();
        (
            Registering {
                in_flight: HashMap::new(),
                done,
            },
            rx,
        )
    }
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
            store.replace_bindings(aor, &set).await?;
            Ok(Ok(set))
        }
        Ok(None) => Ok(Ok(existing)),
        Err(r) => Ok(Err(r)),
    }
}

impl Core {
    pub(super) async fn on_register(&mut self, at: At, req: Request, flow: FlowRef) {
        let cfg = self.cfg.clone();
        let to_uri_ok = matches!(req.headers.to().map(|t| t.uri), Ok(Uri::Sip(_)));
        if !to_uri_ok {
            let r = reply::with_reason(&req, StatusCode::BAD_REQUEST, "To must be a SIP AOR", &cfg);
            return self.reply(&at, r).await;
        }
        let Some(user) = self.authenticate(&at, &req, &flow).await else {
            return;
        };
        if !cfg.store_is_remote {
            let now = now_secs();
            let outcome =
                apply_and_write(self.store.as_ref(), &req, &user.aor, &flow, now, &cfg).await;
            return self.registered(&user.aor, &at, &req, now, outcome).await;
        }
        match self.registering.in_flight.get_mut(&user.aor) {
            Some(queue) => queue.push_back(Waiting { at, req, flow }),
            None => {
                self.registering
                    .in_flight
                    .insert(user.aor.clone(), VecDeque::new());
                self.write_through(user.aor, Waiting { at, req, flow });
            }
        }
    }

    /// Starts the read-apply-write of one REGISTER as a task of its own.
    fn write_through(&self, aor: Aor, w: Waiting) {
        let store = self.store.clone();
        let cfg = self.cfg.clone();
        let done = self.registering.done.clone();
        tokio::spawn(async move {
            let now = now_secs();
            let outcome = apply_and_write(store.as_ref(), &w.req, &aor, &w.flow, now, &cfg).await;
            let _ = done.send(Done {
                aor,
                at: w.at,
                req: w.req,
                now,
                outcome,
            });
        });
    }

    /// A REGISTER written through: answer it, then start the next one of that AOR.
    pub(super) async fn register_done(&mut self, d: Done) {
        self.registered(&d.aor, &d.at, &d.req, d.now, d.outcome)
            .await;
        let next = self
            .registering
            .in_flight
            .get_mut(&d.aor)
            .and_then(VecDeque::pop_front);
        match next {
            Some(w) => self.write_through(d.aor, w),
            None => {
                self.registering.in_flight.remove(&d.aor);
            }
        }
    }

    /// Answers a REGISTER whose bindings are settled.
    async fn registered(&mut self, aor: &Aor, at: &At, req: &Request, now: u64, outcome: Outcome) {
        let cfg = self.cfg.clone();
        match outcome {
            Ok(Ok(set)) => {
                tracing::info!(%aor, contacts = set.len(), "registered");
                metrics::counter!("herald_registrations_total").increment(1);
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
