//! The INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) with RFC 6026 §7.1
//! (Accepted state: 2xx retransmission is the TU's job; ACKs for it go to the TU).

use std::time::Duration;

use bytes::Bytes;

use super::{ctx::Ctx, timers::Timer, TxError, TxEvent};
use crate::{message::Request, status::StatusCode};

#[derive(Debug)]
pub(crate) enum ServerInvite {
    /// Last provisional response sent (re-sent on INVITE retransmissions).
    Proceeding {
        last: Bytes,
    },
    /// A 300-699 was sent; retransmitted on Timer G until an ACK or Timer H.
    Completed {
        last: Bytes,
        interval: Duration,
    },
    /// ACK received; absorbing ACK retransmissions until Timer I.
    Confirmed,
    /// RFC 6026: a 2xx was sent; INVITE retransmissions are absorbed, ACKs go to the TU.
    Accepted,
    Terminated,
}

impl ServerInvite {
    /// §17.2.1: the server transaction sends 100 Trying at once (Herald's TU never promises
    /// an answer within 200 ms).
    pub fn start<P: Clone>(trying: Bytes, ctx: &mut Ctx<'_, P>) -> Self {
        ctx.send(trying.clone());
        ServerInvite::Proceeding { last: trying }
    }

    pub fn on_retransmission<P: Clone>(self, ctx: &mut Ctx<'_, P>) -> Self {
        match &self {
            ServerInvite::Proceeding { last } | ServerInvite::Completed { last, .. } => {
                ctx.send(last.clone())
            }
            _ => {}
        }
        self
    }

    pub fn on_ack<P: Clone>(self, ack: Request, ctx: &mut Ctx<'_, P>) -> Self {
        match self {
            ServerInvite::Completed { .. } => {
                // §17.2.1: ACK → Confirmed; stop G and H, start I.
                ctx.stop(Timer::G);
                ctx.stop(Timer::H);
                ctx.start_default(Timer::I);
                ServerInvite::Confirmed
            }
            ServerInvite::Accepted => {
                // RFC 6026 §7.1: the ACK for a 2xx belongs to the TU.
                ctx.event(TxEvent::Ack {
                    tx: Some(ctx.id),
                    request: ack,
                });
                ServerInvite::Accepted
            }
            other => other,
        }
    }

    pub fn on_tu_response<P: Clone>(
        self,
        status: StatusCode,
        bytes: Bytes,
        ctx: &mut Ctx<'_, P>,
    ) -> Result<Self, (Self, TxError)> {
        match self {
            ServerInvite::Proceeding { .. } => {
                ctx.send(bytes.clone());
                if status.is_provisional() {
                    return Ok(ServerInvite::Proceeding { last: bytes });
                }
                if status.is_success() {
                    // RFC 6026 §7.1: 2xx → Accepted, start L.
                    ctx.start_default(Timer::L);
                    return Ok(ServerInvite::Accepted);
                }
                // §17.2.1: 300-699 → Completed; G on unreliable transports, H always.
                let interval = ctx.duration(Timer::G);
                if !ctx.reliable {
                    ctx.start(Timer::G, interval);
                }
                ctx.start_default(Timer::H);
                Ok(ServerInvite::Completed {
                    last: bytes,
                    interval,
                })
            }
            ServerInvite::Accepted if status.is_success() => {
                // The TU retransmits its 2xx (or sends another fork's) through here.
                ctx.send(bytes);
                Ok(ServerInvite::Accepted)
            }
            other => Err((other, TxError::AlreadyAnswered)),
        }
    }

    pub fn on_timer<P: Clone>(self, timer: Timer, ctx: &mut Ctx<'_, P>) -> Self {
        match (self, timer) {
            (ServerInvite::Completed { last, interval }, Timer::G) => {
                ctx.send(last.clone());
                let next = (interval * 2).min(ctx.cfg.t2);
                ctx.start(Timer::G, next);
                ServerInvite::Completed {
                    last,
                    interval: next,
                }
            }
            (ServerInvite::Completed { .. }, Timer::H) => {
                // §17.2.1: no ACK → the TU is told of the failure.
                ctx.stop(Timer::G);
                ctx.event(TxEvent::Timeout { tx: ctx.id });
                ctx.terminated();
                ServerInvite::Terminated
            }
            (ServerInvite::Confirmed, Timer::I) | (ServerInvite::Accepted, Timer::L) => {
                ctx.terminated();
                ServerInvite::Terminated
            }
            (state, _) => state,
        }
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self, ServerInvite::Terminated)
    }
}
