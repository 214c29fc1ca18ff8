//! The non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8).

use std::time::Instant;

use bytes::Bytes;

use super::{ctx::Ctx, timers::Timer, TxError};
use crate::status::StatusCode;

#[derive(Debug)]
pub(crate) enum ServerNonInvite {
    /// Request passed to the TU; nothing sent yet, retransmissions are absorbed.
    Trying,
    /// A provisional response was sent; it is re-sent for each retransmitted request.
    Proceeding {
        last: Bytes,
    },
    /// The final response was sent; it is re-sent for each retransmission until Timer J
    /// fires at `until`. The layer keeps a transaction in this state in compact form
    /// (its key, `last` and peer; no machine, no timer) and ends it at `until`.
    Completed {
        last: Bytes,
        until: Instant,
    },
    Terminated,
}

impl ServerNonInvite {
    pub fn on_retransmission<P: Clone>(self, ctx: &mut Ctx<'_, P>) -> Self {
        match &self {
            ServerNonInvite::Proceeding { last } | ServerNonInvite::Completed { last, .. } => {
                ctx.send(last.clone())
            }
            ServerNonInvite::Trying | ServerNonInvite::Terminated => {}
        }
        self
    }

    /// The TU's response. §17.2.2: 1xx keeps Proceeding; a final response completes until
    /// Timer J — on reliable transports, where J is 0, it ends the transaction at once;
    /// so does `stateless` (§8.2.7, for answers that are safe to repeat, such as a
    /// challenge), so that a retransmitted request is a new request and is answered again.
    pub fn on_tu_response<P: Clone>(
        self,
        status: StatusCode,
        bytes: Bytes,
        stateless: bool,
        ctx: &mut Ctx<'_, P>,
    ) -> Result<Self, (Self, TxError)> {
        match self {
            ServerNonInvite::Trying | ServerNonInvite::Proceeding { .. } => {
                ctx.send(bytes.clone());
                if status.is_provisional() {
                    return Ok(ServerNonInvite::Proceeding { last: bytes });
                }
                let j = ctx.duration(Timer::J);
                if stateless || j.is_zero() {
                    ctx.terminated();
                    return Ok(ServerNonInvite::Terminated);
                }
                Ok(ServerNonInvite::Completed {
                    last: bytes,
                    until: ctx.now + j,
                })
            }
            done => Err((done, TxError::AlreadyAnswered)),
        }
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self, ServerNonInvite::Terminated)
    }
}
