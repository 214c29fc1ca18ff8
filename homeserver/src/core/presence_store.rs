//! Presence state in the store: what changed in an event is written behind after it, and
//! everything is reloaded at start (the same dialogs continue, CSeqs moved ahead).

use std::collections::HashSet;

use super::{now_secs, presence::Sub, Core};
use crate::{
    presence::{
        pidf::{parse as parse_pidf, to_xml, PidfLimits},
        publish::Published,
        rules::Handling,
        subscription::{Kind, Subscription},
    },
    store::{Aor, PublicationRecord, SubscriptionRecord},
};

/// How far CSeqs jump after a reload (more than the NOTIFYs one dialog gets between two
/// saves of its record).
const CSEQ_JUMP: u32 = 100_000;

impl Core {
    /// Writes what changed in this event to the store (behind: nothing waits for it).
    pub(super) async fn save_presence(&mut self) {
        for key in std::mem::take(&mut self.watch.to_forget) {
            if let Err(e) = self.store.put_subscription(&key, None).await {
                tracing::error!(error = %e, "subscription not removed from the store");
            }
        }
        for id in std::mem::take(&mut self.watch.to_save) {
            let Some(sub) = self.watch.subs.get(&id) else {
                continue;
            };
            let rec = SubscriptionRecord {
                key: sub.s.key(),
                expires_at: sub.s.expires_at,
                data: sub.s.to_record(sub.handling.name()),
            };
            if let Err(e) = self.store.put_subscription(&rec.key, Some(&rec)).await {
                tracing::error!(error = %e, "subscription not saved");
            }
        }
        for aor in std::mem::take(&mut self.watch.pubs_to_save) {
            let recs: Vec<PublicationRecord> = self
                .watch
                .pubs
                .get(&aor)
                .into_iter()
                .flatten()
                .map(|p| PublicationRecord {
                    etag: p.etag.clone(),
                    pidf: to_xml(&p.doc),
                    at: p.at,
                    expires_at: p.expires_at,
                })
                .collect();
            if let Err(e) = self.store.replace_publications(&aor, &recs).await {
                tracing::error!(error = %e, "publications not saved");
            }
        }
    }

    /// Reloads publications and subscriptions after a restart, and sends every watcher
    /// the current state (it may have changed meanwhile). CSeqs jump ahead: NOTIFYs sent
    /// since the last save are not counted in the record.
    pub(super) async fn restore_presence(&mut self) {
        if self.cfg.presence_by_ownership {
            // A pool's home server loads what it owns once it knows the ring.
            return;
        }
        self.load_presence(&|_: &Aor| true).await;
    }

    /// Loads the publications and subscriptions of presentities `owned` that are not in
    /// memory yet, and schedules a full-state NOTIFY for each loaded subscription.
    pub(super) async fn load_presence(&mut self, owned: &(dyn Fn(&Aor) -> bool + Send + Sync)) {
        let now = now_secs();
        let limits = PidfLimits::default();
        match self.store.publications(now).await {
            Ok(pubs) => {
                // By entity tag: a publication taken here before the adoption (the
                // front ends' ring moved first) stays beside the devices' others.
                let known: HashSet<(Aor, String)> = self
                    .watch
                    .pubs
                    .iter()
                    .flat_map(|(a, ps)| ps.iter().map(|p| (a.clone(), p.etag.clone())))
                    .collect();
                for (aor, p) in pubs {
                    if !owned(&aor) || known.contains(&(aor.clone(), p.etag.clone())) {
                        continue;
                    }
                    self.watch.bodies.remove(&aor);
                    let Ok(doc) = parse_pidf(p.pidf.as_bytes(), &limits) else {
                        continue;
                    };
                    self.watch.pubs.entry(aor).or_default().push(Published {
                        etag: p.etag,
                        doc,
                        at: p.at,
                        expires_at: p.expires_at,
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "publications not reloaded"),
        }
        let records = match self.store.subscriptions(now).await {
            Ok(r) => r,
            Err(e) => return tracing::error!(error = %e, "subscriptions not reloaded"),
        };
        let known: HashSet<String> = self.watch.subs.values().map(|s| s.s.key()).collect();
        let mut n = 0;
        for r in records {
            if known.contains(&r.key) {
                continue;
            }
            let Some((mut s, handling)) = Subscription::from_record(&r.data) else {
                tracing::warn!(key = %r.key, "unreadable subscription record skipped");
                continue;
            };
            if !owned(&s.target) {
                continue;
            }
            n += 1;
            s.cseq = s.cseq.saturating_add(CSEQ_JUMP);
            // Watchers drop documents whose version does not grow (RFC 3857, 4662).
            s.version = s.version.saturating_add(CSEQ_JUMP);
            let kind = s.kind;
            let owner = s.target.clone();
            let buddies = if kind == Kind::List {
                self.buddies(&owner).await
            } else {
                Vec::new()
            };
            let handling = Handling::from_name(&handling).unwrap_or(Handling::Allow);
            let id = self.watch.insert(Sub::new(s, handling, buddies));
            self.schedule(id);
        }
        if n > 0 {
            tracing::info!(subscriptions = n, "presence reloaded");
        }
    }
}
