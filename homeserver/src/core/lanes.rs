//! Work the engine hands to tasks of their own when the store is across a network (the
//! pool's Redis): a REGISTER's read-apply-write of bindings, a MESSAGE's lookup of the
//! recipient's devices. The engine does not wait for those round trips; it goes on with
//! other users and finishes the request when the result comes back (`Settled`). Per AOR
//! such work runs one at a time, in arrival order (`Lanes`), so one user's REGISTERs
//! apply in order and one recipient's MESSAGEs are forked in order.

use std::collections::{HashMap, VecDeque};

use tokio::sync::mpsc;

use super::{recipient::Looked, register::Done};
use crate::store::Aor;

/// One queue per AOR with work under way; an AOR without work has no entry.
pub(super) struct Lanes<T> {
    busy: HashMap<Aor, VecDeque<T>>,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Lanes {
            busy: HashMap::new(),
        }
    }
}

impl<T> Lanes<T> {
    /// `Some(item)` when `aor`'s lane was free: start it now (the lane is taken until
    /// [`next`](Self::next)); `None` when it waits behind the work under way.
    pub(super) fn enter(&mut self, aor: &Aor, item: T) -> Option<T> {
        match self.busy.get_mut(aor) {
            Some(queue) => {
                queue.push_back(item);
                None
            }
            None => {
                self.busy.insert(aor.clone(), VecDeque::new());
                Some(item)
            }
        }
    }

    /// The work under way on `aor`'s lane ended: the next item to start, or `None` (the
    /// lane is free).
    pub(super) fn next(&mut self, aor: &Aor) -> Option<T> {
        let next = self.busy.get_mut(aor).and_then(VecDeque::pop_front);
        if next.is_none() {
            self.busy.remove(aor);
        }
        next
    }
}

/// A result coming back to the engine.
pub(super) enum Settled {
    Registered(Done),
    Looked(Looked),
}

/// The way back: tasks send on it, the engine's loop receives.
pub(super) fn channel() -> (
    mpsc::UnboundedSender<Settled>,
    mpsc::UnboundedReceiver<Settled>,
) {
    mpsc::unbounded_channel()
}

#[cfg(test)]
mod tests {
    use super::Lanes;
    use crate::store::Aor;

    #[test]
    fn one_at_a_time_per_aor_in_order_and_others_go_ahead() {
        let bob = Aor::parse("bob@example.com").unwrap();
        let ann = Aor::parse("ann@example.com").unwrap();
        let mut lanes = Lanes::default();
        assert_eq!(lanes.enter(&bob, 1), Some(1));
        assert_eq!(lanes.enter(&bob, 2), None);
        assert_eq!(lanes.enter(&ann, 10), Some(10), "another AOR does not wait");
        assert_eq!(lanes.enter(&bob, 3), None);
        assert_eq!(lanes.next(&bob), Some(2));
        assert_eq!(lanes.next(&bob), Some(3));
        assert_eq!(lanes.next(&bob), None);
        assert_eq!(lanes.enter(&bob, 4), Some(4), "a freed lane starts at once");
        assert_eq!(lanes.next(&ann), None);
        assert_eq!(lanes.next(&bob), None);
        assert!(lanes.busy.is_empty());
    }
}
