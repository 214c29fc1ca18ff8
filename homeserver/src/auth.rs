//! Digest authentication of requests (RFC 3261 §22, RFC 7616, RFC 8760): REGISTER is
//! challenged by the registrar (401, WWW-Authenticate), everything else by the proxy (407,
//! Proxy-Authenticate). An unknown user, a disabled user and a wrong password get the same
//! answer, computed the same way, so that the answer does not tell which it was. Failures
//! feed the ban list ([`crate::bans`]); a banned source, or a banned user from an unusual
//! source, gets that same 403 — even with the right password.

use std::net::IpAddr;

use herald_sip::{
    auth::{
        credentials_for_realm, Algorithm, AuthOutcome, Credentials, MemoryReplayGuard, NonceKey,
        ReplayGuard, Verifier,
    },
    HeaderName, Method, Request, Response, StatusCode,
};

use crate::{
    bans::BanList,
    config::HomeConfig,
    reply,
    store::{Aor, Store, StoreError, UserRef},
};

/// What checking credentials concluded; SIP and XCAP each answer it their own way.
pub enum Checked {
    Ok(UserRef),
    /// The right password on an expired nonce: challenge again with `stale=true`.
    Stale,
    /// Wrong password, unknown or disabled user, replay, or a ban: all alike.
    Refused,
}

/// The user the credentials name, and the HA1 to check them against: the stored one for
/// their algorithm, or one that fails alike when the user is unknown or disabled or the
/// algorithm is not offered — the same work either way.
pub async fn lookup(
    creds: &Credentials<'_>,
    store: &dyn Store,
    domain: &str,
    offered: &[Algorithm],
) -> Result<(Option<UserRef>, String), StoreError> {
    let user = match Aor::of_parts(&creds.username, domain) {
        Some(a) => store.user(&a).await?,
        None => None,
    };
    let ha1 = user
        .as_ref()
        .filter(|u| !u.disabled && offered.contains(&creds.algorithm))
        .and_then(|u| match creds.algorithm {
            Algorithm::Md5 => u.credentials.ha1_md5.clone(),
            Algorithm::Sha256 => u.credentials.ha1_sha256.clone(),
        })
        .unwrap_or_else(|| NO_SUCH_HA1.to_owned());
    Ok((user, ha1))
}

/// Checks `(credentials, method, uri)` against `(user, ha1)` from [`lookup`] and feeds
/// the outcome to the ban list (bans are kept per canonical AOR of a real user: other
/// spellings of a name cannot dodge them, and made-up names take no room). The digest is
/// always computed, so a banned or unknown user costs what a real one does.
pub fn conclude(
    verifier: &Verifier,
    replay: &mut impl ReplayGuard,
    bans: &BanList,
    (creds, method, uri): (&Credentials<'_>, &str, &str),
    (user, ha1): (Option<UserRef>, &str),
    source: IpAddr,
    now_secs: u64,
) -> Checked {
    let outcome = verifier.check(creds, method, uri, ha1, now_secs, replay);
    if user
        .as_ref()
        .is_some_and(|u| bans.refuse_user(u.aor.as_str(), source, now_secs))
    {
        return Checked::Refused;
    }
    match (outcome, user) {
        (AuthOutcome::Ok, Some(u)) if !u.disabled => {
            bans.success(source, u.aor.as_str(), now_secs);
            Checked::Ok(u)
        }
        (AuthOutcome::Stale, Some(u)) if !u.disabled => Checked::Stale,
        (outcome, user) => {
            let name: &str = &creds.username;
            tracing::info!(user = %name, %source, ?outcome, method, "authentication failed");
            bans.failure(source, user.as_ref().map(|u| u.aor.as_str()), now_secs);
            Checked::Refused
        }
    }
}

/// The verdict on a request.
pub enum Verdict {
    /// Authenticated as this user.
    Ok(UserRef),
    /// Send this response (a challenge, or 403).
    Reply(Response),
}

pub struct Authenticator {
    verifier: Verifier,
    replay: MemoryReplayGuard,
    bans: BanList,
}

/// Most sources and user names the ban list tracks.
pub const BAN_TABLE: usize = 100_000;

/// HA1 used when the user does not exist: the check runs all the same and fails.
const NO_SUCH_HA1: &str = "00000000000000000000000000000000000000000000000000000000000000";

impl Authenticator {
    pub fn new(cfg: &HomeConfig, bans: BanList) -> Authenticator {
        Authenticator {
            verifier: Verifier::new(
                NonceKey::new(cfg.nonce_secret),
                cfg.domain.clone(),
                cfg.nonce_max_age_secs,
            )
            .with_uri_check(cfg.auth_check_uri),
            replay: MemoryReplayGuard::new(cfg.nonce_max_age_secs, 100_000),
            bans,
        }
    }

    /// Authenticates `req` from `source`; `now_secs` is the wall clock in seconds.
    pub async fn check(
        &mut self,
        req: &Request,
        source: IpAddr,
        store: &dyn Store,
        cfg: &HomeConfig,
        now_secs: u64,
    ) -> Result<Verdict, StoreError> {
        if self.bans.refuse_source(source, now_secs) {
            return Ok(Verdict::Reply(reply::to(req, StatusCode::FORBIDDEN, cfg)));
        }
        let registrar = req.method == Method::Register;
        let header = if registrar {
            HeaderName::Authorization
        } else {
            HeaderName::ProxyAuthorization
        };
        let creds = match credentials_for_realm(&req.headers, &header, self.verifier.realm()) {
            None => return Ok(Verdict::Reply(self.challenge(req, cfg, now_secs, false))),
            Some(Err(e)) => {
                let reason = format!("Bad credentials: {e}");
                return Ok(Verdict::Reply(reply::with_reason(
                    req,
                    StatusCode::BAD_REQUEST,
                    &reason,
                    cfg,
                )));
            }
            Some(Ok(c)) => c,
        };
        let (user, ha1) = lookup(&creds, store, &cfg.domain, &cfg.auth_algorithms).await?;
        let (method, uri) = (req.method.as_str(), req.uri.as_str());
        let checked = conclude(
            &self.verifier,
            &mut self.replay,
            &self.bans,
            (&creds, method, uri),
            (user, &ha1),
            source,
            now_secs,
        );
        Ok(match checked {
            Checked::Ok(u) => Verdict::Ok(u),
            Checked::Stale => Verdict::Reply(self.challenge(req, cfg, now_secs, true)),
            Checked::Refused => Verdict::Reply(reply::to(req, StatusCode::FORBIDDEN, cfg)),
        })
    }

    /// A 401 (REGISTER) or 407 (anything else) with SHA-256 and MD5 challenges.
    pub fn challenge(
        &self,
        req: &Request,
        cfg: &HomeConfig,
        now_secs: u64,
        stale: bool,
    ) -> Response {
        let (status, header) = if req.method == Method::Register {
            (StatusCode::UNAUTHORIZED, HeaderName::WwwAuthenticate)
        } else {
            (
                StatusCode::PROXY_AUTH_REQUIRED,
                HeaderName::ProxyAuthenticate,
            )
        };
        let mut r = reply::to(req, status, cfg);
        let offered = self.verifier.challenges(now_secs, rand::random(), stale);
        for alg in &cfg.auth_algorithms {
            if let Some(c) = offered.iter().find(|c| c.algorithm == *alg) {
                r.headers.push(header.clone(), c.to_string());
            }
        }
        r
    }
}
