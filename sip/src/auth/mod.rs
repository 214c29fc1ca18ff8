//! Digest authentication, server side (RFC 3261 §22, RFC 7616 as used by SIP per RFC 8760):
//! parsing of credentials and challenges, MD5 and SHA-256, `qop=auth` (and the RFC 2069
//! form without qop that old phones still send), stateless nonces with expiry and
//! `stale=true`, and a hook against nonce-count replay. Time comes in as unix seconds.

mod algorithm;
mod challenge;
mod client;
mod error;
mod nonce;
mod params;
mod replay;
mod verify;

pub use algorithm::{ha1, Algorithm};
pub use challenge::Challenge;
pub use error::DigestError;
pub use nonce::{NonceKey, NonceStatus};
pub use params::{Credentials, Qop};
pub use replay::{MemoryReplayGuard, ReplayGuard};
pub use verify::{expected_response, AuthOutcome, FailReason, Verifier};

use crate::header::{HeaderName, Headers};

/// The Digest credentials in `headers` (Authorization or Proxy-Authorization, per `name`)
/// meant for `realm`. A request may carry several (one per realm, RFC 3261 §22.4); lines
/// for other realms or schemes are skipped. `None` if there is none for this realm; the
/// error of the first malformed Digest line for this realm otherwise.
pub fn credentials_for_realm<'a>(
    headers: &'a Headers,
    name: &HeaderName,
    realm: &str,
) -> Option<Result<Credentials<'a>, DigestError>> {
    for line in headers.get_all(name) {
        match Credentials::parse(line) {
            Ok(c) if *c.realm == *realm => return Some(Ok(c)),
            Ok(_) | Err(DigestError::UnsupportedScheme(_)) => {}
            Err(e) if line.contains(realm) => return Some(Err(e)),
            Err(_) => {}
        }
    }
    None
}
