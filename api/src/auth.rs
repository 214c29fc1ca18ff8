//! Bearer tokens: `hrld_` + 32 random bytes (base64url). Only the SHA-256 of a token is
//! stored; the secret is shown once, when it is created (`herald token create`).
//! Every `/api/v1` route except the OpenAPI document needs one; anything else gets 401.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use herald_homeserver::store::ApiToken;
use sha2::{Digest, Sha256};

use crate::{error::error_body, ApiState};

/// A new token: the secret to hand out and the record to store.
pub fn new_token(name: &str, now_secs: u64) -> (String, ApiToken) {
    let bytes: [u8; 32] = rand::random();
    let secret = format!(
        "hrld_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let token = ApiToken {
        name: name.to_owned(),
        hash: hash(&secret),
        created_at: now_secs,
    };
    (secret, token)
}

/// The stored form of a token.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lets the request through if it carries a known token.
pub(crate) async fn require(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(secret) = secret else {
        return unauthorized("an API token is required (Authorization: Bearer <token>)");
    };
    match s.store.token_by_hash(&hash(secret)).await {
        Ok(Some(name)) => {
            let method = req.method().clone();
            let path = req.uri().path().to_owned();
            let resp = next.run(req).await;
            let status = resp.status().as_u16();
            tracing::info!(token = %name, %method, %path, status, "admin API call");
            metrics::counter!("herald_api_requests_total", "status" => status.to_string())
                .increment(1);
            resp
        }
        Ok(None) => {
            metrics::counter!("herald_api_refused_total").increment(1);
            unauthorized("unknown or revoked API token")
        }
        Err(e) => {
            tracing::error!(error = %e, "admin API: token lookup failed");
            error_body(StatusCode::SERVICE_UNAVAILABLE, "token store unavailable")
        }
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = error_body(StatusCode::UNAUTHORIZED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"herald\""),
    );
    r.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_as_hashes() {
        let (a, ta) = new_token("ops", 1);
        let (b, _) = new_token("ops", 1);
        assert_ne!(a, b);
        assert!(a.starts_with("hrld_") && a.len() > 40);
        assert_eq!(ta.hash, hash(&a));
        assert_eq!(ta.hash.len(), 64);
        assert!(!ta.hash.contains(&a[5..]));
    }
}
