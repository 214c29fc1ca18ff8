//! Parallel forking (RFC 3261 §16.7): one request sent to every contact, responses
//! gathered. Provisional responses to INVITE are relayed, every 2xx is relayed (the first
//! ends the fork and CANCELs the other INVITE branches), and when all branches failed
//! the best final response is relayed — or, for a MESSAGE no device could take, the
//! message is stored and answered 202.

use std::{sync::Arc, time::Instant};

use herald_proto::v1::FlowRef;
use herald_sip::{transactions::TxId, HeaderName, Method, Request, Response, StatusCode};

use tokio::sync::oneshot;

use super::{At, Core, NoticeResult};
use crate::{
    flow, reply,
    store::{Aor, Outcome},
};

/// Who is waiting for the fork's answer.
pub(super) enum Origin {
    /// A client's request, answered through its server transaction.
    Client(TxId),
    /// A stored message being delivered to `aor`.
    Offline { aor: Aor, msg_id: i64 },
    /// An operator's notification; the caller waits for the outcome.
    Notice(Option<oneshot::Sender<NoticeResult>>),
}

pub(super) struct Branch {
    tx: TxId,
    /// The branch's INVITE, kept to build its CANCEL (§9.1); none for other methods,
    /// whose request only the transaction keeps.
    invite: Option<Request>,
    final_status: Option<u16>,
}

pub(super) struct Fork {
    pub origin: Origin,
    /// The request as received (for MESSAGE archiving and storing).
    pub request: Request,
    pub sender: Option<Aor>,
    branches: Vec<Branch>,
    best: Option<Response>,
    answered: bool,
    /// Client transactions not yet terminated.
    open: usize,
}

/// §16.7 step 6: 6xx first, then the lowest class; failures of reachability last.
fn rank(code: u16) -> u32 {
    match code {
        600..=699 => 0,
        408 | 430 | 503 => 9000 + u32::from(code),
        c => u32::from(c / 100) * 1000 + u32::from(c % 100),
    }
}

impl Fork {
    /// The INVITE branches still waiting for a final response, to CANCEL.
    fn pending_invites(&self) -> Vec<(TxId, Request)> {
        self.branches
            .iter()
            .filter(|b| b.final_status.is_none())
            .filter_map(|b| Some((b.tx, b.invite.clone()?)))
            .collect()
    }

    /// Keeps `resp` if it ranks better than the best final response so far.
    fn keep_best(&mut self, resp: Response) {
        let code = resp.status.as_u16();
        if self
            .best
            .as_ref()
            .is_none_or(|b| rank(code) < rank(b.status.as_u16()))
        {
            self.best = Some(resp);
        }
    }
}

/// Statuses meaning "the device was not reachable", after which a MESSAGE is stored.
fn unreachable(code: u16) -> bool {
    matches!(code, 408 | 430 | 480 | 503)
}

impl Core {
    /// Sends `req` to every `(contact, flow)` target (`Binding::target`). The request is
    /// kept by the fork; when no branch could be started it is handed back, for the
    /// caller's answer.
    pub(super) async fn start_fork<'a>(
        &mut self,
        origin: Origin,
        req: Request,
        sender: Option<Aor>,
        targets: impl IntoIterator<Item = (&'a str, &'a FlowRef)>,
        rr_from: Option<FlowRef>,
    ) -> Result<(), Request> {
        let id = self.next_fork;
        let is_invite = req.method == Method::Invite;
        let mut branches = Vec::new();
        for (contact, to_flow) in targets {
            let b = self.branch_request(&req, contact, to_flow, rr_from.as_ref());
            let reliable = flow::reliable(to_flow);
            let invite = is_invite.then(|| b.clone());
            match self
                .txl
                .send_request(b, Arc::new(to_flow.clone()), reliable, Instant::now())
            {
                Ok(tx) => {
                    self.branch_of.insert(tx, id);
                    branches.push(Branch {
                        tx,
                        invite,
                        final_status: None,
                    });
                }
                Err(e) => tracing::warn!(error = ?e, "branch not started"),
            }
        }
        if branches.is_empty() {
            return Err(req);
        }
        self.next_fork += 1;
        if let Origin::Client(tx) = origin {
            if is_invite {
                self.fork_of_server.insert(tx, id);
            }
        }
        let fork = Fork {
            origin,
            request: req,
            sender,
            open: branches.len(),
            branches,
            best: None,
            answered: false,
        };
        self.forks.insert(id, fork);
        self.forks_open.set(self.forks.len() as f64);
        Ok(())
    }

    /// Ends fork `id` once it is over: every branch has its final response (or failed)
    /// and, for an INVITE, every branch's transaction has terminated too (a proxy relays
    /// every 2xx to INVITE while its branches live). A non-INVITE fork ends as soon as its
    /// branches are final: their transactions then only absorb retransmitted responses
    /// until Timer K (5 s over UDP), which never reach the fork — kept until then, a busy
    /// server held every relayed MESSAGE, request and all, for those 5 s.
    fn end_if_over(&mut self, id: u64) {
        let over = self.forks.get(&id).is_some_and(|f| {
            f.branches.iter().all(|b| b.final_status.is_some())
                && (f.open == 0 || f.request.method != Method::Invite)
        });
        if over {
            self.forks.remove(&id);
            self.forks_open.set(self.forks.len() as f64);
        }
    }

    pub(super) async fn on_branch_response(&mut self, tx: TxId, mut resp: Response) {
        let Some(&id) = self.branch_of.get(&tx) else {
            return;
        };
        let code = resp.status.as_u16();
        resp.headers.remove_first_value(&HeaderName::Via);
        let Some(fork) = self.forks.get_mut(&id) else {
            return;
        };
        let is_invite = fork.request.method == Method::Invite;
        if code < 200 {
            if is_invite && code > 100 {
                if let Origin::Client(stx) = fork.origin {
                    self.relay(stx, resp);
                }
            }
            return;
        }
        if let Some(b) = fork.branches.iter_mut().find(|b| b.tx == tx) {
            b.final_status = Some(code);
        }
        if (200..300).contains(&code) {
            let first = !fork.answered;
            fork.answered = true;
            if first && is_invite {
                for (btx, p) in fork.pending_invites() {
                    self.cancel_branch(btx, &p);
                }
            }
            if first || is_invite {
                self.on_fork_success(id, resp).await;
            }
            return self.end_if_over(id);
        }
        fork.keep_best(resp);
        self.maybe_finish(id).await;
        self.end_if_over(id);
    }

    /// A branch that timed out (408) or whose flow is gone (430).
    pub(super) async fn on_branch_failure(&mut self, tx: TxId, code: u16) {
        let Some(&id) = self.branch_of.get(&tx) else {
            return;
        };
        let Some(fork) = self.forks.get_mut(&id) else {
            return;
        };
        let Some(b) = fork.branches.iter_mut().find(|b| b.tx == tx) else {
            return;
        };
        if b.final_status.is_some() {
            return;
        }
        b.final_status = Some(code);
        let status = StatusCode::new(code).unwrap_or(StatusCode::REQUEST_TIMEOUT);
        let synthetic = reply::to(&fork.request, status, &self.cfg);
        fork.keep_best(synthetic);
        self.maybe_finish(id).await;
        self.end_if_over(id);
    }

    pub(super) fn on_terminated(&mut self, tx: TxId) {
        self.fork_of_server.remove(&tx);
        let Some(id) = self.branch_of.remove(&tx) else {
            return;
        };
        if let Some(fork) = self.forks.get_mut(&id) {
            fork.open = fork.open.saturating_sub(1);
            self.end_if_over(id);
        }
    }

    /// CANCELs every branch of the INVITE fork of server transaction `stx` still pending.
    pub(super) fn cancel_fork(&mut self, stx: TxId) -> bool {
        let Some(&id) = self.fork_of_server.get(&stx) else {
            return false;
        };
        let pending = self
            .forks
            .get(&id)
            .map_or(Vec::new(), Fork::pending_invites);
        for (btx, p) in pending {
            self.cancel_branch(btx, &p);
        }
        true
    }

    fn cancel_branch(&mut self, tx: TxId, branch: &Request) {
        let cancel = self.cancel_for(branch);
        let Some(flow) = self.txl.peer(tx).cloned() else {
            return;
        };
        let reliable = flow::reliable(&flow);
        if let Err(e) = self
            .txl
            .send_request(cancel, flow, reliable, Instant::now())
        {
            tracing::debug!(error = ?e, "CANCEL not sent");
        }
    }

    /// Relays a response to the client's server transaction.
    pub(super) fn relay(&mut self, stx: TxId, resp: Response) {
        if let Err(e) = self.txl.respond(stx, resp, Instant::now()) {
            tracing::debug!(error = ?e, "relayed response not sent");
        }
    }

    async fn maybe_finish(&mut self, id: u64) {
        let Some(fork) = self.forks.get_mut(&id) else {
            return;
        };
        if fork.answered || fork.branches.iter().any(|b| b.final_status.is_none()) {
            return;
        }
        fork.answered = true;
        let best = fork.best.take();
        let all_unreachable = fork
            .branches
            .iter()
            .all(|b| b.final_status.is_some_and(unreachable));
        self.on_fork_failure(id, best, all_unreachable).await;
    }

    async fn on_fork_success(&mut self, id: u64, resp: Response) {
        let Some(fork) = self.forks.get(&id) else {
            return;
        };
        let code = resp.status.as_u16();
        match &fork.origin {
            Origin::Client(stx) => {
                let stx = *stx;
                let req = &fork.request;
                if req.method == Method::Message {
                    self.archive_message(req, fork.sender.as_ref(), Outcome::Delivered(code))
                        .await;
                }
                if req.method == Method::Invite {
                    // Both local parties show on-the-phone until the BYE.
                    let parties = [req.headers.from(), req.headers.to()]
                        .into_iter()
                        .filter_map(|h| h.ok().and_then(|na| self.local_aor(&na.uri)))
                        .collect();
                    let call_id = req.headers.call_id().unwrap_or("").to_owned();
                    self.call_started(&call_id, parties);
                }
                self.relay(stx, resp);
            }
            Origin::Offline { aor, msg_id } => {
                let (aor, msg_id) = (aor.clone(), *msg_id);
                self.delivered(aor, msg_id).await;
            }
            Origin::Notice(_) => {
                self.notice_done(id, Outcome::Delivered(code), NoticeResult::Delivered(code))
                    .await;
            }
        }
    }

    /// Archives a notification's outcome and tells the waiting caller (once).
    async fn notice_done(&mut self, id: u64, outcome: Outcome, result: NoticeResult) {
        let Some(fork) = self.forks.get_mut(&id) else {
            return;
        };
        let Origin::Notice(reply) = &mut fork.origin else {
            return;
        };
        let Some(reply) = reply.take() else {
            return;
        };
        let req = fork.request.clone();
        let sender = super::admin::sender_of(&req);
        self.archive_message(&req, sender.as_ref(), outcome).await;
        let _ = reply.send(result);
    }

    async fn on_fork_failure(&mut self, id: u64, best: Option<Response>, all_unreachable: bool) {
        let Some(fork) = self.forks.get(&id) else {
            return;
        };
        let (req, sender) = (fork.request.clone(), fork.sender.clone());
        match &fork.origin {
            Origin::Client(stx) => {
                let stx = *stx;
                if req.method == Method::Message && all_unreachable {
                    return self.store_offline(At::Tx(stx), req, sender).await;
                }
                let resp = best.unwrap_or_else(|| {
                    reply::to(&req, StatusCode::TEMPORARILY_UNAVAILABLE, &self.cfg)
                });
                if req.method == Method::Message {
                    let code = resp.status.as_u16();
                    self.archive_message(&req, sender.as_ref(), Outcome::Refused(code))
                        .await;
                }
                self.relay(stx, resp);
            }
            Origin::Offline { aor, .. } => {
                tracing::info!(%aor, "offline delivery failed; kept for the next registration");
                let aor = aor.clone();
                self.deliveries.remove(&aor);
            }
            Origin::Notice(_) => {
                let code = best.map_or(480, |r| r.status.as_u16());
                self.notice_done(id, Outcome::Refused(code), NoticeResult::Failed(code))
                    .await;
            }
        }
    }
}
