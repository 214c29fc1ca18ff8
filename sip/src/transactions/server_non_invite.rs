//! The non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8).

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
    /// The final response was sent; it is re-sent for each retransmission until Timer J.
    Completed {
        last: Bytes,
    },
    Terminated,
}

impl ServerNonInvite {
    pub fn on_retransmission<P: Clone>(self, ctx: &mut Ctx<'_, P>) -> Self {
        match &self {
            ServerNonInvite::Proceeding { last } | ServerNonInvite::Completed { last } => {
                ctx.send(last.clone())
            }
            ServerNonInvite::Trying | ServerNonInvite::Terminated => {}
        }
        self
    }

    /// The TU's response. §17.2.2: 1xx keeps Proceeding; a final response completes and
    /// starts J (0 on reliable transports) — or, `stateless` (§8.2.7, for answers that are
    /// safe to repeat, such as a challenge), ends the transaction at once, so that a
    /// retransmitted request is a new request and is answered again.
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
                if stateless {
                    ctx.terminated();
                    return Ok(ServerNonInvite::Terminated);
                }
                ctx.start_default(Timer::J);
                Ok(ServerNonInvite::Completed { last: bytes })
            }
            done => Err((done, TxError::AlreadyAnswered)),
        }
    }

    pub fn on_timer<P: Clone>(self, timer: Timer, ctx: &mut Ctx<'_, P>) -> Self {
        match (self, timer) {
            (ServerNonInvite::Completed { .. }, Timer::J) => {
                ctx.terminated();
                ServerNonInvite::Terminated
            }
            (state, _) => state,
        }
    }

    pub fn is_terminated(&self) -> bool {
        matches!(self, ServerNonInvite::Terminated)
    }
}
