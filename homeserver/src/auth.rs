//! Digest authentication of requests (RFC 3261 §22, RFC 7616, RFC 8760): REGISTER is
//! challenged by the registrar (401, WWW-Authenticate), everything else by the proxy (407,
//! Proxy-Authenticate). An unknown user, a disabled user and a wrong password get the same
//! answer, computed the same way, so that the answer does not tell which it was. Failures
//! feed the ban list ([`crate::bans`]); a banned source, or a banned user from an unusual
//! source, gets that same 403 — even with the right password.

use std::net::IpAddr;

use herald_sip::{
    auth::{credentials_for_realm, Algorithm, AuthOutcome, MemoryReplayGuard, NonceKey, Verifier},
    HeaderName, Method, Request, Response, StatusCode,
};

use crate::{
    bans::BanList,
    config::HomeConfig,
    reply,
    store::{Aor, Store, StoreError, User},
};

/// The verdict on a request.
pub enum Verdict {
    /// Authenticated as this user.
    Ok(User),
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
        let aor = Aor::parse(&format!("{}@{}", creds.username, cfg.domain));
        let user = match &aor {
            Some(a) => store.user(a).await?,
            None => None,
        };
        let usable = user.as_ref().filter(|u| !u.disabled);
        let offered = cfg.auth_algorithms.contains(&creds.algorithm);
        let ha1 = usable
            .filter(|_| offered)
            .and_then(|u| match creds.algorithm {
                Algorithm::Md5 => u.credentials.ha1_md5.clone(),
                Algorithm::Sha256 => u.credentials.ha1_sha256.clone(),
            })
            .unwrap_or_else(|| NO_SUCH_HA1.to_owned());
        let outcome = self.verifier.check(
            &creds,
            req.method.as_str(),
            req.uri.as_str(),
            &ha1,
            now_secs,
            &mut self.replay,
        );
        let name = creds.username.as_ref();
        // Bans are kept per canonical AOR of a real user: other spellings of the same
        // name cannot dodge them, and made-up names take no room.
        let key = user.as_ref().map(|u| u.aor.as_str().to_owned());
        if let Some(k) = &key {
            if self.bans.refuse_user(k, source, now_secs) {
                return Ok(Verdict::Reply(reply::to(req, StatusCode::FORBIDDEN, cfg)));
            }
        }
        match (outcome, usable) {
            (AuthOutcome::Ok, Some(u)) => {
                self.bans.success(source, u.aor.as_str(), now_secs);
                Ok(Verdict::Ok(u.clone()))
            }
            (AuthOutcome::Stale, Some(_)) => {
                Ok(Verdict::Reply(self.challenge(req, cfg, now_secs, true)))
            }
            (outcome, _) => {
                tracing::info!(user = %name, %source, ?outcome, method = %req.method.as_str(), "authentication failed");
                self.bans.failure(source, key.as_deref(), now_secs);
                Ok(Verdict::Reply(reply::to(req, StatusCode::FORBIDDEN, cfg)))
            }
        }
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
