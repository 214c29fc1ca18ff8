//! A pool's ring changes: presence state follows ownership, fenced by the membership
//! lease. The pool gives ownership in two steps (`run::follow_ownership` in the binary):
//! on every new membership epoch each home server first *releases* what the new ring no
//! longer gives it — subscriptions and publications leave its memory, their records stay
//! in the store — and acknowledges the epoch; only once every live home server has
//! acknowledged it does a server *adopt* what it gained: it loads those records and their
//! dialogs continue (CSeq moved ahead, a full-state NOTIFY) without the watchers
//! subscribing again. So two home servers never both hold a subscription.
//!
//! A server whose lease runs out (cut off from Redis, stopped, swapped out: the pool will
//! count it gone and another server will adopt its presentities) drops all its presence
//! state the first time it notices and refuses presence work until ownership is given
//! again, so a returning server never acts on what it held before.

use super::{Core, Owns};
use crate::store::Aor;

/// A step of a ring change.
pub enum Ownership {
    /// Drop the presence state of presentities `Owns` does not cover.
    Release(Owns),
    /// Load (from the store) the presence state of presentities `Owns` covers.
    Adopt(Owns),
}

impl Core {
    pub(super) async fn on_ownership(&mut self, step: Ownership) {
        match step {
            Ownership::Release(owns) => {
                // Anything held across a lapse goes first, owned or not.
                self.may_act();
                let (subs, pubs) = self.release_unowned(owns.as_ref());
                if let Some(lease) = &self.cfg.lease {
                    if lease.holds() {
                        if self.fence.dropped {
                            self.fence.regained_ms = super::now_ms();
                        }
                        self.fence.lapses_seen = lease.lapses();
                        self.fence.dropped = false;
                    }
                }
                tracing::info!(subs, pubs, "presence released for a ring change");
            }
            Ownership::Adopt(owns) => {
                if !self.may_act() {
                    return;
                }
                let before = self.watch.subs.len();
                self.load_presence(owns.as_ref()).await;
                tracing::info!(
                    adopted = self.watch.subs.len() - before,
                    "presence adopted for a ring change"
                );
            }
        }
    }

    /// Drops from memory the subscriptions and publications of presentities `owns` does
    /// not cover; returns how many of each.
    fn release_unowned(&mut self, owns: &dyn Fn(&Aor) -> bool) -> (usize, usize) {
        let released: Vec<u64> = self
            .watch
            .subs
            .iter()
            .filter(|(_, s)| !owns(&s.s.target))
            .map(|(id, _)| *id)
            .collect();
        for id in &released {
            self.watch.release(*id);
        }
        let gone: Vec<Aor> = self
            .watch
            .pubs
            .keys()
            .filter(|a| !owns(a))
            .cloned()
            .collect();
        for aor in &gone {
            self.watch.pubs.remove(aor);
            self.watch.bodies.remove(aor);
        }
        (released.len(), gone.len())
    }

    /// Whether this home server may act for the presentities it holds: always outside a
    /// pool; in a pool while its lease holds and has not lapsed since ownership was last
    /// given. The first time it finds otherwise it drops all presence state.
    pub(super) fn may_act(&mut self) -> bool {
        let Some(lease) = self.cfg.lease.clone() else {
            return true;
        };
        if self.fence.dropped {
            return false;
        }
        if lease.holds() && lease.lapses() == self.fence.lapses_seen {
            return true;
        }
        let (subs, pubs) = self.release_unowned(&|_: &Aor| false);
        self.fence.dropped = true;
        self.fence
            .muted
            .extend(self.watch.notify_tx.keys().copied());
        metrics::counter!("herald_presence_fenced_total").increment(1);
        tracing::warn!(
            subs,
            pubs,
            "membership lease lapsed: presence state dropped; presence refused until the ring gives ownership again"
        );
        false
    }
}

/// Where the engine stands with its lease.
#[derive(Debug, Default)]
pub(super) struct Fence {
    /// The lease's lapse count when ownership was last given.
    pub lapses_seen: u64,
    /// Presence state was dropped (lease lapsed); nothing is held until the next release.
    pub dropped: bool,
    /// NOTIFY transactions in flight when the lease lapsed: never retransmitted.
    pub muted: std::collections::HashSet<herald_sip::transactions::TxId>,
    /// Wall-clock milliseconds when ownership was given again after a lapse; 0: never.
    pub regained_ms: u64,
}

impl Fence {
    /// Whether a request the front end received at `received_at_us` (wall clock, µs)
    /// came before ownership was given again after a lapse. Such a request was routed
    /// while another server owned its presentity, or it waited in this server's socket
    /// while it was stopped (the front end has answered it 503 by now): acting on it
    /// would publish a state that is older than the other server's. Front ends' and home
    /// servers' clocks must agree to well within the lease (seconds); NTP does.
    pub fn predates_ownership(&self, received_at_us: u64) -> bool {
        received_at_us / 1000 < self.regained_ms
    }
}

#[cfg(test)]
mod tests {
    use super::Fence;

    #[test]
    fn only_requests_received_before_ownership_came_back_predate_it() {
        let mut f = Fence::default();
        assert!(
            !f.predates_ownership(1_000_000),
            "never lapsed: nothing is fenced"
        );
        f.regained_ms = 5_000;
        assert!(f.predates_ownership(4_999_999), "received 1 µs before");
        assert!(!f.predates_ownership(5_000_000), "received at the moment");
        assert!(!f.predates_ownership(7_000_000), "received after");
    }
}
