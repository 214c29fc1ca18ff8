//! The pool's store: PostgreSQL for what must last (users, offline messages, archive,
//! documents, tokens) and Redis for live state (bindings, presence), behind the same
//! traits as the embedded store, so the engine does not know which it runs on.

use async_trait::async_trait;

use super::{
    pg::PgStore, redis::RedisStore, Aor, ApiToken, ArchiveEntry, ArchiveQuery, ArchiveStore,
    ArchivedRecord, BatchWrite, BatchWriter, Binding, BindingStore, Bindings, Credentials,
    Document, DocumentStore, OfflineStore, PresenceStore, PublicationRecord, StoreResult,
    StoredMessage, StoredNews, SubscriptionRecord, TokenStore, User, UserRef, UserStore,
};

/// PostgreSQL and Redis as one [`super::Store`].
#[derive(Debug, Clone)]
pub struct PoolStore {
    pub pg: PgStore,
    pub redis: RedisStore,
}

impl PoolStore {
    /// Connects to both (running PostgreSQL's migrations).
    pub async fn open(postgres_url: &str, redis_url: &str, prefix: &str) -> StoreResult<PoolStore> {
        Ok(PoolStore {
            pg: PgStore::open(postgres_url).await?,
            redis: RedisStore::open(redis_url, prefix).await?,
        })
    }
}

impl PoolStore {
    /// Tells the other home servers a message for `aor` is stored, after it is. Not
    /// told (Redis is down), a home server that remembered "nothing waiting" for `aor`
    /// finds it at its next periodic forgetting (see `cache/mod.rs`).
    async fn announce(&self, aor: &Aor) {
        if let Err(e) = self.redis.announce_stored(aor).await {
            tracing::warn!(%aor, error = %e, "stored message not announced");
        }
    }
}

#[async_trait]
impl UserStore for PoolStore {
    async fn user(&self, aor: &Aor) -> StoreResult<Option<UserRef>> {
        self.pg.user(aor).await
    }
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.pg.create_user(user).await
    }
    async fn users(&self) -> StoreResult<Vec<User>> {
        self.pg.users().await
    }
    /// The user, their offline messages (PostgreSQL) and their bindings (Redis).
    async fn remove_user(&self, aor: &Aor) -> StoreResult<()> {
        self.pg.remove_user(aor).await?;
        self.redis.replace_bindings(aor, Bindings::default()).await
    }
    async fn set_disabled(&self, aor: &Aor, disabled: bool) -> StoreResult<()> {
        self.pg.set_disabled(aor, disabled).await
    }
    async fn set_credentials(&self, aor: &Aor, creds: &Credentials) -> StoreResult<()> {
        self.pg.set_credentials(aor, creds).await
    }
    async fn set_profile(&self, aor: &Aor, name: &str, email: Option<&str>) -> StoreResult<()> {
        self.pg.set_profile(aor, name, email).await
    }
    async fn users_version(&self) -> StoreResult<u64> {
        self.pg.users_version().await
    }
}

#[async_trait]
impl BindingStore for PoolStore {
    async fn bindings(&self, aor: &Aor, now_secs: u64) -> StoreResult<Bindings> {
        self.redis.bindings(aor, now_secs).await
    }
    async fn replace_bindings(&self, aor: &Aor, bindings: Bindings) -> StoreResult<()> {
        self.redis.replace_bindings(aor, bindings).await
    }
    async fn expire_bindings(&self, now_secs: u64) -> StoreResult<u64> {
        self.redis.expire_bindings(now_secs).await
    }
}

#[async_trait]
impl OfflineStore for PoolStore {
    async fn store_message(&self, msg: &StoredMessage, archive: &ArchiveEntry) -> StoreResult<i64> {
        let id = self.pg.store_message(msg, archive).await?;
        self.announce(&msg.recipient).await;
        Ok(id)
    }
    async fn pending(&self, aor: &Aor) -> StoreResult<Vec<StoredMessage>> {
        self.pg.pending(aor).await
    }
    async fn remove_message(&self, id: i64) -> StoreResult<()> {
        self.pg.remove_message(id).await
    }
    async fn hold_message(&self, msg: &StoredMessage) -> StoreResult<i64> {
        let id = self.pg.hold_message(msg).await?;
        self.announce(&msg.recipient).await;
        Ok(id)
    }
    fn follow_stored(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<StoredNews>> {
        Some(self.redis.follow_stored())
    }
}

#[async_trait]
impl ArchiveStore for PoolStore {
    async fn archive(&self, entry: ArchiveEntry) -> StoreResult<()> {
        self.pg.archive(entry).await
    }
    async fn archive_durably(&self, entry: &ArchiveEntry) -> StoreResult<()> {
        self.pg.archive_durably(entry).await
    }
    async fn archived(&self, aor: &Aor, limit: u32) -> StoreResult<Vec<ArchiveEntry>> {
        self.pg.archived(aor, limit).await
    }
    async fn search_archive(&self, q: &ArchiveQuery) -> StoreResult<Vec<ArchivedRecord>> {
        self.pg.search_archive(q).await
    }
    async fn purge_archive(&self, before_ms: u64) -> StoreResult<u64> {
        self.pg.purge_archive(before_ms).await
    }
}

#[async_trait]
impl DocumentStore for PoolStore {
    async fn document(&self, aor: &Aor, auid: &str) -> StoreResult<Option<Document>> {
        self.pg.document(aor, auid).await
    }
    async fn put_document(
        &self,
        aor: &Aor,
        auid: &str,
        doc: &Document,
        expect: Option<Option<&str>>,
    ) -> StoreResult<bool> {
        self.pg.put_document(aor, auid, doc, expect).await
    }
    async fn delete_document(&self, aor: &Aor, auid: &str) -> StoreResult<bool> {
        self.pg.delete_document(aor, auid).await
    }
}

#[async_trait]
impl PresenceStore for PoolStore {
    async fn publications(&self, now_secs: u64) -> StoreResult<Vec<(Aor, PublicationRecord)>> {
        self.redis.publications(now_secs).await
    }
    async fn subscriptions(&self, now_secs: u64) -> StoreResult<Vec<SubscriptionRecord>> {
        self.redis.subscriptions(now_secs).await
    }
    async fn replace_publications(&self, aor: &Aor, pubs: &[PublicationRecord]) -> StoreResult<()> {
        self.redis.replace_publications(aor, pubs).await
    }
    async fn put_subscription(
        &self,
        key: &str,
        sub: Option<&SubscriptionRecord>,
    ) -> StoreResult<()> {
        self.redis.put_subscription(key, sub).await
    }
}

#[async_trait]
impl TokenStore for PoolStore {
    async fn create_token(&self, token: &ApiToken) -> StoreResult<()> {
        self.pg.create_token(token).await
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<String>> {
        self.pg.token_by_hash(hash).await
    }
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.pg.tokens().await
    }
    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        self.pg.revoke_token(name).await
    }
}

/// A batch goes to each backend in order: the live state in one Redis pipeline (the last
/// binding set of each AOR), the archive entries in one PostgreSQL transaction.
#[async_trait]
impl BatchWriter for PoolStore {
    async fn write_batch(&self, batch: &[BatchWrite]) -> StoreResult<()> {
        let mut bindings: Vec<(&Aor, &[Binding])> = Vec::new();
        let mut pubs: Vec<(&Aor, &[PublicationRecord])> = Vec::new();
        let mut subs: Vec<(&str, Option<&SubscriptionRecord>)> = Vec::new();
        let mut archive = Vec::new();
        let mut expire = None;
        for w in batch {
            match w {
                // Redis replaces the whole set whatever was dropped.
                BatchWrite::Bindings(aor, set, _) => {
                    bindings.retain(|(a, _)| *a != aor);
                    bindings.push((aor, &set[..]));
                }
                BatchWrite::Expire(now) => expire = Some(*now),
                BatchWrite::Archive(e) => archive.push(e),
                BatchWrite::Publications(aor, set) => {
                    pubs.retain(|(a, _)| *a != aor);
                    pubs.push((aor, set));
                }
                BatchWrite::Subscription(key, sub) => subs.push((key, sub.as_ref())),
            }
        }
        self.redis
            .write_all(&bindings, expire, &pubs, &subs)
            .await?;
        self.pg.archive_all(&archive).await
    }
}
