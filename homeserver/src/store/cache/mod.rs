//! A caching layer over any [`Store`], for the home server's hot path. The engine awaits
//! store calls in order, so every round trip to the database is time no other request is
//! served; this layer answers the frequent ones from memory:
//! - users: the whole table is held in memory, loaded at start and again whenever the
//!   store's users version changes (checked every second), so a change made with the CLI
//!   in another process applies within a second. A lookup of a known user never reaches
//!   the database, nor does that of an unknown name while the version has not moved
//!   (read at most every 25 ms), so probing names costs the database next to nothing
//!   and an unknown name takes the time a real user does; a user added a moment ago by
//!   another process is read from the database until the next reload;
//! - bindings: this home server is the only writer of its users' bindings, so after the
//!   first read of an AOR the in-memory copy is authoritative; writes update it at once
//!   and reach the database through a write-behind task, in order (or, on the pool's
//!   store, before the REGISTER is answered: `with_bindings_written_through`; there
//!   another home server may have written an AOR's bindings while it owned it, so they
//!   are read from the store every time and never cached);
//! - the archive: appended through the same write-behind task;
//! - "no stored message for this AOR": remembered after a read finds none, forgotten when
//!   one is stored (every REGISTER asks; the answer is nearly always none). On the pool's
//!   store, where other home servers store messages too, only while their announcements
//!   are followed (`OfflineStore::follow_stored`: Redis publish/subscribe); all of it is
//!   forgotten when that subscription breaks, and every minute whatever happens (an
//!   announcement lost to a Redis failure costs at most that long). A read that raced
//!   an announcement is not remembered.
//!
//! [`CachedStore::warm`] (the single-process edition) reads every binding and the list of
//! AORs with stored messages at start, so that not even a user's first REGISTER after a
//! restart waits for the database: a busy server restarted under load would otherwise
//! answer its first thousands of requests at the database's pace.
//!
//! Offline messages go straight to the database: a 202 is only sent once the message is
//! stored. A write-behind entry is lost only if the process dies between the answer and
//! the write (a batch gathers for up to 50 ms, `BATCH_WINDOW`, then is written at once);
//! a batch the database refuses is retried until it is written; on a graceful shutdown
//! the queue is drained before the process exits.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, Weak,
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use tokio::sync::mpsc;

mod change;

use super::{
    Aor, ApiToken, ArchiveEntry, ArchiveQuery, ArchiveStore, ArchivedRecord, BatchWrite,
    BatchWriter, Binding, BindingStore, Bindings, Credentials, Document, DocumentStore,
    OfflineStore, PresenceStore, PublicationRecord, Store, StoreResult, StoredMessage, StoredNews,
    SubscriptionRecord, TokenStore, User, UserRef, UserStore,
};
use change::change;

/// How often the users version is read.
const VERSION_POLL: Duration = Duration::from_secs(1);
/// How long a version read on a lookup miss is reused.
const MISS_VERSION_TTL: Duration = Duration::from_millis(25);
/// Writes waiting for the database before callers wait for room.
const WRITE_QUEUE: usize = 65_536;

/// Every user by address, and the users version they were loaded at.
#[derive(Default)]
struct UserCache {
    by_aor: HashMap<Aor, UserRef>,
    version: u64,
}

/// "No stored message" is forgotten this often where other processes store messages.
const FORGET_ALL: Duration = Duration::from_secs(60);

/// Applies other processes' news of stored messages to `none_waiting` until the store
/// is dropped; forgets all of it when the news may have gaps, and every [`FORGET_ALL`].
async fn follow_stored(
    mut news: mpsc::UnboundedReceiver<StoredNews>,
    none_waiting: Weak<Mutex<HashSet<Aor>>>,
    forgotten: Arc<AtomicU64>,
    live: Arc<AtomicBool>,
) {
    let mut every = tokio::time::interval(FORGET_ALL);
    every.tick().await;
    loop {
        // `None`: the periodic forgetting.
        let item = tokio::select! {
            n = news.recv() => match n {
                Some(n) => Some(n),
                None => break,
            },
            _ = every.tick() => None,
        };
        let Some(set) = none_waiting.upgrade() else {
            break;
        };
        forgotten.fetch_add(1, Ordering::SeqCst);
        match item {
            Some(StoredNews::For(aor)) => {
                lock(&set).remove(&aor);
            }
            Some(StoredNews::Following) => {
                lock(&set).clear();
                live.store(true, Ordering::SeqCst);
            }
            Some(StoredNews::Lost) => {
                live.store(false, Ordering::SeqCst);
                lock(&set).clear();
            }
            None => lock(&set).clear(),
        }
    }
    live.store(false, Ordering::SeqCst);
}

/// Most writes applied in one batch.
const BATCH: usize = 512;
/// The first and the longest pause before a failed batch is tried again.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How long a batch may gather after its first write. Each batch costs a transaction and
/// a few statements whatever its size: 50 ms rather than 10 cut the server's CPU per
/// REGISTER by ~7 % at 9,000/s (fewer, larger batches). It is also how much of the
/// binding refreshes and archive records a `kill -9` can lose; offline messages are
/// written before they are acknowledged, not here.
const BATCH_WINDOW: Duration = Duration::from_millis(50);

pub struct CachedStore {
    inner: Arc<dyn Store>,
    users: Arc<Mutex<UserCache>>,
    /// The users version last read on a lookup miss, and when.
    miss_version: Mutex<Option<(Instant, u64)>>,
    /// Per AOR, shared with the write-behind queue (one copy per REGISTER, not two).
    bindings: Mutex<HashMap<Aor, Arc<[Binding]>>>,
    writes: mpsc::Sender<BatchWrite>,
    /// Registrations are written before the REGISTER is answered (the pool: a home server
    /// may die a millisecond after its 200 OK, and another must find the binding).
    bindings_through: bool,
    /// AORs known to have no stored message (read once, forgotten when one is stored):
    /// every REGISTER asks, and the answer is nearly always "none".
    none_waiting: Arc<Mutex<HashSet<Aor>>>,
    /// Bumped whenever anything is forgotten from `none_waiting`: a read that started
    /// before is not remembered.
    forgotten: Arc<AtomicU64>,
    /// Where other processes store messages too (the pool): whether their
    /// announcements are followed now. `None`: this process alone stores them.
    following: Option<Arc<AtomicBool>>,
    /// After [`CachedStore::warm`]: every AOR's bindings are in `bindings` (a missing
    /// entry means none)…
    bindings_complete: bool,
    /// … and every AOR with a stored message is in this set (kept as messages are stored
    /// and found delivered).
    waiting: Mutex<Option<HashSet<Aor>>>,
    /// When expired bindings were last swept from the written-behind copy.
    db_swept_at: Mutex<Option<u64>>,
}

/// How often expired bindings are swept from the written-behind copy (the memory copy is
/// swept at every call). Readers of the database skip expired rows anyway, and the
/// embedded store keeps no expiry index (a refresh would move the row's entry in it), so
/// a sweep reads the whole table: once a minute, not once a second.
const DB_SWEEP_SECS: u64 = 60;

impl CachedStore {
    /// Wraps `inner`; the returned task ends once the store is dropped and every queued
    /// write has been applied.
    pub async fn new(
        inner: Arc<dyn Store>,
    ) -> StoreResult<(CachedStore, tokio::task::JoinHandle<()>)> {
        // Read before anything is cached, so that no later change can be missed.
        let version = inner.users_version().await?;
        let users = Arc::new(Mutex::new(UserCache {
            by_aor: load_users(inner.as_ref()).await?,
            version,
        }));
        let (writes, rx) = mpsc::channel(WRITE_QUEUE);
        let writer = tokio::spawn(write_behind(inner.clone(), rx));
        tokio::spawn(watch_users(Arc::downgrade(&users), inner.clone(), version));
        let none_waiting = Arc::new(Mutex::new(HashSet::new()));
        let forgotten = Arc::new(AtomicU64::new(0));
        let following = inner.follow_stored().map(|news| {
            let live = Arc::new(AtomicBool::new(false));
            tokio::spawn(follow_stored(
                news,
                Arc::downgrade(&none_waiting),
                forgotten.clone(),
                live.clone(),
            ));
            live
        });
        let store = CachedStore {
            inner,
            users,
            miss_version: Mutex::new(None),
            bindings: Mutex::new(HashMap::new()),
            writes,
            bindings_through: false,
            none_waiting,
            forgotten,
            following,
            bindings_complete: false,
            waiting: Mutex::new(None),
            db_swept_at: Mutex::new(None),
        };
        Ok((store, writer))
    }

    /// Writes bindings through to the store (answered only once stored) instead of behind.
    pub fn with_bindings_written_through(mut self) -> CachedStore {
        self.bindings_through = true;
        self
    }

    /// Reads every binding and the AORs with stored messages into memory (where the
    /// store can list them), so that no later lookup of either reaches the database.
    /// Only for a store this home server alone writes (not with bindings written
    /// through). Returns how many bindings and waiting AORs were read.
    pub async fn warm(&mut self) -> StoreResult<(usize, usize)> {
        if self.bindings_through {
            return Ok((0, 0));
        }
        let mut counts = (0, 0);
        if let Some(all) = self.inner.every_binding().await? {
            counts.0 = all.len();
            let mut map: HashMap<Aor, Vec<Binding>> = HashMap::new();
            for b in all {
                map.entry(b.aor.clone()).or_default().push(b);
            }
            *lock(&self.bindings) = map.into_iter().map(|(a, v)| (a, v.into())).collect();
            self.bindings_complete = true;
        }
        if let Some(aors) = self.inner.recipients_waiting().await? {
            counts.1 = aors.len();
            *lock(&self.waiting) = Some(aors.into_iter().collect());
        }
        Ok(counts)
    }

    /// Notes that `aor` has a stored message.
    fn message_stored(&self, aor: &Aor) {
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        lock(&self.none_waiting).remove(aor);
        if let Some(w) = lock(&self.waiting).as_mut() {
            w.insert(aor.clone());
        }
    }

    /// Whether "no stored message" may be remembered: this process alone stores
    /// messages, or the others' announcements are followed now.
    pub fn may_remember_none(&self) -> bool {
        match &self.following {
            None => true,
            Some(live) => live.load(Ordering::SeqCst),
        }
    }

    async fn queue(&self, w: BatchWrite) {
        if self.writes.send(w).await.is_err() {
            tracing::error!("write-behind task is gone; a write was dropped");
        }
    }

    /// Re-reads one user after a write through this store.
    async fn refresh_user(&self, aor: &Aor) -> StoreResult<()> {
        let u = self.inner.user(aor).await?;
        let mut users = lock(&self.users);
        match u {
            Some(u) => users.by_aor.insert(aor.clone(), u),
            None => users.by_aor.remove(aor),
        };
        Ok(())
    }

    /// Whether the users version has moved past `loaded` (read at most every 25 ms).
    async fn users_changed_since(&self, loaded: u64) -> StoreResult<bool> {
        let recent = *lock(&self.miss_version);
        let version = match recent {
            Some((at, v)) if at.elapsed() < MISS_VERSION_TTL => v,
            _ => {
                let v = self.inner.users_version().await?;
                *lock(&self.miss_version) = Some((Instant::now(), v));
                v
            }
        };
        Ok(version != loaded)
    }
}

async fn load_users(store: &dyn Store) -> StoreResult<HashMap<Aor, UserRef>> {
    Ok(store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.aor.clone(), UserRef::new(u)))
        .collect())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reloads the users when the users version moves; ends with the cache.
async fn watch_users(
    users: std::sync::Weak<Mutex<UserCache>>,
    store: Arc<dyn Store>,
    version: u64,
) {
    let mut seen = Some(version);
    let mut tick = tokio::time::interval(VERSION_POLL);
    loop {
        tick.tick().await;
        let Some(users) = users.upgrade() else { return };
        match store.users_version().await {
            Ok(v) if Some(v) != seen => match load_users(store.as_ref()).await {
                Ok(all) => {
                    *lock(&users) = UserCache {
                        by_aor: all,
                        version: v,
                    };
                    seen = Some(v);
                }
                Err(e) => tracing::warn!(error = %e, "reloading users failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the users version failed"),
        }
    }
}

/// Drains the queue in batches: whatever has accumulated while the previous batch was
/// written goes into the next `write_batch`, so the busier the server, the fewer commits
/// and round trips per write.
async fn write_behind(store: Arc<dyn Store>, mut rx: mpsc::Receiver<BatchWrite>) {
    let mut buf = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut buf, BATCH).await > 0 {
        // Let a batch gather: one transaction for many writes costs far less than one
        // each (every statement is a round trip to SQLite's thread).
        if buf.len() < BATCH {
            tokio::time::sleep(BATCH_WINDOW).await;
            while buf.len() < BATCH {
                match rx.try_recv() {
                    Ok(w) => buf.push(w),
                    Err(_) => break,
                }
            }
        }
        // A batch that fails is retried until it is written, in order: nothing the engine
        // answered for is dropped while the database is away (meanwhile the queue fills
        // and callers wait for room). Every write is idempotent (sets replace, the archive
        // is one transaction), so a retry after a partial failure repeats nothing.
        let mut pause = RETRY_FIRST;
        while let Err(e) = store.write_batch(&buf).await {
            tracing::error!(error = %e, writes = buf.len(), retry_in = ?pause, "write-behind batch failed");
            metrics::counter!("herald_store_write_retries_total").increment(1);
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
        }
        buf.clear();
    }
}

#[async_trait]
impl UserStore for CachedStore {
    async fn user(&self, aor: &Aor) -> StoreResult<Option<UserRef>> {
        let loaded = {
            let users = lock(&self.users);
            if let Some(u) = users.by_aor.get(aor) {
                return Ok(Some(u.clone()));
            }
            users.version
        };
        if !self.users_changed_since(loaded).await? {
            return Ok(None);
        }
        // Added by another process since the last reload.
        let u = self.inner.user(aor).await?;
        if let Some(u) = &u {
            lock(&self.users).by_aor.insert(aor.clone(), u.clone());
        }
        Ok(u)
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.inner.create_user(user).await?;
        self.refresh_user(&user.aor).await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.inner.users().await
    }

    async fn remove_user(&self, aor: &Aor) -> StoreResult<()> {
        lock(&self.bindings).remove(aor);
        self.inner.remove_user(aor).await?;
        self.refresh_user(aor).await
    }

    async fn set_disabled(&self, aor: &Aor, disabled: bool) -> StoreResult<()> {
        self.inner.set_disabled(aor, disabled).await?;
        self.refresh_user(aor).await
    }

    async fn set_credentials(&self, aor: &Aor, creds: &Credentials) -> StoreResult<()> {
        self.inner.set_credentials(aor, creds).await?;
        self.refresh_user(aor).await
    }

    async fn set_profile(
        &self,
        aor: &Aor,
        display_name: &str,
        email: Option<&str>,
    ) -> StoreResult<()> {
        self.inner.set_profile(aor, display_name, email).await?;
        self.refresh_user(aor).await
    }

    async fn users_version(&self) -> StoreResult<u64> {
        self.inner.users_version().await
    }
}

/// Presence state: read once at start, written behind (a NOTIFY never waits for it).
#[async_trait]
impl PresenceStore for CachedStore {
    async fn publications(&self, now_secs: u64) -> StoreResult<Vec<(Aor, PublicationRecord)>> {
        self.inner.publications(now_secs).await
    }

    async fn subscriptions(&self, now_secs: u64) -> StoreResult<Vec<SubscriptionRecord>> {
        self.inner.subscriptions(now_secs).await
    }

    async fn replace_publications(&self, aor: &Aor, pubs: &[PublicationRecord]) -> StoreResult<()> {
        self.queue(BatchWrite::Publications(aor.clone(), pubs.to_vec()))
            .await;
        Ok(())
    }

    async fn put_subscription(
        &self,
        key: &str,
        sub: Option<&SubscriptionRecord>,
    ) -> StoreResult<()> {
        self.queue(BatchWrite::Subscription(key.to_owned(), sub.cloned()))
            .await;
        Ok(())
    }
}

/// Documents are read rarely (a subscription, an XCAP request): straight through.
#[async_trait]
impl DocumentStore for CachedStore {
    async fn document(&self, aor: &Aor, auid: &str) -> StoreResult<Option<Document>> {
        self.inner.document(aor, auid).await
    }

    async fn put_document(
        &self,
        aor: &Aor,
        auid: &str,
        doc: &Document,
        expect: Option<Option<&str>>,
    ) -> StoreResult<bool> {
        self.inner.put_document(aor, auid, doc, expect).await
    }

    async fn delete_document(&self, aor: &Aor, auid: &str) -> StoreResult<bool> {
        self.inner.delete_document(aor, auid).await
    }
}

/// The bindings of `set` still in force at `now_secs`, as a new set; `None` when none has
/// expired (the shared set itself is then the answer). The set is shared with readers and
/// queued writes: rebuilt, never edited.
fn unexpired(set: &Bindings, now_secs: u64) -> Option<Bindings> {
    set.iter().any(|b| b.expires_at <= now_secs).then(|| {
        set.iter()
            .filter(|b| b.expires_at > now_secs)
            .cloned()
            .collect()
    })
}

#[async_trait]
impl BindingStore for CachedStore {
    async fn bindings(&self, aor: &Aor, now_secs: u64) -> StoreResult<Bindings> {
        if self.bindings_through {
            return self.inner.bindings(aor, now_secs).await;
        }
        let cached = lock(&self.bindings).get(aor).cloned();
        let all = match cached {
            Some(b) => b,
            None if self.bindings_complete => return Ok(Bindings::default()),
            None => {
                // Every binding, expired or not: the sweep removes expired ones.
                let loaded = self.inner.bindings(aor, 0).await?;
                lock(&self.bindings)
                    .entry(aor.clone())
                    .or_insert(loaded)
                    .clone()
            }
        };
        Ok(unexpired(&all, now_secs).unwrap_or(all))
    }

    async fn replace_bindings(&self, aor: &Aor, bindings: Bindings) -> StoreResult<()> {
        if self.bindings_through {
            return self.inner.replace_bindings(aor, bindings).await;
        }
        let old = lock(&self.bindings).insert(aor.clone(), bindings.clone());
        let change = change(old.as_deref(), &bindings);
        self.queue(BatchWrite::Bindings(aor.clone(), bindings, change))
            .await;
        Ok(())
    }

    async fn expire_bindings(&self, now_secs: u64) -> StoreResult<u64> {
        // Entries stay even when empty: dropping one would make the next read go to the
        // database, which may not have applied the latest write yet.
        let mut n = 0u64;
        for list in lock(&self.bindings).values_mut() {
            if let Some(kept) = unexpired(list, now_secs) {
                n += (list.len() - kept.len()) as u64;
                *list = kept;
            }
        }
        let due = {
            let mut last = lock(&self.db_swept_at);
            let due = self.bindings_through
                || last.is_none_or(|t| now_secs.saturating_sub(t) >= DB_SWEEP_SECS);
            if due {
                *last = Some(now_secs);
            }
            due
        };
        if due {
            self.queue(BatchWrite::Expire(now_secs)).await;
        }
        Ok(n)
    }
}

#[async_trait]
impl OfflineStore for CachedStore {
    async fn store_message(&self, msg: &StoredMessage, archive: &ArchiveEntry) -> StoreResult<i64> {
        let id = self.inner.store_message(msg, archive).await?;
        self.message_stored(&msg.recipient);
        Ok(id)
    }

    async fn pending(&self, aor: &Aor) -> StoreResult<Vec<StoredMessage>> {
        let known_none = match lock(&self.waiting).as_ref() {
            Some(w) => !w.contains(aor),
            None => lock(&self.none_waiting).contains(aor),
        };
        if known_none {
            return Ok(Vec::new());
        }
        let before = self.forgotten.load(Ordering::SeqCst);
        let pending = self.inner.pending(aor).await?;
        let raced = self.forgotten.load(Ordering::SeqCst) != before;
        if pending.is_empty() && self.may_remember_none() && !raced {
            match lock(&self.waiting).as_mut() {
                Some(w) => w.remove(aor),
                None => lock(&self.none_waiting).insert(aor.clone()),
            };
        }
        Ok(pending)
    }

    async fn remove_message(&self, id: i64) -> StoreResult<()> {
        self.inner.remove_message(id).await
    }

    async fn hold_message(&self, msg: &StoredMessage) -> StoreResult<i64> {
        let id = self.inner.hold_message(msg).await?;
        self.message_stored(&msg.recipient);
        Ok(id)
    }
}

#[async_trait]
impl ArchiveStore for CachedStore {
    async fn archive(&self, entry: ArchiveEntry) -> StoreResult<()> {
        self.queue(BatchWrite::Archive(entry)).await;
        Ok(())
    }

    async fn archive_durably(&self, entry: &ArchiveEntry) -> StoreResult<()> {
        self.inner.archive_durably(entry).await
    }

    async fn archived(&self, aor: &Aor, limit: u32) -> StoreResult<Vec<ArchiveEntry>> {
        self.inner.archived(aor, limit).await
    }

    async fn search_archive(&self, q: &ArchiveQuery) -> StoreResult<Vec<ArchivedRecord>> {
        self.inner.search_archive(q).await
    }

    async fn purge_archive(&self, before_ms: u64) -> StoreResult<u64> {
        self.inner.purge_archive(before_ms).await
    }
}

/// Tokens are read on every API call; they go straight to the database.
#[async_trait]
impl TokenStore for CachedStore {
    async fn create_token(&self, token: &ApiToken) -> StoreResult<()> {
        self.inner.create_token(token).await
    }

    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<String>> {
        self.inner.token_by_hash(hash).await
    }

    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.inner.tokens().await
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        self.inner.revoke_token(name).await
    }
}

#[async_trait]
impl BatchWriter for CachedStore {
    async fn write_batch(&self, batch: &[BatchWrite]) -> StoreResult<()> {
        for w in batch {
            self.queue(w.clone()).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn bindings_and_archive_reach_the_database_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let inner: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
        let (cache, writer) = CachedStore::new(inner.clone()).await.unwrap();
        super::super::battery::users(&cache).await;
        super::super::battery::bindings(&cache).await;
        super::super::battery::documents(&cache).await;
        let aor = Aor::parse("zoe@example.com").unwrap();
        let mut b = super::super::battery::binding_for(&aor, "sip:zoe@10.0.0.9", 500);
        for cseq in 1..=20 {
            b.cseq = cseq;
            cache
                .replace_bindings(&aor, vec![b.clone()].into())
                .await
                .unwrap();
        }
        cache
            .replace_bindings(&aor, Bindings::default())
            .await
            .unwrap();
        cache
            .replace_bindings(&aor, vec![b.clone()].into())
            .await
            .unwrap();
        assert_eq!(
            cache.bindings(&aor, 0).await.unwrap().to_vec(),
            vec![b.clone()]
        );
        drop(cache);
        writer.await.unwrap();
        assert_eq!(
            inner.bindings(&aor, 0).await.unwrap().to_vec(),
            vec![b],
            "last write wins"
        );
    }

    #[tokio::test]
    async fn a_stored_message_is_found_after_a_read_found_none() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("h.db")).await.unwrap());
        let (cache, _w) = CachedStore::new(inner.clone()).await.unwrap();
        let aor = Aor::parse("ivy@example.com").unwrap();
        assert!(cache.pending(&aor).await.unwrap().is_empty());
        assert!(cache.pending(&aor).await.unwrap().is_empty(), "remembered");
        let (m, record) = message_for(&aor);
        let id = cache.store_message(&m, &record).await.unwrap();
        assert_eq!(
            cache.pending(&aor).await.unwrap().len(),
            1,
            "stored: read again"
        );
        cache.remove_message(id).await.unwrap();
        assert!(cache.pending(&aor).await.unwrap().is_empty());
        cache.hold_message(&m).await.unwrap();
        assert_eq!(
            cache.pending(&aor).await.unwrap().len(),
            1,
            "held: read again"
        );
    }

    fn message_for(aor: &Aor) -> (StoredMessage, ArchiveEntry) {
        let m = StoredMessage {
            id: 0,
            recipient: aor.clone(),
            from: "<sip:al@example.com>;tag=1".into(),
            content_type: "text/plain".into(),
            body: b"hi".to_vec(),
            received_at_ms: 1,
        };
        let record = ArchiveEntry {
            sender: "al@example.com".into(),
            recipients: vec![aor.to_string()],
            at_ms: 1,
            call_id: "c1".into(),
            content_type: "text/plain".into(),
            body: b"hi".to_vec(),
            outcome: crate::store::Outcome::Stored,
        };
        (m, record)
    }

    #[tokio::test]
    async fn a_warmed_cache_answers_bindings_and_stored_messages_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("h.db")).await.unwrap());
        let [amy, ben, cat, dan] =
            ["amy", "ben", "cat", "dan"].map(|u| Aor::parse(&format!("{u}@example.com")).unwrap());
        let b = super::super::battery::binding_for(&amy, "sip:amy@10.0.0.1", 500);
        inner
            .replace_bindings(&amy, vec![b.clone()].into())
            .await
            .unwrap();
        let (m, record) = message_for(&ben);
        inner.store_message(&m, &record).await.unwrap();

        let (mut cache, _w) = CachedStore::new(inner.clone()).await.unwrap();
        assert_eq!(cache.warm().await.unwrap(), (1, 1));
        // Written behind the cache's back after warming: the cache does not read them,
        // which shows that its answers come from what it read at start.
        inner
            .replace_bindings(&amy, Bindings::default())
            .await
            .unwrap();
        let d = super::super::battery::binding_for(&dan, "sip:dan@10.0.0.4", 500);
        inner.replace_bindings(&dan, vec![d].into()).await.unwrap();
        let (m_cat, record_cat) = message_for(&cat);
        inner.store_message(&m_cat, &record_cat).await.unwrap();

        assert_eq!(cache.bindings(&amy, 0).await.unwrap().to_vec(), vec![b]);
        assert!(cache.bindings(&dan, 0).await.unwrap().is_empty());
        assert_eq!(
            cache.pending(&ben).await.unwrap().len(),
            1,
            "listed at start"
        );
        assert!(cache.pending(&cat).await.unwrap().is_empty());
        // Stored through the cache: read again (both of cat's messages are there).
        let id = cache.store_message(&m_cat, &record_cat).await.unwrap();
        assert_eq!(cache.pending(&cat).await.unwrap().len(), 2);
        // Delivered: after a read finds none, none is assumed again.
        let all: Vec<i64> = cache
            .pending(&ben)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        for i in all {
            cache.remove_message(i).await.unwrap();
        }
        assert!(cache.pending(&ben).await.unwrap().is_empty());
        inner.store_message(&m, &record).await.unwrap();
        assert!(cache.pending(&ben).await.unwrap().is_empty(), "forgotten");
        cache.remove_message(id).await.unwrap();
    }

    #[tokio::test]
    async fn users_are_held_in_memory_and_follow_the_users_version() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("h.db")).await.unwrap());
        let (cache, _w) = CachedStore::new(inner.clone()).await.unwrap();
        let aor = Aor::parse("yan@example.com").unwrap();
        assert_eq!(cache.user(&aor).await.unwrap(), None);
        let u = User {
            aor: aor.clone(),
            display_name: String::new(),
            email: None,
            disabled: false,
            credentials: Credentials::default(),
        };
        // Another process adds the user: found once the version read on a miss is
        // renewed, before the next full reload.
        inner.create_user(&u).await.unwrap();
        tokio::time::sleep(MISS_VERSION_TTL * 2).await;
        assert_eq!(cache.user(&aor).await.unwrap().as_deref(), Some(&u));
        // Another process disables the user: noticed at the next reload.
        inner.set_disabled(&aor, true).await.unwrap();
        tokio::time::sleep(VERSION_POLL * 2).await;
        assert!(cache.user(&aor).await.unwrap().unwrap().disabled);
        // A change through the cache applies at once.
        cache.set_disabled(&aor, false).await.unwrap();
        assert!(!cache.user(&aor).await.unwrap().unwrap().disabled);
        cache.remove_user(&aor).await.unwrap();
        assert_eq!(cache.user(&aor).await.unwrap(), None);
    }
}
