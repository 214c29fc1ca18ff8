//! What each watcher is sent: the composed PIDF of a presentity (composed once per
//! change), offline for those who may not see it, watcher information, and the RLMI
//! multipart body of a buddy-list NOTIFY (full state first, then only what changed).

use std::collections::HashSet;

use bytes::Bytes;

use super::{now_secs, presence::aor_of_uri, Core};
use crate::{
    presence::{
        compose::{compose, Observed},
        documents::{self, Instance, Resource, WatcherEntry},
        pidf::{to_xml, Pidf},
        publish::Published,
        rules::Handling,
        subscription::{Kind, State},
    },
    store::Aor,
};

impl Core {
    /// The composed presence of `aor` as the server sees it now.
    pub(super) async fn presence_of(&mut self, aor: &Aor) -> Pidf {
        let now = now_secs();
        let pubs: Vec<_> = self
            .watch
            .pubs
            .get(aor)
            .map(|v| {
                v.iter()
                    .filter(|p| p.expires_at > now)
                    .map(Published::publication)
                    .collect()
            })
            .unwrap_or_default();
        let registered = self
            .store
            .bindings(aor, now)
            .await
            .map(|b| !b.is_empty())
            .unwrap_or(false);
        self.watch.registered.insert(aor.clone(), registered);
        let seen = Observed {
            registered,
            in_call: self.watch.in_call.get(aor).is_some_and(|n| *n > 0),
        };
        compose(&format!("sip:{aor}"), &pubs, seen)
    }

    /// The PIDF document of `aor`, composed once per change and shared by every NOTIFY
    /// until the next change.
    pub(super) async fn presence_xml(&mut self, aor: &Aor) -> Bytes {
        if let Some(b) = self.watch.bodies.get(aor) {
            return b.clone();
        }
        let doc = Bytes::from(to_xml(&self.presence_of(aor).await));
        self.watch.bodies.insert(aor.clone(), doc.clone());
        doc
    }

    /// What a watcher who may not see `aor` is shown: offline.
    fn offline_of(aor: &Aor) -> Pidf {
        compose(&format!("sip:{aor}"), &[], Observed::default())
    }

    pub(super) async fn notify_body(&mut self, id: u64) -> Option<Option<(String, Bytes)>> {
        let sub = self.watch.subs.get(&id)?;
        let (kind, target, state, handling) =
            (sub.s.kind, sub.s.target.clone(), sub.s.state, sub.handling);
        Some(match kind {
            Kind::Presence if state == State::Pending => None,
            Kind::Presence => {
                let doc = if handling == Handling::PoliteBlock {
                    Bytes::from(to_xml(&Self::offline_of(&target)))
                } else {
                    self.presence_xml(&target).await
                };
                Some(("application/pidf+xml".into(), doc))
            }
            Kind::Winfo => {
                let entries: Vec<WatcherEntry> = self
                    .watch
                    .watchers(&target)
                    .into_iter()
                    .map(|(wid, w)| WatcherEntry {
                        id: format!("w{wid}"),
                        uri: format!("sip:{}", w.s.watcher),
                        status: if w.s.state == State::Pending {
                            "pending"
                        } else {
                            "active"
                        },
                        event: if w.s.state == State::Pending {
                            "subscribe"
                        } else {
                            "approved"
                        },
                    })
                    .collect();
                let sub = self.watch.subs.get_mut(&id)?;
                let version = sub.s.version;
                sub.s.version += 1;
                let doc = documents::watcherinfo(&format!("sip:{target}"), version, &entries);
                Some(("application/watcherinfo+xml".into(), Bytes::from(doc)))
            }
            Kind::List => Some(self.list_body(id).await?),
        })
    }

    async fn list_body(&mut self, id: u64) -> Option<(String, Bytes)> {
        let sub = self.watch.subs.get(&id)?;
        let (buddies, changed, watcher, list_uri) = (
            sub.buddies.clone(),
            sub.changed.clone(),
            sub.s.watcher.clone(),
            sub.s.local_uri.clone(),
        );
        let full = changed.as_ref().is_none_or(|c| c.is_empty());
        let mut resources = Vec::new();
        for b in &buddies {
            let Some(aor) = aor_of_uri(&b.uri) else {
                continue;
            };
            if !full && !changed.as_ref().is_some_and(|c| c.contains(&aor)) {
                continue;
            }
            let exists = self.store.user(&aor).await.ok().flatten().is_some();
            let instance = if !exists {
                Instance::Terminated("noresource")
            } else {
                match self.authorize(&aor, &watcher).await {
                    Handling::Block => Instance::Terminated("rejected"),
                    Handling::Confirm => Instance::Pending,
                    Handling::PoliteBlock => Instance::Active(to_xml(&Self::offline_of(&aor))),
                    Handling::Allow => Instance::Active(
                        String::from_utf8_lossy(&self.presence_xml(&aor).await).into_owned(),
                    ),
                }
            };
            resources.push(Resource {
                uri: b.uri.clone(),
                name: b.display_name.clone(),
                instance,
            });
        }
        let sub = self.watch.subs.get_mut(&id)?;
        let version = sub.s.version;
        sub.s.version += 1;
        // After the first NOTIFY, changes are sent as partial state.
        if sub.changed.is_none() {
            sub.changed = Some(HashSet::new());
        }
        let body = documents::rlmi(&list_uri, "Buddies", version, full, &resources);
        Some((documents::rlmi_content_type(), Bytes::from(body)))
    }
}
