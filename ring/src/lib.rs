//! # herald-ring
//!
//! Maps a canonical address-of-record (`sip:user@domain`) to the home server that owns it,
//! by weighted rendezvous (highest-random-weight) hashing over an explicitly keyed
//! SipHash-1-3. Every member scores every key; the highest score owns it, and the ranking
//! gives the failover order. Adding or removing a member moves only the keys it wins or
//! owned (about 1/N), and weights shift load proportionally.
//!
//! Placement must never change silently across builds, versions or platforms: the hash key
//! is a constant, and the weighting uses integer fixed-point arithmetic only (no `f64::ln`,
//! whose last bits differ between math libraries). `tests/golden.rs` pins placements.

mod score;

use std::{collections::HashSet, fmt};

pub use score::score_hash;

/// A home server's identity on the ring.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HomeId(pub String);

impl fmt::Display for HomeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member and its relative capacity (weight 2 takes twice the keys of weight 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: HomeId,
    pub weight: u32,
}

impl Member {
    pub fn new(id: impl Into<String>, weight: u32) -> Member {
        Member {
            id: HomeId(id.into()),
            weight,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RingError {
    #[error("home server {0} is listed twice")]
    DuplicateMember(HomeId),
    #[error("home server {0} has weight 0")]
    ZeroWeight(HomeId),
    #[error("home server id is empty")]
    EmptyId,
}

/// An immutable set of members; rebuild it when membership changes.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    members: Vec<Member>,
    uniform: bool,
}

impl Ring {
    pub fn new(members: impl IntoIterator<Item = Member>) -> Result<Ring, RingError> {
        let mut members: Vec<Member> = members.into_iter().collect();
        let mut seen = HashSet::new();
        for m in &members {
            if m.id.0.is_empty() {
                return Err(RingError::EmptyId);
            }
            if m.weight == 0 {
                return Err(RingError::ZeroWeight(m.id.clone()));
            }
            if !seen.insert(&m.id) {
                return Err(RingError::DuplicateMember(m.id.clone()));
            }
        }
        // Order does not affect placement (ties break by hash, then id); sorting keeps
        // `members()` stable for callers.
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let uniform = members.windows(2).all(|w| w[0].weight == w[1].weight);
        Ok(Ring { members, uniform })
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The owner of `aor`, or `None` on an empty ring.
    pub fn owner(&self, aor: &str) -> Option<&HomeId> {
        let mut best: Option<(&Member, u64)> = None;
        for m in &self.members {
            let h = score_hash(&m.id.0, aor);
            best = match best {
                Some((b, bh)) if !self.beats(m, h, b, bh) => Some((b, bh)),
                _ => Some((m, h)),
            };
        }
        best.map(|(m, _)| &m.id)
    }

    /// Every member, best first: the owner, then who takes over if it is gone, and so on.
    pub fn ranked(&self, aor: &str) -> Vec<&HomeId> {
        let mut scored: Vec<(&Member, u64)> = self
            .members
            .iter()
            .map(|m| (m, score_hash(&m.id.0, aor)))
            .collect();
        scored.sort_by(|(a, ha), (b, hb)| {
            if self.beats(a, *ha, b, *hb) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        scored.into_iter().map(|(m, _)| &m.id).collect()
    }

    /// Whether member `a` (hash `ha`) outranks member `b` (hash `hb`) for one key.
    fn beats(&self, a: &Member, ha: u64, b: &Member, hb: u64) -> bool {
        if !self.uniform {
            match score::compare_weighted(a.weight, ha, b.weight, hb) {
                std::cmp::Ordering::Greater => return true,
                std::cmp::Ordering::Less => return false,
                std::cmp::Ordering::Equal => {}
            }
        }
        // Equal weights: the score is monotonic in the hash, so compare hashes directly.
        (ha, &a.id) > (hb, &b.id)
    }
}

#[cfg(test)]
mod tests;
