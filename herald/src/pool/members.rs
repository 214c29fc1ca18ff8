//! Pool membership in Redis: every node announces itself with an expiry time in a sorted
//! set per role (`<prefix>members:<role>`, scored by Redis's own clock, 2 s ahead,
//! renewed every 500 ms) and its gRPC address in a hash beside it; a listing drops the
//! expired entries first. A node that dies drops out within 2 seconds (plus a 250 ms
//! poll). Two small keys per role: listing never scans the keyspace (which holds every
//! binding).

use std::{collections::BTreeMap, time::Duration};

use redis::{aio::ConnectionManager, Script};

/// How long an announcement lives, and how often it is renewed.
pub const TTL: Duration = Duration::from_secs(2);
pub const RENEW: Duration = Duration::from_millis(500);

/// KEYS[1] the set, KEYS[2] the addresses; ARGV: id, address, TTL in ms.
const ANNOUNCE: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1";

/// KEYS[1] the set, KEYS[2] the addresses; returns id, address, id, address, …
const LIST: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('HDEL', KEYS[2], unpack(gone))
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local addr = redis.call('HGET', KEYS[2], id)
  if addr then
    table.insert(out, id)
    table.insert(out, addr)
  end
end
return out";

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

    /// The sorted set and the address hash of `role`.
    fn keys(&self, role: &str) -> (String, String) {
        let set = format!("{}members:{role}", self.prefix);
        let addrs = format!("{set}:addr");
        (set, addrs)
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
            let (set, addrs) = me.keys(role);
            let script = Script::new(ANNOUNCE);
            let mut c = me.conn.clone();
            let mut tick = tokio::time::interval(RENEW);
            loop {
                tick.tick().await;
                let renewed: redis::RedisResult<i64> = script
                    .key(&set)
                    .key(&addrs)
                    .arg(&id)
                    .arg(&addr)
                    .arg(TTL.as_millis() as u64)
                    .invoke_async(&mut c)
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, "membership not renewed");
                }
            }
        })
    }

    /// Withdraws an announcement (a graceful stop).
    pub async fn withdraw(&self, role: &str, id: &str) {
        let (set, addrs) = self.keys(role);
        let mut c = self.conn.clone();
        let _: redis::RedisResult<()> = redis::pipe()
            .atomic()
            .zrem(&set, id)
            .ignore()
            .hdel(&addrs, id)
            .ignore()
            .query_async(&mut c)
            .await;
    }

    /// The live members of `role`: id → gRPC address.
    pub async fn list(&self, role: &str) -> redis::RedisResult<BTreeMap<String, String>> {
        let (set, addrs) = self.keys(role);
        let mut c = self.conn.clone();
        let flat: Vec<String> = Script::new(LIST)
            .key(&set)
            .key(&addrs)
            .invoke_async(&mut c)
            .await?;
        Ok(flat
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect())
    }
}
