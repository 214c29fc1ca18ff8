//! Checking credentials: the expected response (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1 without
//! qop), and a registrar-side `Verifier` tying realm, nonce freshness, request-URI and
//! replay together.

use subtle::ConstantTimeEq;

use super::{Challenge, Credentials, NonceKey, NonceStatus, Qop, ReplayGuard};
use crate::uri::equivalent_text;

/// The response a client that knows the password would send; `ha1` is the stored
/// H(username:realm:password) for the credentials' algorithm.
pub fn expected_response(creds: &Credentials<'_>, method: &str, ha1: &str) -> String {
    let alg = creds.algorithm;
    let ha2 = alg.hex(&[method, &creds.uri]);
    match (creds.qop, creds.nc_raw, creds.cnonce.as_deref()) {
        (Some(Qop::Auth), Some(nc), Some(cnonce)) => {
            alg.hex(&[ha1, &creds.nonce, nc, cnonce, "auth", &ha2])
        }
        _ => alg.hex(&[ha1, &creds.nonce, &ha2]),
    }
}

/// Whether `sent` is the lower-case hex `expected`, in either case, compared in constant
/// time (lower-cased on the stack: a digest is at most 64 characters).
fn same_hex(expected: &str, sent: &str) -> bool {
    let mut lower = [0u8; 64];
    let Some(lower) = lower.get_mut(..sent.len()) else {
        return false;
    };
    for (l, c) in lower.iter_mut().zip(sent.bytes()) {
        *l = c.to_ascii_lowercase();
    }
    bool::from(expected.as_bytes().ct_eq(lower))
}

/// Why credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    RealmMismatch,
    BadNonce,
    UriMismatch,
    WrongResponse,
    Replay,
}

/// The verdict on a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Ok,
    /// Right password, expired nonce: challenge again with `stale=true`.
    Stale,
    Failed(FailReason),
}

/// A realm's verifier: issues challenges and checks credentials against them.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: NonceKey,
    realm: String,
    max_age_secs: u64,
    check_uri: bool,
}

impl Verifier {
    pub fn new(key: NonceKey, realm: impl Into<String>, max_age_secs: u64) -> Self {
        Verifier {
            key,
            realm: realm.into(),
            max_age_secs,
            check_uri: true,
        }
    }

    /// Whether the digest-uri must name the Request-URI (RFC 3261 §22.4; on by default).
    /// Some clients (SIPp among them) put the server's address there instead; turning
    /// the check off accepts them, with nonce expiry and nonce-count replay protection
    /// still in force.
    pub fn with_uri_check(mut self, on: bool) -> Self {
        self.check_uri = on;
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The two challenges to send, preferred first (RFC 8760 §2.4): SHA-256, then MD5.
    /// `salt`: a random number, so that no two challenges share a nonce.
    pub fn challenges(&self, now_secs: u64, salt: u64, stale: bool) -> [Challenge; 2] {
        let nonce = self.key.issue(&self.realm, now_secs, salt);
        let make = |algorithm| Challenge {
            realm: self.realm.clone(),
            nonce: nonce.clone(),
            algorithm,
            qop: Some(Qop::Auth),
            opaque: None,
            stale,
        };
        [make(super::Algorithm::Sha256), make(super::Algorithm::Md5)]
    }

    /// Checks credentials for a request with `method` and `request_uri`; `ha1` is the
    /// stored HA1 of the user for `creds.algorithm`. The replay guard is consulted only
    /// once everything else checked out.
    pub fn check(
        &self,
        creds: &Credentials<'_>,
        method: &str,
        request_uri: &str,
        ha1: &str,
        now_secs: u64,
        replay: &mut impl ReplayGuard,
    ) -> AuthOutcome {
        if *creds.realm != *self.realm {
            return AuthOutcome::Failed(FailReason::RealmMismatch);
        }
        let nonce = self
            .key
            .check(&creds.nonce, &self.realm, now_secs, self.max_age_secs);
        if nonce == NonceStatus::Invalid {
            return AuthOutcome::Failed(FailReason::BadNonce);
        }
        // The digest-uri must name the Request-URI (RFC 3261 §22.4).
        if self.check_uri && !equivalent_text(&creds.uri, request_uri) {
            return AuthOutcome::Failed(FailReason::UriMismatch);
        }
        let expected = expected_response(creds, method, ha1);
        if !same_hex(&expected, &creds.response) {
            return AuthOutcome::Failed(FailReason::WrongResponse);
        }
        if nonce == NonceStatus::Stale {
            return AuthOutcome::Stale;
        }
        // Without qop there is no nonce count (RFC 2069 clients); the nonce lifetime bounds
        // the replay window then.
        if let Some(nc) = creds.nc {
            if !replay.check_and_record(&creds.nonce, nc, now_secs) {
                return AuthOutcome::Failed(FailReason::Replay);
            }
        }
        AuthOutcome::Ok
    }
}

#[cfg(test)]
mod tests;
