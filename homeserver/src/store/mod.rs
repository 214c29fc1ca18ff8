//! What a home server keeps, behind traits: users and credentials, registrations
//! (bindings), offline messages and the archive. The embedded edition fills them with
//! SQLite ([`sqlite::SqliteStore`]); the pool fills them with Redis (bindings) and Postgres
//! (the rest). Nothing above this module knows which.

mod archive_sql;
pub mod cache;
pub mod pg;
pub mod pool;
pub mod redis;
pub mod sqlite;
mod types;

use async_trait::async_trait;

pub use types::{
    Aor, ApiToken, ArchiveEntry, ArchiveQuery, ArchivedRecord, Binding, Credentials, Outcome,
    StoredMessage, User,
};

/// A store failure. The message names what failed; the caller answers 500 and logs it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("no user {0}")]
    NoSuchUser(String),
    #[error("a token named {0} already exists")]
    TokenExists(String),
    #[error("store backend: {0}")]
    Backend(String),
    #[error("store migration: {0}")]
    Migration(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Users and their digest credentials.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user(&self, aor: &Aor) -> StoreResult<Option<UserRef>>;
    /// Adds a user; fails with [`StoreError::UserExists`] if the address is taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Removes a user with its bindings and offline messages (the archive stays).
    async fn remove_user(&self, aor: &Aor) -> StoreResult<()>;
    async fn set_disabled(&self, aor: &Aor, disabled: bool) -> StoreResult<()>;
    async fn set_credentials(&self, aor: &Aor, creds: &Credentials) -> StoreResult<()>;
    /// Sets the display name and e-mail address.
    async fn set_profile(
        &self,
        aor: &Aor,
        display_name: &str,
        email: Option<&str>,
    ) -> StoreResult<()>;
    /// A number that changes whenever any user changes (by any process): caches compare
    /// it to know when to drop what they hold.
    async fn users_version(&self) -> StoreResult<u64>;
}

/// An AOR's bindings as one shared set: the cache, a queued write and the registrar's
/// answer hold the same one (copying every binding on each read and write cost ~1.5 % of
/// the engine's instructions per REGISTER).
pub type Bindings = std::sync::Arc<[Binding]>;

/// A user as a store hands it out: shared, so a cache answers every authenticated
/// request with its own copy instead of copying the user (name, credentials) each time.
pub type UserRef = std::sync::Arc<User>;

/// Registrations (RFC 3261 §10): the contacts of each address-of-record.
#[async_trait]
pub trait BindingStore: Send + Sync {
    /// The bindings of `aor` that have not expired at `now_secs`.
    async fn bindings(&self, aor: &Aor, now_secs: u64) -> StoreResult<Bindings>;
    /// Replaces all bindings of `aor` with `bindings` (one REGISTER's result, atomically).
    async fn replace_bindings(&self, aor: &Aor, bindings: Bindings) -> StoreResult<()>;
    /// Deletes bindings that expired before `now_secs`; returns how many.
    async fn expire_bindings(&self, now_secs: u64) -> StoreResult<u64>;
    /// Every stored binding, to fill a cache at start; `None` from a store that cannot
    /// list them in one read.
    async fn every_binding(&self) -> StoreResult<Option<Vec<Binding>>> {
        Ok(None)
    }
}

/// Messages held for recipients with no registered device (RFC 3428 offline storage).
#[async_trait]
pub trait OfflineStore: Send + Sync {
    /// Stores a message durably together with its archive record (both or neither);
    /// returns its id. Ids grow in arrival order.
    async fn store_message(&self, msg: &StoredMessage, archive: &ArchiveEntry) -> StoreResult<i64>;
    /// The messages waiting for `aor`, oldest first.
    async fn pending(&self, aor: &Aor) -> StoreResult<Vec<StoredMessage>>;
    /// Removes a message once a device answered 2xx.
    async fn remove_message(&self, id: i64) -> StoreResult<()>;
    /// Stores a message without an archive record (a restore: its record comes from the
    /// backup's archive); returns its id.
    async fn hold_message(&self, msg: &StoredMessage) -> StoreResult<i64>;
    /// Every AOR with a stored message, to fill a cache at start; `None` from a store
    /// that cannot list them in one read.
    async fn recipients_waiting(&self) -> StoreResult<Option<Vec<Aor>>> {
        Ok(None)
    }
    /// News of messages stored by other processes (the pool: every home server's stores
    /// are announced through Redis); `None` from a store only this process writes.
    fn follow_stored(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<StoredNews>> {
        None
    }
}

/// What [`OfflineStore::follow_stored`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredNews {
    /// A message was stored for this AOR.
    For(Aor),
    /// Announcements are followed from now on.
    Following,
    /// Announcements are not followed any more (until the next `Following`): some may
    /// be missed.
    Lost,
}

/// Every message, whatever became of it.
#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Archives `entry`; taken by value, so a cache queues it to be written behind
    /// without a copy.
    async fn archive(&self, entry: ArchiveEntry) -> StoreResult<()>;
    /// Archives `entry` and returns only once it is stored (a cache may otherwise write
    /// archive records behind).
    async fn archive_durably(&self, entry: &ArchiveEntry) -> StoreResult<()>;
    /// The newest `limit` entries sent or received by `aor`, newest first.
    async fn archived(&self, aor: &Aor, limit: u32) -> StoreResult<Vec<ArchiveEntry>>;
    /// Records matching `q`, oldest first, at most `q.limit`.
    async fn search_archive(&self, q: &ArchiveQuery) -> StoreResult<Vec<ArchivedRecord>>;
    /// Deletes records older than `before_ms`; returns how many.
    async fn purge_archive(&self, before_ms: u64) -> StoreResult<u64>;
}

/// Administrators' API tokens, kept only as hashes.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Adds a token; fails with [`StoreError::TokenExists`] if the name is taken.
    async fn create_token(&self, token: &ApiToken) -> StoreResult<()>;
    /// The name of the token with this hash.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<String>>;
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Removes a token; returns whether there was one.
    async fn revoke_token(&self, name: &str) -> StoreResult<bool>;
}

/// A whole XCAP document and its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub xml: String,
    pub etag: String,
}

/// Per-user XCAP documents (RFC 4825), by application: `resource-lists` (the buddy list)
/// and `pres-rules` (who may see the user's presence).
#[async_trait]
pub trait DocumentStore: Send + Sync {
    async fn document(&self, aor: &Aor, auid: &str) -> StoreResult<Option<Document>>;
    /// Writes `doc`. `expect`: `None` writes unconditionally; `Some(None)` only if no
    /// document exists; `Some(Some(etag))` only if the current one has that tag. Returns
    /// whether it was written (false: the precondition failed).
    async fn put_document(
        &self,
        aor: &Aor,
        auid: &str,
        doc: &Document,
        expect: Option<Option<&str>>,
    ) -> StoreResult<bool>;
    /// Removes a document; returns whether there was one.
    async fn delete_document(&self, aor: &Aor, auid: &str) -> StoreResult<bool>;
}

/// A live publication as stored: the PIDF as published (re-read on load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationRecord {
    pub etag: String,
    pub pidf: String,
    pub at: u64,
    pub expires_at: u64,
}

/// A subscription dialog as stored: its key (Call-ID and our tag), expiry, and the
/// engine's record of it (opaque here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub key: String,
    pub expires_at: u64,
    pub data: String,
}

/// Presence state that outlives the process: a restarted (or, in the pool, another)
/// home server reloads it and continues the same dialogs.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// Publications not expired at `now_secs`.
    async fn publications(&self, now_secs: u64) -> StoreResult<Vec<(Aor, PublicationRecord)>>;
    /// Subscriptions not expired at `now_secs`.
    async fn subscriptions(&self, now_secs: u64) -> StoreResult<Vec<SubscriptionRecord>>;
    /// Replaces the publications of `aor` (empty: none left).
    async fn replace_publications(&self, aor: &Aor, pubs: &[PublicationRecord]) -> StoreResult<()>;
    /// Writes a subscription, or (`None`) removes the one with `key`.
    async fn put_subscription(
        &self,
        key: &str,
        sub: Option<&SubscriptionRecord>,
    ) -> StoreResult<()>;
}

/// One write of a batch (see [`BatchWriter`]).
#[derive(Debug, Clone)]
pub enum BatchWrite {
    /// An AOR's bindings now (shared with the cache that queued the write), and how they
    /// differ from what the store holds.
    Bindings(Aor, Bindings, SetChange),
    Expire(u64),
    Archive(ArchiveEntry),
    Publications(Aor, Vec<PublicationRecord>),
    Subscription(String, Option<SubscriptionRecord>),
}

/// What a binding set written behind changed against what the store holds for its AOR.
/// Most REGISTERs refresh the contacts already bound: a writer that knows so updates
/// those rows' changing columns in place instead of deleting and inserting them all.
/// Ordered: merging two writes of one AOR in a batch keeps the larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetChange {
    /// The same contacts the store holds (unexpired), each changed in its expiry, Call-ID
    /// or CSeq only: updating those columns of the rows is enough.
    Refresh,
    /// Every binding of the AOR the store holds (unexpired) has its contact in the set:
    /// writing the set's rows, inserted or updated, is enough.
    Grow,
    /// A contact may be gone (or the writer of the batch cannot tell): the set replaces
    /// all of the AOR's rows.
    Replace,
}

/// Applies many writes at once, in order, atomically where the backend can (one SQLite
/// transaction, one Redis pipeline): what a write-behind queue drains into.
#[async_trait]
pub trait BatchWriter: Send + Sync {
    async fn write_batch(&self, batch: &[BatchWrite]) -> StoreResult<()>;
}

/// Everything a home server needs, as one object.
pub trait Store:
    UserStore
    + BindingStore
    + OfflineStore
    + ArchiveStore
    + BatchWriter
    + DocumentStore
    + PresenceStore
    + TokenStore
{
}

impl<T> Store for T where
    T: UserStore
        + BindingStore
        + OfflineStore
        + ArchiveStore
        + BatchWriter
        + DocumentStore
        + PresenceStore
        + TokenStore
{
}

/// The store battery: one set of test bodies every store implementation must pass (run
/// here on SQLite; by `tests/tests/store_pool.rs` on PostgreSQL + Redis).
#[cfg(any(test, feature = "battery"))]
pub mod battery;
