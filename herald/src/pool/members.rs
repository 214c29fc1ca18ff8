//! Pool membership in Redis: every node announces itself with a key that expires
//! (`<prefix>members:<role>:<id>` = its gRPC address, 2 s, renewed every 500 ms), and
//! reads the others' keys. A node that dies drops out within 2 seconds (plus a 250 ms poll).

use std::{collections::BTreeMap, time::Duration};

use redis::{aio::ConnectionManager, AsyncCommands};

/// How long an announcement lives, and how often it is renewed.
pub const TTL: Duration = Duration::from_secs(2);
pub const RENEW: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct Members {
    conn: ConnectionManager,
    prefix: String,
}

impl Members {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Members> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client)
            .await
            .map_err(|e| anyhow::anyhow!("Redis at {url}: {e}"))?;
        Ok(Members {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, role: &str, id: &str) -> String {
        format!("{}members:{role}:{id}", self.prefix)
    }

    /// Announces `id` (of `role`) at `addr` until the task is dropped.
    pub fn announce(
        &self,
        role: &'static str,
        id: String,
        addr: String,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let key = me.key(role, &id);
            let mut c = me.conn.clone();
            let mut tick = tokio::time::interval(RENEW);
            loop {
                tick.tick().await;
                let set: redis::RedisResult<()> = c
                    .set_options(
                        &key,
                        &addr,
                        redis::SetOptions::default()
                            .with_expiration(redis::SetExpiry::PX(TTL.as_millis() as u64)),
                    )
                    .await;
                if let Err(e) = set {
                    tracing::warn!(error = %e, "membership not renewed");
                }
            }
        })
    }

    /// Withdraws an announcement (a graceful stop).
    pub async fn withdraw(&self, role: &str, id: &str) {
        let mut c = self.conn.clone();
        let _: redis::RedisResult<()> = c.del(self.key(role, id)).await;
    }

    /// The live members of `role`: id → gRPC address.
    pub async fn list(&self, role: &str) -> redis::RedisResult<BTreeMap<String, String>> {
        let mut c = self.conn.clone();
        let pattern = self.key(role, "*");
        let keys: Vec<String> = c.keys(&pattern).await?;
        let mut out = BTreeMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let addrs: Vec<Option<String>> = c.mget(&keys).await?;
        let strip = pattern.trim_end_matches('*').len();
        for (k, a) in keys.iter().zip(addrs) {
            if let Some(a) = a {
                out.insert(k[strip..].to_owned(), a);
            }
        }
        Ok(out)
    }
}
