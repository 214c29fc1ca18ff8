//! Pool membership in Redis: every node announces itself with an expiry time in a sorted
//! set per role (`<prefix>members:<role>`, scored by Redis's own clock, 2 s ahead,
//! renewed every 500 ms) and its gRPC address in a hash beside it; a listing drops the
//! expired entries first. A node that dies drops out within 2 seconds (plus a 250 ms
//! poll). Small keys per role: listing never scans the keyspace (which holds every
//! binding).
//!
//! Every change of a role's membership (a node joins, returns after its entry expired,
//! leaves or expires) moves the role's **epoch** (`<prefix>members:<role>:epoch`) on, in
//! the same script that changes the set, so every node reads the same (epoch, members)
//! pair. Home servers acknowledge an epoch (`…:ack`, id → epoch) once they have let go of
//! what the new ring no longer gives them; see `run::follow_ownership`.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use herald_homeserver::Lease;
use redis::{aio::ConnectionManager, Script};

/// How long an announcement lives, and how often it is renewed.
pub const TTL: Duration = Duration::from_secs(2);
pub const RENEW: Duration = Duration::from_millis(500);

/// KEYS: the set, the addresses, the epoch, the acks; ARGV: id, address, TTL in ms.
/// Returns the epoch.
const ANNOUNCE: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if (not old) or tonumber(old) <= now then
  redis.call('HDEL', KEYS[4], ARGV[1])
  return redis.call('INCR', KEYS[3])
end
return tonumber(redis.call('GET', KEYS[3]) or '0')";

/// KEYS: the set, the addresses, the epoch, the acks; returns the epoch, then id,
/// address, acknowledged epoch for each member.
const LIST: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('HDEL', KEYS[4], unpack(gone))
  redis.call('INCR', KEYS[3])
end
local out = { tostring(redis.call('GET', KEYS[3]) or '0') }
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local addr = redis.call('HGET', KEYS[2], id)
  if addr then
    table.insert(out, id)
    table.insert(out, addr)
    table.insert(out, tostring(redis.call('HGET', KEYS[4], id) or '0'))
  end
end
return out";

/// KEYS: the set, the addresses, the epoch, the acks; ARGV: id.
const WITHDRAW: &str = r"
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[3])
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1";

/// One reading of a role's membership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub epoch: u64,
    /// id → member.
    pub members: BTreeMap<String, Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its gRPC address.
    pub addr: String,
    /// The last epoch it acknowledged.
    pub ack: u64,
}

impl View {
    /// Whether every live member has acknowledged this view's epoch.
    pub fn settled(&self) -> bool {
        self.members.values().all(|n| n.ack >= self.epoch)
    }
}

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

    /// The sorted set, the address hash, the epoch and the acks of `role`.
    fn keys(&self, role: &str) -> [String; 4] {
        let set = format!("{}members:{role}", self.prefix);
        let addrs = format!("{set}:addr");
        let epoch = format!("{set}:epoch");
        let acks = format!("{set}:ack");
        [set, addrs, epoch, acks]
    }

    /// Announces `id` (of `role`) at `addr` until the task is dropped. Each renewal that
    /// Redis confirms extends `lease` to TTL (less a margin) after it was sent.
    pub fn announce(
        &self,
        role: &'static str,
        id: String,
        addr: String,
        lease: Option<Lease>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let script = Script::new(ANNOUNCE);
            let [set, addrs, epoch, acks] = me.keys(role);
            let mut c = me.conn.clone();
            let mut tick = tokio::time::interval(RENEW);
            loop {
                tick.tick().await;
                let sent = Instant::now();
                let renewed: redis::RedisResult<u64> = script
                    .key(&set)
                    .key(&addrs)
                    .key(&epoch)
                    .key(&acks)
                    .arg(&id)
                    .arg(&addr)
                    .arg(TTL.as_millis() as u64)
                    .invoke_async(&mut c)
                    .await;
                match renewed {
                    Ok(_) => {
                        if let Some(l) = &lease {
                            l.renewed(sent, TTL);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "membership not renewed"),
                }
            }
        })
    }

    /// Withdraws an announcement (a graceful stop).
    pub async fn withdraw(&self, role: &str, id: &str) {
        let [set, addrs, epoch, acks] = self.keys(role);
        let mut c = self.conn.clone();
        let r: redis::RedisResult<i64> = Script::new(WITHDRAW)
            .key(set)
            .key(addrs)
            .key(epoch)
            .key(acks)
            .arg(id)
            .invoke_async(&mut c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "membership not withdrawn (it expires by itself)");
        }
    }

    /// Records that `id` has applied `epoch`.
    pub async fn acknowledge(&self, role: &str, id: &str, epoch: u64) -> redis::RedisResult<()> {
        let [_, _, _, acks] = self.keys(role);
        let mut c = self.conn.clone();
        redis::cmd("HSET")
            .arg(acks)
            .arg(id)
            .arg(epoch)
            .query_async(&mut c)
            .await
    }

    /// The live members of `role` and the epoch of that membership.
    pub async fn list(&self, role: &str) -> redis::RedisResult<View> {
        let [set, addrs, epoch, acks] = self.keys(role);
        let mut c = self.conn.clone();
        let flat: Vec<String> = Script::new(LIST)
            .key(set)
            .key(addrs)
            .key(epoch)
            .key(acks)
            .invoke_async(&mut c)
            .await?;
        let Some((epoch, rest)) = flat.split_first() else {
            return Ok(View::default());
        };
        Ok(View {
            epoch: epoch.parse().unwrap_or(0),
            members: rest
                .chunks_exact(3)
                .map(|p| {
                    let node = Node {
                        addr: p[1].clone(),
                        ack: p[2].parse().unwrap_or(0),
                    };
                    (p[0].clone(), node)
                })
                .collect(),
        })
    }
}
