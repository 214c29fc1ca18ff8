//! The INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) with RFC 6026 §7.2
//! (Accepted state).

use std::time::Duration;

use bytes::Bytes;

use super::{ctx::Ctx, timers::Timer, TxEvent};
use crate::{
    header::HeaderName,
    message::{Request, Response},
    method::Method,
};

#[derive(Debug)]
pub(crate) enum ClientInvite {
    /// INVITE sent; retransmitting (Timer A) with the current interval; Timer B running.
    Calling {
        interval: Duration,
    },
    Proceeding,
    /// A 300-699 was answered with an ACK, which is re-sent for each retransmission.
    Completed {
        ack: Bytes,
    },
    /// RFC 6026: a 2xx was passed up; further 2xx are passed up too, until Timer M.
    Accepted,
    Terminated,
}

impl ClientInvite {
    /// §17.1.1.2: send the INVITE, start B, and A on unreliable transports.
    pub fn start<P: Clone>(ctx: &mut Ctx<'_, P>, request: Bytes) -> Self {
        ctx.send(request);
        ctx.start_default(Timer::B);
        let interval = ctx.duration(Timer::A);
        if !ctx.reliable {
            ctx.start(Timer::A, interval);
        }
        ClientInvite::Calling { interval }
    }

    pub fn on_response<P: Clone>(
        self,
        resp: Response,
        invite: &Request,
        ctx: &mut Ctx<'_, P>,
    ) -> Self {
        let status = resp.status;
        match self {
            ClientInvite::Calling { .. } | ClientInvite::Proceeding => {
                ctx.stop(Timer::A);
                if status.is_provisional() {
                    // §17.1.1.2: Calling → Proceeding; B no longer applies.
                    ctx.stop(Timer::B);
                    ctx.event(TxEvent::Response {
                        tx: ctx.id,
                        response: resp,
                    });
                    return ClientInvite::Proceeding;
                }
                ctx.stop(Timer::B);
                if status.is_success() {
                    // RFC 6026 §8.4: 2xx → Accepted, start M; the TU sends the ACK.
                    ctx.event(TxEvent::Response {
                        tx: ctx.id,
                        response: resp,
                    });
                    ctx.start_default(Timer::M);
                    return ClientInvite::Accepted;
                }
                // §17.1.1.3: 300-699 → send ACK, pass up, Completed with Timer D.
                let ack = build_ack(invite, &resp).to_bytes();
                ctx.send(ack.clone());
                ctx.event(TxEvent::Response {
                    tx: ctx.id,
                    response: resp,
                });
                ctx.start_default(Timer::D);
                ClientInvite::Completed { ack }
            }
            ClientInvite::Completed { ack } => {
                // §17.1.1.2: a retransmitted final response gets the ACK again.
                if status.is_final() && !status.is_success() {
                    ctx.send(ack.clone());
                }
                ClientInvite::Completed { ack }
            }
            ClientInvite::Accepted => {
                // RFC 6026 §8.4: further 2xx (other forks, retransmissions) go to the TU.
                if status.is_success() {
                    ctx.event(TxEvent::Response {
                        tx: ctx.id,
                        response: resp,
                    });
                }
                ClientInvite::Accepted
            }
            ClientInvite::Terminated => ClientInvite::Terminated,
        }
    }

    pub fn on_timer<P: Clone>(self, timer: Timer, request: &Bytes, ctx: &mut Ctx<'_, P>) -> Self {
        match (self, timer) {
            (ClientInvite::Calling { interval }, Timer::A) => {
                // §17.1.1.2: retransmit and double A (no cap for INVITE).
                ctx.send(request.clone());
                ctx.start(Timer::A, interval * 2);
                ClientInvite::Calling {
                    interval: interval * 2,
                }
            }
            (ClientInvite::Calling { .. }, Timer::B) => {
                ctx.stop(Timer::A);
                ctx.event(TxEvent::Timeout { tx: ctx.id });
                ctx.terminated();
                ClientInvite::Terminated
            }
            (ClientInvite::Completed { .. }, Timer::D) | (ClientInvite::Accepted, Timer::M) => {
                ctx.terminated();
                ClientInvite::Terminated
            }
            (state, _) => state,
        }
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self, ClientInvite::Terminated)
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From, the
/// CSeq number and the request's top Via and Route headers, with the response's To.
pub(crate) fn build_ack(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Some(via) = invite.headers.get(&HeaderName::Via) {
        let top = crate::scan::split_commas(via)
            .next()
            .unwrap_or(via)
            .to_owned();
        ack.headers.push(HeaderName::Via, top);
    }
    ack.headers.push(HeaderName::MaxForwards, "70");
    for h in invite.headers.iter() {
        if matches!(
            h.name,
            HeaderName::From | HeaderName::CallId | HeaderName::Route
        ) {
            ack.headers.push_header(h.clone());
        }
    }
    if let Some(to) = resp.headers.get(&HeaderName::To) {
        ack.headers.push(HeaderName::To, to);
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(0);
    ack.headers.push(HeaderName::CSeq, format!("{seq} ACK"));
    ack
}
