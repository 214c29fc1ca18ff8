//! A pool's ring changes: presence state follows ownership. Subscriptions and
//! publications of presentities this home server no longer owns leave its memory (their
//! records stay in the store for the new owner); those of presentities it now owns are
//! loaded from the store, and their dialogs continue — CSeq moved ahead, a full-state
//! NOTIFY sent — without the watchers subscribing again.

use super::{Core, Owns};
use crate::store::Aor;

impl Core {
    pub(super) async fn on_ownership(&mut self, owns: Owns) {
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
        let before = self.watch.subs.len();
        self.load_presence(owns.as_ref()).await;
        tracing::info!(
            released = released.len(),
            adopted = self.watch.subs.len() - before,
            "presence ownership changed"
        );
    }
}
