//! The pool's lookup of a MESSAGE recipient's devices: their bindings are in Redis, so
//! the read runs as a task of its own and the engine forks the MESSAGE when it comes back
//! (`lanes.rs`). One lookup at a time per recipient, so one recipient's messages are
//! forked in the order they arrived.

use herald_sip::Request;

use super::{lanes::Settled, now_secs, At, Core};
use crate::store::{Aor, Bindings, StoreResult};

/// A MESSAGE waiting for its recipient's devices.
pub(super) struct Waiting {
    at: At,
    req: Request,
    sender: Option<Aor>,
}

/// The devices found, back at the engine.
pub(super) struct Looked {
    recipient: Aor,
    waiting: Waiting,
    bindings: StoreResult<Bindings>,
}

impl Core {
    /// Looks up `recipient`'s devices for a MESSAGE, after any lookup under way for them.
    pub(super) fn look_up_devices(
        &mut self,
        recipient: Aor,
        at: At,
        req: Request,
        sender: Option<Aor>,
    ) {
        let w = Waiting { at, req, sender };
        if let Some(w) = self.looking_up.enter(&recipient, w) {
            self.start_lookup(recipient, w);
        }
    }

    fn start_lookup(&self, recipient: Aor, waiting: Waiting) {
        let store = self.store.clone();
        let back = self.settled.clone();
        tokio::spawn(async move {
            let bindings = store.bindings(&recipient, now_secs()).await;
            let _ = back.send(Settled::Looked(Looked {
                recipient,
                waiting,
                bindings,
            }));
        });
    }

    /// Devices found: fork (or store) the MESSAGE, then start the recipient's next lookup.
    pub(super) async fn looked_up(&mut self, l: Looked) {
        let w = l.waiting;
        self.message_to(w.at, w.req, w.sender, l.recipient.clone(), l.bindings)
            .await;
        if let Some(next) = self.looking_up.next(&l.recipient) {
            self.start_lookup(l.recipient, next);
        }
    }
}
