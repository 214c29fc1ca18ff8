//! The engine's presence state and the NOTIFY machinery: publications and subscriptions
//! by presentity, and when each watcher is sent what `presence_body.rs` builds — one
//! NOTIFY in flight per subscription, changes coalesced under the minimum interval so
//! that the last state always arrives, expiry by the sweep. `presence_store.rs` saves
//! and reloads the state.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, HashSet},
    sync::Arc,
    time::Instant,
};

use bytes::Bytes;
use herald_sip::transactions::TxId;

use super::{now_secs, Core};
use crate::{
    flow,
    presence::{
        lists::Buddy,
        publish::Published,
        rules::Handling,
        subscription::{Ending, Kind, State, Subscription},
    },
    store::Aor,
};

/// A subscription and what the engine tracks about it.
pub(super) struct Sub {
    pub s: Subscription,
    /// Allow or PoliteBlock for active presence subscriptions.
    pub handling: Handling,
    pub in_flight: Option<TxId>,
    /// Something changed since the last NOTIFY.
    pub dirty: bool,
    pub last_sent: Option<Instant>,
    /// List subscriptions: the buddies, and those changed since the last NOTIFY
    /// (`None`: send the full state).
    pub buddies: Vec<Buddy>,
    pub changed: Option<HashSet<Aor>>,
}

impl Sub {
    /// A subscription with nothing sent yet.
    pub fn new(s: Subscription, handling: Handling, buddies: Vec<Buddy>) -> Sub {
        Sub {
            s,
            handling,
            in_flight: None,
            dirty: false,
            last_sent: None,
            buddies,
            changed: None,
        }
    }
}

#[derive(Default)]
pub(super) struct Watch {
    /// Boxed: a resize of the map moves pointers, not whole subscriptions (and does not
    /// double their memory for a moment).
    pub subs: HashMap<u64, Box<Sub>>,
    /// Presence and list subscriptions watching each presentity.
    pub watchers_of: HashMap<Aor, Vec<u64>>,
    /// Winfo subscriptions of each user.
    pub winfo_of: HashMap<Aor, Vec<u64>>,
    /// hash(Call-ID, our tag) → subscription (checked against the subscription's own
    /// fields on lookup, so a collision cannot mix dialogs up).
    pub dialogs: HashMap<u64, u64>,
    pub pubs: HashMap<Aor, Vec<Published>>,
    pub due: BinaryHeap<Reverse<(Instant, u64)>>,
    pub notify_tx: HashMap<TxId, u64>,
    /// Calls through the server: Call-ID → the local parties; and calls per user.
    pub calls: HashMap<String, (Vec<Aor>, u64)>,
    pub in_call: HashMap<Aor, u32>,
    /// Whether each watched presentity was registered at the last look (for automatic
    /// presence when registrations expire).
    pub registered: HashMap<Aor, bool>,
    /// Composed PIDF per presentity, until its next change.
    pub bodies: HashMap<Aor, Bytes>,
    /// Store writes to make after the current event: subscriptions to save, dialog keys
    /// to forget, presentities whose publications changed.
    pub to_save: HashSet<u64>,
    pub to_forget: Vec<String>,
    pub pubs_to_save: HashSet<Aor>,
    /// Live subscriptions per watcher (for the per-user cap).
    pub per_watcher: HashMap<Aor, u32>,
    pub next: u64,
}

impl Watch {
    /// Every AOR a subscription is indexed under.
    fn keys(sub: &Sub) -> Vec<Aor> {
        match sub.s.kind {
            Kind::Presence => vec![sub.s.target.clone()],
            Kind::List => sub
                .buddies
                .iter()
                .filter_map(|b| aor_of_uri(&b.uri))
                .collect(),
            Kind::Winfo => Vec::new(),
        }
    }

    pub fn insert(&mut self, sub: Sub) -> u64 {
        *self.per_watcher.entry(sub.s.watcher.clone()).or_default() += 1;
        self.next += 1;
        let id = self.next;
        for k in Self::keys(&sub) {
            self.watchers_of.entry(k).or_default().push(id);
        }
        if sub.s.kind == Kind::Winfo {
            self.winfo_of
                .entry(sub.s.target.clone())
                .or_default()
                .push(id);
        }
        self.dialogs
            .insert(dialog_key(&sub.s.call_id, &sub.s.local_tag), id);
        self.subs.insert(id, Box::new(sub));
        self.to_save.insert(id);
        id
    }

    /// Gives a list subscription a new set of buddies, re-indexed in place (same id, so a
    /// NOTIFY in flight or queued still finds it); the next NOTIFY is full state.
    pub fn set_buddies(&mut self, id: u64, buddies: Vec<Buddy>) {
        let Some(sub) = self.subs.get(&id) else {
            return;
        };
        for k in Self::keys(sub) {
            drop_id(&mut self.watchers_of, &k, id);
        }
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.buddies = buddies;
        sub.changed = None;
        for k in Self::keys(sub) {
            self.watchers_of.entry(k).or_default().push(id);
        }
    }

    /// The subscription of the dialog (Call-ID, our tag).
    pub fn dialog(&self, call_id: &str, local_tag: &str) -> Option<u64> {
        let id = *self.dialogs.get(&dialog_key(call_id, local_tag))?;
        let s = &self.subs.get(&id)?.s;
        (s.call_id == call_id && s.local_tag == local_tag).then_some(id)
    }

    /// Drops a subscription from memory only (another home server now owns it; its
    /// record stays in the store for that one).
    pub fn release(&mut self, id: u64) {
        if self.remove(id).is_some() {
            self.to_forget.pop();
        }
    }

    pub fn remove(&mut self, id: u64) -> Option<Box<Sub>> {
        let sub = self.subs.remove(&id)?;
        if let Some(n) = self.per_watcher.get_mut(&sub.s.watcher) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_watcher.remove(&sub.s.watcher);
            }
        }
        for k in Self::keys(&sub) {
            drop_id(&mut self.watchers_of, &k, id);
        }
        if sub.s.kind == Kind::Winfo {
            drop_id(&mut self.winfo_of, &sub.s.target, id);
        }
        self.dialogs
            .remove(&dialog_key(&sub.s.call_id, &sub.s.local_tag));
        self.to_save.remove(&id);
        self.to_forget.push(sub.s.key());
        Some(sub)
    }

    /// The presence subscriptions to `owner` (for watcher information).
    pub fn watchers(&self, owner: &Aor) -> Vec<(u64, &Sub)> {
        self.watchers_of
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|id| self.subs.get(id).map(|s| (*id, &**s)))
            .filter(|(_, s)| s.s.kind == Kind::Presence)
            .collect()
    }
}

fn dialog_key(call_id: &str, local_tag: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (call_id, local_tag).hash(&mut h);
    h.finish()
}

fn drop_id(map: &mut HashMap<Aor, Vec<u64>>, key: &Aor, id: u64) {
    if let Some(v) = map.get_mut(key) {
        v.retain(|x| *x != id);
        if v.is_empty() {
            map.remove(key);
        }
    }
}

/// How long a call counts as going on without its BYE.
const MAX_CALL_SECS: u64 = 12 * 3600;

/// `sip:bob@example.com` → the AOR.
pub(super) fn aor_of_uri(uri: &str) -> Option<Aor> {
    Aor::parse(uri.split(';').next()?)
}

impl Core {
    /// Something about `aor`'s presence changed: its watchers will be told.
    pub(super) fn presentity_changed(&mut self, aor: &Aor) {
        self.watch.bodies.remove(aor);
        let ids = self.watch.watchers_of.get(aor).cloned().unwrap_or_default();
        for id in ids {
            let Some(sub) = self.watch.subs.get_mut(&id) else {
                continue;
            };
            // A pending or politely blocked watcher sees nothing change (not even when).
            let hidden = sub.s.kind == Kind::Presence
                && (sub.s.state == State::Pending || sub.handling == Handling::PoliteBlock);
            if hidden {
                continue;
            }
            if let Some(set) = sub.changed.as_mut() {
                set.insert(aor.clone());
            }
            self.schedule(id);
        }
    }

    /// Watchers of `owner` changed: its winfo subscribers will be told.
    pub(super) fn watchers_changed(&mut self, owner: &Aor) {
        let ids = self.watch.winfo_of.get(owner).cloned().unwrap_or_default();
        for id in ids {
            self.schedule(id);
        }
    }

    /// Marks a subscription for a NOTIFY as soon as its interval allows.
    pub(super) fn schedule(&mut self, id: u64) {
        let min = self.cfg.presence.min_notify_interval;
        let Some(sub) = self.watch.subs.get_mut(&id) else {
            return;
        };
        let was_dirty = sub.dirty;
        sub.dirty = true;
        if sub.in_flight.is_some() || was_dirty {
            return; // sent when the NOTIFY in flight is answered, or already queued
        }
        let at = sub
            .last_sent
            .map_or_else(Instant::now, |t| (t + min).max(Instant::now()));
        self.watch.due.push(Reverse((at, id)));
    }

    /// When the next coalesced NOTIFY is due.
    pub(super) fn next_notify_due(&self) -> Option<Instant> {
        self.watch.due.peek().map(|Reverse((at, _))| *at)
    }

    /// Sends every NOTIFY that is due.
    pub(super) async fn flush_notifies(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = self.watch.due.peek().copied() {
            if at > now {
                break;
            }
            self.watch.due.pop();
            let ready = self
                .watch
                .subs
                .get(&id)
                .is_some_and(|s| s.dirty && s.in_flight.is_none());
            if ready {
                let left = self.watch.subs[&id].s.expires_at.saturating_sub(now_secs());
                self.send_notify(id, Ending::Continues(left)).await;
            }
        }
    }

    /// Sends a NOTIFY with the current state; a terminating one removes the subscription.
    pub(super) async fn send_notify(&mut self, id: u64, ending: Ending) {
        if !self.may_act() {
            return;
        }
        let Some(body) = self.notify_body(id).await else {
            return;
        };
        let Some(flow) = self.watch.subs.get(&id).map(|s| s.s.flow.clone()) else {
            return;
        };
        let via = self.via(&flow);
        let contact = self.contact_uri(&flow);
        let Some(sub) = self.watch.subs.get_mut(&id) else {
            return;
        };
        let req = sub.s.next_notify(
            &via,
            &contact,
            ending,
            body.as_ref().map(|(ct, b)| (ct.as_str(), b.clone())),
        );
        sub.dirty = false;
        sub.last_sent = Some(Instant::now());
        if let Some(set) = sub.changed.as_mut() {
            set.clear();
        }
        let reliable = flow::reliable(&flow);
        match self
            .txl
            .send_request(req, Arc::new(flow), reliable, Instant::now())
        {
            Ok(tx) => {
                self.watch.notify_tx.insert(tx, id);
                if let Some(sub) = self.watch.subs.get_mut(&id) {
                    sub.in_flight = Some(tx);
                }
                self.counters.notifies.increment(1);
            }
            Err(e) => tracing::warn!(error = ?e, sub = id, "NOTIFY not sent"),
        }
        if let Ending::Terminated(_) = ending {
            self.end_subscription(id);
        }
    }

    /// Removes a subscription (its watchers' winfo learns of it).
    pub(super) fn end_subscription(&mut self, id: u64) {
        if let Some(sub) = self.watch.remove(id) {
            tracing::info!(watcher = %sub.s.watcher, target = %sub.s.target, event = sub.s.kind.event(), "subscription ended");
            if sub.s.kind == Kind::Presence {
                self.watchers_changed(&sub.s.target.clone());
            }
        }
    }

    /// The answer to a NOTIFY: the next may go; a 481, a timeout or a dead flow ends the
    /// subscription (RFC 6665 §4.2.2).
    pub(super) fn on_notify_response(&mut self, tx: TxId, code: u16) {
        let Some(id) = self.watch.notify_tx.get(&tx).copied() else {
            return;
        };
        if code < 200 {
            return;
        }
        self.watch.notify_tx.remove(&tx);
        self.fence.muted.remove(&tx);
        if (200..300).contains(&code) {
            let dirty = self.watch.subs.get_mut(&id).is_some_and(|s| {
                s.in_flight = None;
                std::mem::take(&mut s.dirty)
            });
            if dirty {
                self.schedule(id);
            }
            return;
        }
        // A pool's home server whose lease lapsed holds no presence state: the failure of a
        // NOTIFY that waited while it was stopped (a send timed out, Timer F fired) is not
        // its to act on. Ending the subscription here would delete it from the shared
        // store under the server that owns it now (seen: the watcher's subscription gone
        // when the presentity moved back to a home server that had been frozen).
        // Asked here, not for every answer: a 2xx ends nothing.
        if !self.may_act() {
            return;
        }
        tracing::info!(sub = id, code, "NOTIFY refused; subscription ended");
        self.end_subscription(id);
    }

    pub(super) fn is_notify(&self, tx: TxId) -> bool {
        self.watch.notify_tx.contains_key(&tx)
    }

    /// Expires subscriptions and publications; notices registrations that lapsed.
    pub(super) async fn sweep_presence(&mut self) {
        let now = now_secs();
        let expired: Vec<u64> = self
            .watch
            .subs
            .iter()
            .filter(|(_, s)| s.s.expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.send_notify(id, Ending::Terminated("timeout")).await;
        }
        let mut changed = Vec::new();
        for (aor, pubs) in self.watch.pubs.iter_mut() {
            let before = pubs.len();
            pubs.retain(|p| p.expires_at > now);
            if pubs.len() != before {
                changed.push(aor.clone());
                self.watch.pubs_to_save.insert(aor.clone());
            }
        }
        self.watch.pubs.retain(|_, v| !v.is_empty());
        let watched: Vec<(Aor, bool)> = self
            .watch
            .registered
            .iter()
            .map(|(a, r)| (a.clone(), *r))
            .collect();
        for (aor, was) in watched {
            if !self.watch.watchers_of.contains_key(&aor) {
                // Nobody watches: stop following it, and forget its composed document
                // (it would not be corrected when the registration lapses).
                self.watch.registered.remove(&aor);
                self.watch.bodies.remove(&aor);
                continue;
            }
            let now_registered = self
                .store
                .bindings(&aor, now)
                .await
                .map(|b| !b.is_empty())
                .unwrap_or(was);
            if now_registered != was {
                self.watch.registered.insert(aor.clone(), now_registered);
                changed.push(aor);
            }
        }
        for aor in changed {
            self.presentity_changed(&aor);
        }
        // A call whose BYE never came through (a crashed phone) stops showing after a
        // while instead of forever.
        let stale: Vec<String> = self
            .watch
            .calls
            .iter()
            .filter(|(_, (_, at))| now.saturating_sub(*at) > MAX_CALL_SECS)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            self.call_ended(&id);
        }
    }

    /// A call through the server was answered: both local parties are on the phone.
    pub(super) fn call_started(&mut self, call_id: &str, parties: Vec<Aor>) {
        if self.watch.calls.contains_key(call_id) || parties.is_empty() {
            return;
        }
        for p in &parties {
            *self.watch.in_call.entry(p.clone()).or_default() += 1;
            self.presentity_changed(p);
        }
        self.watch
            .calls
            .insert(call_id.to_owned(), (parties, now_secs()));
    }

    /// A call ended (BYE).
    pub(super) fn call_ended(&mut self, call_id: &str) {
        let Some((parties, _)) = self.watch.calls.remove(call_id) else {
            return;
        };
        for p in &parties {
            if let Some(n) = self.watch.in_call.get_mut(p) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.watch.in_call.remove(p);
                }
            }
            self.presentity_changed(p);
        }
    }
}
