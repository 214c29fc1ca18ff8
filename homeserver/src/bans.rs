//! Password-guessing defence: failed authentications are counted per source address and
//! per user name in a sliding window. A source past its threshold is refused outright for
//! the ban period; a user name past its threshold is refused from every source that is not
//! one of the user's usual ones (sources it authenticated from before), so an attacker
//! guessing one account cannot lock its owner out. During a ban even the right password
//! fails. Pure: the caller passes the time.
//!
//! Each table is bounded (see [`entry`]).
//! In the pool the same policy runs on counters shared through Redis.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
};

/// Thresholds and periods (all settings; see the README's limits table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanPolicy {
    /// The sliding window failures are counted in.
    pub window_secs: u64,
    /// Failures from one source within the window that ban it (0: never).
    pub max_per_source: usize,
    /// Failures for one user name within the window that ban it from unusual sources
    /// (0: never).
    pub max_per_user: usize,
    /// How long a ban lasts.
    pub ban_secs: u64,
}

impl Default for BanPolicy {
    fn default() -> Self {
        BanPolicy {
            window_secs: 300,
            max_per_source: 20,
            max_per_user: 10,
            ban_secs: 900,
        }
    }
}

/// A ban that a failure just started (for the log and the metric).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewBan {
    Source(IpAddr),
    User(String),
}

#[derive(Debug, Default)]
struct Track {
    failures: VecDeque<u64>,
    banned_until: u64,
}

impl Track {
    /// Records a failure; returns true when it starts a ban.
    fn fail(&mut self, now: u64, policy: &BanPolicy, max: usize) -> bool {
        if max == 0 {
            return false;
        }
        while self
            .failures
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= policy.window_secs)
        {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        if self.failures.len() > max {
            self.failures.pop_front();
        }
        if self.failures.len() >= max && self.banned_until <= now {
            self.banned_until = now + policy.ban_secs;
            self.failures.clear();
            return true;
        }
        false
    }

    fn banned(&self, now: u64) -> bool {
        self.banned_until > now
    }
}

/// How long a source stays "usual" for a user after a successful authentication.
const USUAL_SECS: u64 = 30 * 86_400;
/// Usual sources remembered per user.
const USUAL_PER_USER: usize = 16;

/// The failure counters and bans of one home server.
#[derive(Debug)]
pub struct Bans {
    policy: BanPolicy,
    capacity: usize,
    sources: HashMap<IpAddr, Track>,
    users: HashMap<String, Track>,
    usual: HashMap<String, Vec<(IpAddr, u64)>>,
}

impl Bans {
    pub fn new(policy: BanPolicy, capacity: usize) -> Bans {
        Bans {
            policy,
            capacity: capacity.max(1),
            sources: HashMap::new(),
            users: HashMap::new(),
            usual: HashMap::new(),
        }
    }

    /// Whether `ip` is banned.
    pub fn source_banned(&self, ip: IpAddr, now: u64) -> bool {
        self.sources.get(&ip).is_some_and(|t| t.banned(now))
    }

    /// Whether `user` is banned for requests from `ip` (not one of its usual sources).
    pub fn user_banned(&self, user: &str, ip: IpAddr, now: u64) -> bool {
        self.users.get(user).is_some_and(|t| t.banned(now)) && !self.is_usual(user, ip, now)
    }

    /// Records a failed authentication from `ip`, of `user` when the name is a real
    /// user's (canonical AOR; other names are not tracked: they cost memory and can be
    /// spelled endlessly); returns the bans it started.
    pub fn failure(&mut self, ip: IpAddr, user: Option<&str>, now: u64) -> Vec<NewBan> {
        let policy = self.policy;
        let mut started = Vec::new();
        let (cap, window) = (self.capacity, policy.window_secs);
        if entry(&mut self.sources, ip, cap, now, window)
            .is_some_and(|t| t.fail(now, &policy, policy.max_per_source))
        {
            started.push(NewBan::Source(ip));
        }
        // Failures from a usual source (a phone with an old password) do not count
        // against the user: they cannot lock it out from elsewhere either.
        let Some(user) = user else {
            return started;
        };
        if !self.is_usual(user, ip, now)
            && entry(&mut self.users, user.to_owned(), cap, now, window)
                .is_some_and(|t| t.fail(now, &policy, policy.max_per_user))
        {
            started.push(NewBan::User(user.to_owned()));
        }
        started
    }

    /// Records a successful authentication: `ip` becomes a usual source of `user`.
    pub fn success(&mut self, ip: IpAddr, user: &str, now: u64) {
        if !self.usual.contains_key(user) && self.usual.len() >= self.capacity {
            self.usual
                .retain(|_, v| v.iter().any(|(_, t)| now.saturating_sub(*t) < USUAL_SECS));
            if self.usual.len() >= self.capacity {
                return;
            }
        }
        let list = self.usual.entry(user.to_owned()).or_default();
        list.retain(|(i, t)| *i != ip && now.saturating_sub(*t) < USUAL_SECS);
        list.push((ip, now));
        if list.len() > USUAL_PER_USER {
            list.remove(0);
        }
    }

    fn is_usual(&self, user: &str, ip: IpAddr, now: u64) -> bool {
        self.usual.get(user).is_some_and(|l| {
            l.iter()
                .any(|(i, t)| *i == ip && now.saturating_sub(*t) < USUAL_SECS)
        })
    }
}

/// The track for `key`. When the table is full, tracks with nothing left in the window
/// and no ban are dropped first; if that frees nothing, the new key goes untracked (an
/// attacker with that many live addresses is past what per-source bans can do).
fn entry<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Track>,
    key: K,
    capacity: usize,
    now: u64,
    window: u64,
) -> Option<&mut Track> {
    if !map.contains_key(&key) && map.len() >= capacity {
        map.retain(|_, t| {
            t.banned(now)
                || t.failures
                    .back()
                    .is_some_and(|last| now.saturating_sub(*last) < window)
        });
        if map.len() >= capacity {
            return None;
        }
    }
    Some(map.entry(key).or_default())
}

/// The ban list shared by every way in (SIP digest, XCAP), with the log lines and
/// metrics of refusals and bans in one place.
#[derive(Clone)]
pub struct BanList {
    bans: std::sync::Arc<std::sync::Mutex<Bans>>,
    ban_secs: u64,
}

impl BanList {
    pub fn new(policy: BanPolicy, capacity: usize) -> BanList {
        BanList {
            bans: std::sync::Arc::new(std::sync::Mutex::new(Bans::new(policy, capacity))),
            ban_secs: policy.ban_secs,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bans> {
        self.bans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `ip` is banned (counted as a refusal when it is).
    pub fn refuse_source(&self, ip: IpAddr, now: u64) -> bool {
        let banned = self.lock().source_banned(ip, now);
        if banned {
            metrics::counter!("herald_refused_total", "reason" => "banned_source").increment(1);
        }
        banned
    }

    /// Whether `user` (a canonical AOR) is banned for `ip` (counted when it is).
    pub fn refuse_user(&self, user: &str, ip: IpAddr, now: u64) -> bool {
        let banned = self.lock().user_banned(user, ip, now);
        if banned {
            metrics::counter!("herald_refused_total", "reason" => "banned_user").increment(1);
            tracing::info!(%user, source = %ip, "refused: user banned for this source");
        }
        banned
    }

    pub fn success(&self, ip: IpAddr, user: &str, now: u64) {
        self.lock().success(ip, user, now);
    }

    /// Records a failure (see [`Bans::failure`]), logging and counting any ban it starts.
    pub fn failure(&self, ip: IpAddr, user: Option<&str>, now: u64) {
        metrics::counter!("herald_refused_total", "reason" => "auth_failed").increment(1);
        let banned_secs = self.ban_secs;
        for ban in self.lock().failure(ip, user, now) {
            match ban {
                NewBan::Source(ip) => {
                    tracing::warn!(source = %ip, banned_secs, "source banned after repeated authentication failures");
                    metrics::counter!("herald_bans_total", "kind" => "source").increment(1);
                }
                NewBan::User(user) => {
                    tracing::warn!(%user, banned_secs, "user banned for unusual sources after repeated authentication failures");
                    metrics::counter!("herald_bans_total", "kind" => "user").increment(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    fn policy() -> BanPolicy {
        BanPolicy {
            window_secs: 60,
            max_per_source: 3,
            max_per_user: 5,
            ban_secs: 100,
        }
    }

    #[test]
    fn a_source_is_banned_after_the_threshold_and_released_after_the_period() {
        let mut b = Bans::new(policy(), 100);
        assert!(b.failure(ip(2), Some("a"), 0).is_empty());
        assert!(b.failure(ip(2), Some("b"), 1).is_empty());
        assert_eq!(b.failure(ip(2), Some("c"), 2), vec![NewBan::Source(ip(2))]);
        assert!(b.source_banned(ip(2), 50));
        assert!(!b.source_banned(ip(3), 50));
        assert!(!b.source_banned(ip(2), 102));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let mut b = Bans::new(policy(), 100);
        b.failure(ip(2), Some("a"), 0);
        b.failure(ip(2), Some("a"), 30);
        // The first has left the 60 s window.
        assert!(b.failure(ip(2), Some("a"), 61).is_empty());
        assert!(!b.source_banned(ip(2), 61));
    }

    #[test]
    fn a_guessed_user_is_refused_from_unusual_sources_only() {
        let mut b = Bans::new(policy(), 100);
        b.success(ip(1), "alice", 0);
        let mut started = Vec::new();
        for (i, n) in [10u8, 11, 12, 13, 14].into_iter().enumerate() {
            started.extend(b.failure(ip(n), Some("alice"), i as u64));
        }
        assert_eq!(started, vec![NewBan::User("alice".into())]);
        assert!(b.user_banned("alice", ip(20), 10));
        assert!(!b.user_banned("alice", ip(1), 10), "her usual source");
        assert!(!b.user_banned("bob", ip(20), 10));
        assert!(!b.user_banned("alice", ip(20), 200));
    }

    #[test]
    fn failures_from_a_usual_source_do_not_ban_the_user() {
        let mut b = Bans::new(policy(), 100);
        b.success(ip(1), "alice", 0);
        for t in 0..10 {
            for n in b.failure(ip(1), Some("alice"), t) {
                assert_ne!(n, NewBan::User("alice".into()));
            }
        }
        assert!(!b.user_banned("alice", ip(9), 10));
    }

    #[test]
    fn tables_are_bounded() {
        let mut b = Bans::new(policy(), 10);
        for n in 0..=255u8 {
            b.failure(ip(n), Some(&format!("u{n}")), u64::from(n));
            b.success(ip(n), &format!("u{n}"), u64::from(n));
        }
        assert!(b.sources.len() <= 10 && b.users.len() <= 10 && b.usual.len() <= 10);
    }

    #[test]
    fn zero_thresholds_never_ban() {
        let mut b = Bans::new(
            BanPolicy {
                max_per_source: 0,
                max_per_user: 0,
                ..policy()
            },
            10,
        );
        for t in 0..100 {
            assert!(b.failure(ip(2), Some("a"), t).is_empty());
        }
    }
}
