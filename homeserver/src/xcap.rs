//! XCAP (RFC 4825) for the documents clients keep on the server: the buddy list
//! (`resource-lists`, RFC 4826) and presence rules (`pres-rules`, RFC 5025), whole
//! documents under `/xcap-root/<auid>/users/<sip:user@domain>/<name>`, and the server's
//! capabilities (`/xcap-root/xcap-caps/global/index`).
//!
//! Every request is authenticated with HTTP Digest against the SIP credentials (same
//! realm, same stateless nonces); a user reaches only their own documents. Writes are
//! conditional on the ETag (`If-Match`, `If-None-Match: *` → 412 when stale), checked
//! for well-formedness (409 with an `xcap-error` body), and tell the engine, which
//! re-authorizes watchers and refreshes list subscriptions. Partial documents (node
//! selectors after `~~`) are answered 501.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use herald_sip::auth::{Algorithm, Credentials, MemoryReplayGuard, NonceKey, Verifier};

use crate::{
    auth::Checked,
    presence::{lists, rules},
    store::{Aor, Document, Store},
    HomeServer,
};

/// What the XCAP handlers share.
#[derive(Clone)]
pub struct Xcap {
    store: Arc<dyn Store>,
    home: HomeServer,
    verifier: Arc<Verifier>,
    replay: Arc<Mutex<MemoryReplayGuard>>,
    bans: crate::bans::BanList,
    domain: String,
}

/// The XCAP routes, ready to be served (or merged into another router).
pub fn router(store: Arc<dyn Store>, home: HomeServer, cfg: &crate::config::HomeConfig) -> Router {
    let x = Xcap {
        store,
        bans: home.bans(),
        home,
        verifier: Arc::new(Verifier::new(
            NonceKey::new(cfg.nonce_secret),
            cfg.domain.clone(),
            cfg.nonce_max_age_secs,
        )),
        replay: Arc::new(Mutex::new(MemoryReplayGuard::new(
            cfg.nonce_max_age_secs,
            100_000,
        ))),
        domain: cfg.domain.clone(),
    };
    Router::new()
        .route("/xcap-root/xcap-caps/global/index", get(caps))
        .route(
            "/xcap-root/{auid}/users/{xui}/{*doc}",
            get(document).put(document).delete(document),
        )
        .with_state(x)
}

/// Credentials of either algorithm are accepted (the challenge offers MD5, which every
/// XCAP client speaks).
const ALGORITHMS: &[Algorithm] = &[Algorithm::Md5, Algorithm::Sha256];

const CAPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps">
<auids><auid>xcap-caps</auid><auid>resource-lists</auid><auid>pres-rules</auid></auids>
<extensions/>
<namespaces><namespace>urn:ietf:params:xml:ns:resource-lists</namespace><namespace>urn:ietf:params:xml:ns:pres-rules</namespace><namespace>urn:ietf:params:xml:ns:common-policy</namespace></namespaces>
</xcap-caps>
"#;

async fn caps(
    State(x): State<Xcap>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = x.authenticate(peer, &method, &uri, &headers).await {
        return r;
    }
    ([(header::CONTENT_TYPE, "application/xcap-caps+xml")], CAPS).into_response()
}

fn content_type(auid: &str) -> Option<&'static str> {
    match auid {
        lists::AUID => Some("application/resource-lists+xml"),
        rules::AUID => Some("application/auth-policy+xml"),
        _ => None,
    }
}

fn error(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        format!("{text}\n"),
    )
        .into_response()
}

fn conflict(detail: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\">\
         <not-well-formed/><!-- {} --></xcap-error>\n",
        detail.replace("--", "- -")
    );
    (
        StatusCode::CONFLICT,
        [(header::CONTENT_TYPE, "application/xcap-error+xml")],
        body,
    )
        .into_response()
}

async fn document(
    State(x): State<Xcap>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((auid, xui, doc)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match x.authenticate(peer, &method, &uri, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(ctype) = content_type(&auid) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no application {auid:?} (resource-lists, pres-rules)"),
        );
    };
    if doc.contains("~~") {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "partial documents (node selectors) are not supported: GET or PUT the whole document",
        );
    }
    // `sip:user@domain` (Aor::parse takes the scheme off).
    let Some(owner) = Aor::parse(&xui) else {
        return error(StatusCode::NOT_FOUND, &format!("{xui:?} is not a user"));
    };
    if owner != user {
        return error(StatusCode::FORBIDDEN, "only your own documents");
    }
    let current = match x.store.document(&owner, &auid).await {
        Ok(d) => d,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(unquote);
    let if_none = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(unquote);
    match method {
        Method::GET => {
            let Some(d) = current else {
                return error(StatusCode::NOT_FOUND, "no such document");
            };
            if if_none.as_deref() == Some(d.etag.as_str()) {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, quote(&d.etag))])
                    .into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, ctype.to_owned()),
                    (header::ETAG, quote(&d.etag)),
                ],
                d.xml,
            )
                .into_response()
        }
        Method::PUT => {
            if let Err(e) = crate::presence::check_document(&auid, &body) {
                return conflict(&e.to_string());
            }
            let Ok(xml) = String::from_utf8(body.to_vec()) else {
                return conflict("not UTF-8");
            };
            let expect = match (&if_match, &if_none) {
                (Some(m), _) if m == "*" => match &current {
                    Some(c) => Some(Some(c.etag.clone())),
                    None => return error(StatusCode::PRECONDITION_FAILED, "no document to match"),
                },
                (Some(m), _) => Some(Some(m.clone())),
                (None, Some(n)) if n == "*" => Some(None),
                _ => None,
            };
            let etag = format!("{:016x}", rand::random::<u64>());
            let new = Document {
                xml,
                etag: etag.clone(),
            };
            match x
                .store
                .put_document(&owner, &auid, &new, expect.as_ref().map(|e| e.as_deref()))
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    return error(
                        StatusCode::PRECONDITION_FAILED,
                        "the document changed (ETag)",
                    )
                }
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
            tracing::info!(aor = %owner, auid, "XCAP document written");
            x.home.documents_changed(owner).await;
            let status = if current.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            (status, [(header::ETAG, quote(&etag))]).into_response()
        }
        Method::DELETE => {
            if let (Some(m), Some(c)) = (&if_match, &current) {
                if m != "*" && *m != c.etag {
                    return error(
                        StatusCode::PRECONDITION_FAILED,
                        "the document changed (ETag)",
                    );
                }
            }
            match x.store.delete_document(&owner, &auid).await {
                Ok(true) => {
                    x.home.documents_changed(owner).await;
                    StatusCode::OK.into_response()
                }
                Ok(false) => error(StatusCode::NOT_FOUND, "no such document"),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "GET, PUT or DELETE"),
    }
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_owned()
}

fn quote(s: &str) -> String {
    format!("\"{s}\"")
}

impl Xcap {
    /// The user the request authenticates as, or the answer (401 with a challenge, 403).
    /// Failures count in the same ban list as SIP's; a banned source or user is refused.
    async fn authenticate(
        &self,
        peer: SocketAddr,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Aor, Response> {
        let now = crate::core::now_secs();
        let source = peer.ip();
        if self.bans.refuse_source(source, now) {
            return Err(error(StatusCode::FORBIDDEN, "authentication failed"));
        }
        let line = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let creds = match line.map(Credentials::parse) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!("bad credentials: {e}"),
                ))
            }
            None => return Err(self.challenge(now, false)),
        };
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let (user, ha1) =
            crate::auth::lookup(&creds, self.store.as_ref(), &self.domain, ALGORITHMS)
                .await
                .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        let checked = {
            let mut replay = self.replay.lock().unwrap_or_else(|e| e.into_inner());
            // The digest-uri must be this request's path (the verifier compares it).
            crate::auth::conclude(
                &self.verifier,
                &mut *replay,
                &self.bans,
                (&creds, method.as_str(), path),
                (user, &ha1),
                source,
                now,
            )
        };
        match checked {
            Checked::Ok(u) => Ok(u.aor.clone()),
            Checked::Stale => Err(self.challenge(now, true)),
            Checked::Refused => Err(error(StatusCode::FORBIDDEN, "authentication failed")),
        }
    }

    fn challenge(&self, now: u64, stale: bool) -> Response {
        let offered = self.verifier.challenges(now, rand::random(), stale);
        let md5 = offered
            .iter()
            .find(|c| c.algorithm == Algorithm::Md5)
            .map(ToString::to_string)
            .unwrap_or_default();
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, md5)],
            "authentication required\n",
        )
            .into_response()
    }
}
