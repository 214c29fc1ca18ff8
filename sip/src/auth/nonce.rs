//! Stateless nonces: `base64url(timestamp || salt || HMAC-SHA256(key, timestamp || salt ||
//! realm)[..16])`. The caller's salt (random) makes every challenge's nonce unique, so
//! that nonce-count replay protection works per challenge.
//! The server keeps no table: a nonce proves by its MAC that this server issued it for
//! this realm, and its timestamp tells whether it is still fresh.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far in the future a nonce timestamp may lie (clock skew between pool members).
const MAX_FUTURE_SKEW_SECS: u64 = 30;

/// The secret that signs nonces; every front end/home server of a pool shares it.
/// Held as HMAC state with the key already absorbed (its inner and outer pads, two
/// SHA-256 blocks), so each nonce costs the blocks of its own text only.
#[derive(Clone)]
pub struct NonceKey(Hmac<Sha256>);

/// What a nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    Valid,
    /// Issued by us, but older than allowed: answer 401 with `stale=true`.
    Stale,
    /// Not ours, tampered, for another realm, or from the future.
    Invalid,
}

impl NonceKey {
    pub fn new(secret: [u8; 32]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        NonceKey(<Hmac<Sha256> as Mac>::new_from_slice(&secret).unwrap_or_else(|_| unreachable!()))
    }

    pub fn issue(&self, realm: &str, now_secs: u64, salt: u64) -> String {
        let mut head = [0u8; 16];
        head[..8].copy_from_slice(&now_secs.to_be_bytes());
        head[8..].copy_from_slice(&salt.to_be_bytes());
        let mut raw = [0u8; 32];
        raw[..16].copy_from_slice(&head);
        raw[16..].copy_from_slice(&self.mac(&head, realm)[..16]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn check(&self, nonce: &str, realm: &str, now_secs: u64, max_age_secs: u64) -> NonceStatus {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return NonceStatus::Invalid;
        };
        if raw.len() != 32 {
            return NonceStatus::Invalid;
        }
        let mut head = [0u8; 16];
        head.copy_from_slice(&raw[..16]);
        let mac = self.mac(&head, realm);
        if !bool::from(mac[..16].ct_eq(&raw[16..])) {
            return NonceStatus::Invalid;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        let issued = u64::from_be_bytes(ts);
        if issued > now_secs.saturating_add(MAX_FUTURE_SKEW_SECS) {
            return NonceStatus::Invalid;
        }
        if now_secs.saturating_sub(issued) > max_age_secs {
            return NonceStatus::Stale;
        }
        NonceStatus::Valid
    }

    fn mac(&self, head: &[u8; 16], realm: &str) -> [u8; 32] {
        let mut m = self.0.clone();
        m.update(head);
        m.update(realm.as_bytes());
        m.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> NonceKey {
        NonceKey::new([7; 32])
    }

    #[test]
    fn fresh_stale_invalid() {
        let n = key().issue("example.com", 1_000, 7);
        assert_eq!(
            key().check(&n, "example.com", 1_100, 300),
            NonceStatus::Valid
        );
        assert_eq!(
            key().check(&n, "example.com", 1_301, 300),
            NonceStatus::Stale
        );
        assert_eq!(
            key().check(&n, "other.com", 1_100, 300),
            NonceStatus::Invalid
        );
        assert_eq!(
            NonceKey::new([8; 32]).check(&n, "example.com", 1_100, 300),
            NonceStatus::Invalid
        );
        assert_eq!(
            key().check(&n, "example.com", 900, 300),
            NonceStatus::Invalid,
            "from the future"
        );
        let other_salt = key().issue("example.com", 1_000, 8);
        assert_ne!(n, other_salt, "the salt makes nonces of one second differ");
        assert_eq!(
            key().check(&other_salt, "example.com", 1_100, 300),
            NonceStatus::Valid
        );
        let mut salt_changed = n.clone().into_bytes();
        salt_changed[12] = if salt_changed[12] == b'A' { b'B' } else { b'A' };
        let salt_changed = String::from_utf8(salt_changed).expect("ascii");
        assert_eq!(
            key().check(&salt_changed, "example.com", 1_100, 300),
            NonceStatus::Invalid
        );
        let mut tampered = n.into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert_eq!(
            key().check(&tampered, "example.com", 1_100, 300),
            NonceStatus::Invalid
        );
        assert_eq!(
            key().check("not base64!", "example.com", 1_100, 300),
            NonceStatus::Invalid
        );
    }

    /// The keyed state is reused, not changed by a nonce: every nonce's tag is still
    /// HMAC-SHA256(secret, timestamp || salt || realm) (pool members of another build
    /// must accept it), however many were issued before it.
    #[test]
    fn tag_is_plain_hmac_of_head_and_realm() {
        let k = key();
        for salt in [1u64, 2, 3] {
            let nonce = k.issue("example.com", 1_000 + salt, salt);
            let raw = URL_SAFE_NO_PAD.decode(&nonce).expect("base64url");
            let mut fresh = <Hmac<Sha256> as Mac>::new_from_slice(&[7; 32]).expect("any length");
            fresh.update(&raw[..16]);
            fresh.update(b"example.com");
            assert_eq!(&raw[16..], &fresh.finalize().into_bytes()[..16]);
        }
    }
}
