//! The non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6).

use std::time::{Duration, Instant};

use super::{ctx::Ctx, timers::Timer, TxEvent};
use crate::message::Response;

#[derive(Debug)]
pub(crate) enum ClientNonInvite {
    /// Request sent; retransmitting (Timer E) with the current interval.
    Trying {
        interval: Duration,
    },
    /// A provisional response arrived; retransmissions continue at T2.
    Proceeding,
    /// Final response passed up; absorbing its retransmissions until Timer K fires at
    /// `until`. The layer keeps a transaction in this state in compact form (its key
    /// only; no machine, no request, no timer) and ends it at `until`.
    Completed {
        until: Instant,
    },
    Terminated,
}

impl ClientNonInvite {
    /// §17.1.2.2: send the request, start F, and E on unreliable transports.
    pub fn start<P: Clone>(ctx: &mut Ctx<'_, P>, request: bytes::Bytes) -> Self {
        ctx.send(request);
        ctx.start_default(Timer::F);
        let interval = ctx.duration(Timer::E);
        if !ctx.reliable {
            ctx.start(Timer::E, interval);
        }
        ClientNonInvite::Trying { interval }
    }

    pub fn on_response<P: Clone>(self, resp: Response, ctx: &mut Ctx<'_, P>) -> Self {
        match self {
            ClientNonInvite::Trying { .. } | ClientNonInvite::Proceeding => {
                let status = resp.status;
                ctx.event(TxEvent::Response {
                    tx: ctx.id,
                    response: resp,
                });
                if status.is_provisional() {
                    // §17.1.2.2: Trying → Proceeding on 1xx.
                    return ClientNonInvite::Proceeding;
                }
                // §17.1.2.2: final response → Completed until K (0 on reliable:
                // terminated at once).
                ctx.stop(Timer::E);
                ctx.stop(Timer::F);
                let k = ctx.duration(Timer::K);
                if k.is_zero() {
                    ctx.terminated();
                    return ClientNonInvite::Terminated;
                }
                ClientNonInvite::Completed { until: ctx.now + k }
            }
            // Retransmissions of the final response are absorbed.
            other => other,
        }
    }

    pub fn on_timer<P: Clone>(
        self,
        timer: Timer,
        request: &bytes::Bytes,
        ctx: &mut Ctx<'_, P>,
    ) -> Self {
        match (self, timer) {
            (ClientNonInvite::Trying { interval }, Timer::E) => {
                // §17.1.2.2: retransmit, double the interval up to T2.
                ctx.send(request.clone());
                let next = (interval * 2).min(ctx.cfg.t2);
                ctx.start(Timer::E, next);
                ClientNonInvite::Trying { interval: next }
            }
            (ClientNonInvite::Proceeding, Timer::E) => {
                // §17.1.2.2: in Proceeding, retransmit every T2.
                ctx.send(request.clone());
                ctx.start(Timer::E, ctx.cfg.t2);
                ClientNonInvite::Proceeding
            }
            (ClientNonInvite::Trying { .. } | ClientNonInvite::Proceeding, Timer::F) => {
                // §17.1.2.2: Timer F → timeout reported to the TU.
                ctx.stop(Timer::E);
                ctx.event(TxEvent::Timeout { tx: ctx.id });
                ctx.terminated();
                ClientNonInvite::Terminated
            }
            (state, _) => state,
        }
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self, ClientNonInvite::Terminated)
    }
}
