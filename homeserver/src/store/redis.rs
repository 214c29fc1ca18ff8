//! The pool's live state in Redis: registrations (bindings, with a sorted set of expiry
//! times the owning home server scans — no keyspace notifications) and presence
//! (publications, subscription dialogs), so that another home server can take over a
//! user at once.
//!
//! Keys (under a prefix, `herald:` by default):
//! - `b:<aor>`: hash contact → binding (JSON); `bexp`: sorted set `<aor>\n<contact>` by
//!   expiry;
//! - `p:<aor>`: hash etag → publication (JSON); `pidx`: set of AORs with publications;
//! - `s`: hash subscription key → record (JSON).

use async_trait::async_trait;
use herald_proto::v1::FlowRef;
use redis::{aio::ConnectionManager, AsyncCommands, Pipeline};
use serde::{Deserialize, Serialize};

use super::{
    Aor, Binding, BindingStore, Bindings, PresenceStore, PublicationRecord, StoreError,
    StoreResult, StoredNews, SubscriptionRecord,
};

/// Redis's half of the pool store.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("redis: {e}"))
}

#[derive(Serialize, Deserialize)]
struct BindingJson {
    contact: String,
    q: Option<u16>,
    expires_at: u64,
    call_id: String,
    cseq: u32,
    instance: Option<String>,
    reg_id: Option<u32>,
    frontend: String,
    conn: u64,
    transport: i32,
    remote: String,
    user_agent: Option<String>,
}

impl BindingJson {
    fn of(b: &Binding) -> BindingJson {
        BindingJson {
            contact: b.contact.clone(),
            q: b.q,
            expires_at: b.expires_at,
            call_id: b.call_id.clone(),
            cseq: b.cseq,
            instance: b.instance.clone(),
            reg_id: b.reg_id,
            frontend: b.flow.frontend_id.clone(),
            conn: b.flow.connection_id,
            transport: b.flow.transport,
            remote: b.flow.remote.clone(),
            user_agent: b.user_agent.clone(),
        }
    }

    fn into_binding(self, aor: &Aor) -> Binding {
        Binding {
            aor: aor.clone(),
            contact: self.contact,
            q: self.q,
            expires_at: self.expires_at,
            call_id: self.call_id,
            cseq: self.cseq,
            instance: self.instance,
            reg_id: self.reg_id,
            flow: FlowRef {
                frontend_id: self.frontend,
                connection_id: self.conn,
                transport: self.transport,
                remote: self.remote,
            },
            user_agent: self.user_agent,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct PublicationJson {
    pidf: String,
    at: u64,
    expires_at: u64,
}

#[derive(Serialize, Deserialize)]
struct SubscriptionJson {
    expires_at: u64,
    data: String,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/`); the connection is re-made by itself
    /// after Redis restarts.
    pub async fn open(url: &str, prefix: &str) -> StoreResult<RedisStore> {
        let client = redis::Client::open(url).map_err(backend)?;
        let conn = ConnectionManager::new(client.clone())
            .await
            .map_err(backend)?;
        Ok(RedisStore {
            client,
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// Tells every home server that a message was stored for `aor` (channel `stored`).
    pub async fn announce_stored(&self, aor: &Aor) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        conn.publish::<_, _, ()>(self.key("stored"), aor.as_str())
            .await
            .map_err(backend)
    }

    /// Follows [`announce_stored`](Self::announce_stored) (see [`StoredNews`]);
    /// reconnects until the receiver is dropped.
    pub fn follow_stored(&self) -> tokio::sync::mpsc::UnboundedReceiver<StoredNews> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let client = self.client.clone();
        let channel = self.key("stored");
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while !tx.is_closed() {
                let mut pubsub = match client.get_async_pubsub().await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "stored-message announcements: no Redis");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        continue;
                    }
                };
                if let Err(e) = pubsub.subscribe(&channel).await {
                    tracing::warn!(error = %e, "stored-message announcements: not subscribed");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    continue;
                }
                if tx.send(StoredNews::Following).is_err() {
                    return;
                }
                let mut messages = pubsub.into_on_message();
                while let Some(m) = messages.next().await {
                    let aor = m.get_payload::<String>().ok().and_then(|s| Aor::parse(&s));
                    if let Some(aor) = aor {
                        if tx.send(StoredNews::For(aor)).is_err() {
                            return;
                        }
                    }
                }
                tracing::warn!("stored-message announcements: Redis connection lost");
                if tx.send(StoredNews::Lost).is_err() {
                    return;
                }
            }
        });
        rx
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Adds to `pipe` what replaces `aor`'s bindings with `bindings` (`old`: the contacts
    /// it has now).
    fn replace_in(&self, pipe: &mut Pipeline, aor: &Aor, old: &[String], bindings: &[Binding]) {
        let hash = self.key(&format!("b:{aor}"));
        let exp = self.key("bexp");
        pipe.del(&hash).ignore();
        for c in old {
            pipe.zrem(&exp, format!("{aor}\n{c}")).ignore();
        }
        for b in bindings {
            let json = serde_json::to_string(&BindingJson::of(b)).unwrap_or_default();
            pipe.hset(&hash, &b.contact, json).ignore();
            pipe.zadd(&exp, format!("{aor}\n{}", b.contact), b.expires_at)
                .ignore();
        }
    }

    async fn contacts(&self, aor: &Aor) -> StoreResult<Vec<String>> {
        let mut c = self.conn.clone();
        c.hkeys(self.key(&format!("b:{aor}")))
            .await
            .map_err(backend)
    }

    /// Applies several binding sets, publication sets and subscription writes in one
    /// atomic pipeline (a write-behind batch).
    pub(crate) async fn write_all(
        &self,
        bindings: &[(&Aor, &[Binding])],
        expire: Option<u64>,
        pubs: &[(&Aor, &[PublicationRecord])],
        subs: &[(&str, Option<&SubscriptionRecord>)],
    ) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (aor, set) in bindings {
            let old = self.contacts(aor).await?;
            self.replace_in(&mut pipe, aor, &old, set);
        }
        for (aor, set) in pubs {
            self.publications_in(&mut pipe, aor, set);
        }
        for (key, sub) in subs {
            self.subscription_in(&mut pipe, key, *sub);
        }
        let mut c = self.conn.clone();
        pipe.query_async::<()>(&mut c).await.map_err(backend)?;
        if let Some(now) = expire {
            self.expire_bindings(now).await?;
        }
        Ok(())
    }

    fn publications_in(&self, pipe: &mut Pipeline, aor: &Aor, pubs: &[PublicationRecord]) {
        let hash = self.key(&format!("p:{aor}"));
        pipe.del(&hash).ignore();
        if pubs.is_empty() {
            pipe.srem(self.key("pidx"), aor.as_str()).ignore();
            return;
        }
        for p in pubs {
            let json = serde_json::to_string(&PublicationJson {
                pidf: p.pidf.clone(),
                at: p.at,
                expires_at: p.expires_at,
            })
            .unwrap_or_default();
            pipe.hset(&hash, &p.etag, json).ignore();
        }
        pipe.sadd(self.key("pidx"), aor.as_str()).ignore();
    }

    fn subscription_in(&self, pipe: &mut Pipeline, key: &str, sub: Option<&SubscriptionRecord>) {
        match sub {
            Some(s) => {
                let json = serde_json::to_string(&SubscriptionJson {
                    expires_at: s.expires_at,
                    data: s.data.clone(),
                })
                .unwrap_or_default();
                pipe.hset(self.key("s"), key, json).ignore();
            }
            None => {
                pipe.hdel(self.key("s"), key).ignore();
            }
        }
    }

    /// Deletes every key of this store (tests; a fresh pool).
    pub async fn clear(&self) -> StoreResult<()> {
        let mut c = self.conn.clone();
        let keys: Vec<String> = c.keys(format!("{}*", self.prefix)).await.map_err(backend)?;
        if !keys.is_empty() {
            c.del::<_, ()>(keys).await.map_err(backend)?;
        }
        Ok(())
    }
}

#[async_trait]
impl BindingStore for RedisStore {
    async fn bindings(&self, aor: &Aor, now_secs: u64) -> StoreResult<Bindings> {
        let mut c = self.conn.clone();
        let all: Vec<(String, String)> = c
            .hgetall(self.key(&format!("b:{aor}")))
            .await
            .map_err(backend)?;
        let mut out: Vec<Binding> = all
            .into_iter()
            .filter_map(|(_, json)| serde_json::from_str::<BindingJson>(&json).ok())
            .filter(|b| b.expires_at > now_secs)
            .map(|b| b.into_binding(aor))
            .collect();
        // As the SQL stores: highest q first, then by contact.
        out.sort_by(|a, b| {
            b.q.unwrap_or(1000)
                .cmp(&a.q.unwrap_or(1000))
                .then_with(|| a.contact.cmp(&b.contact))
        });
        Ok(out.into())
    }

    async fn replace_bindings(&self, aor: &Aor, bindings: Bindings) -> StoreResult<()> {
        self.write_all(&[(aor, &bindings)], None, &[], &[]).await
    }

    async fn expire_bindings(&self, now_secs: u64) -> StoreResult<u64> {
        let mut c = self.conn.clone();
        let exp = self.key("bexp");
        let due: Vec<String> = c
            .zrangebyscore(&exp, "-inf", now_secs)
            .await
            .map_err(backend)?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for m in &due {
            if let Some((aor, contact)) = m.split_once('\n') {
                pipe.hdel(self.key(&format!("b:{aor}")), contact).ignore();
            }
            pipe.zrem(&exp, m).ignore();
        }
        pipe.query_async::<()>(&mut c).await.map_err(backend)?;
        Ok(due.len() as u64)
    }
}

#[async_trait]
impl PresenceStore for RedisStore {
    async fn publications(&self, now_secs: u64) -> StoreResult<Vec<(Aor, PublicationRecord)>> {
        let mut c = self.conn.clone();
        let mut aors: Vec<String> = c.smembers(self.key("pidx")).await.map_err(backend)?;
        aors.sort();
        let mut out = Vec::new();
        for a in aors {
            let Some(aor) = Aor::parse(&a) else { continue };
            let all: Vec<(String, String)> = c
                .hgetall(self.key(&format!("p:{aor}")))
                .await
                .map_err(backend)?;
            let mut pubs: Vec<PublicationRecord> = all
                .into_iter()
                .filter_map(|(etag, json)| {
                    let p: PublicationJson = serde_json::from_str(&json).ok()?;
                    Some(PublicationRecord {
                        etag,
                        pidf: p.pidf,
                        at: p.at,
                        expires_at: p.expires_at,
                    })
                })
                .filter(|p| p.expires_at > now_secs)
                .collect();
            pubs.sort_by_key(|p| p.at);
            out.extend(pubs.into_iter().map(|p| (aor.clone(), p)));
        }
        Ok(out)
    }

    async fn subscriptions(&self, now_secs: u64) -> StoreResult<Vec<SubscriptionRecord>> {
        let mut c = self.conn.clone();
        let all: Vec<(String, String)> = c.hgetall(self.key("s")).await.map_err(backend)?;
        let mut out: Vec<SubscriptionRecord> = all
            .into_iter()
            .filter_map(|(key, json)| {
                let s: SubscriptionJson = serde_json::from_str(&json).ok()?;
                Some(SubscriptionRecord {
                    key,
                    expires_at: s.expires_at,
                    data: s.data,
                })
            })
            .filter(|s| s.expires_at > now_secs)
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn replace_publications(&self, aor: &Aor, pubs: &[PublicationRecord]) -> StoreResult<()> {
        self.write_all(&[], None, &[(aor, pubs)], &[]).await
    }

    async fn put_subscription(
        &self,
        key: &str,
        sub: Option<&SubscriptionRecord>,
    ) -> StoreResult<()> {
        self.write_all(&[], None, &[], &[(key, sub)]).await
    }
}
