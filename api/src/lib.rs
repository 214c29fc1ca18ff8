//! # herald-api
//!
//! The administrators' REST API (`/api/v1`), served by axum with an OpenAPI document
//! generated from the handlers (`/api/v1/openapi.json`): users (with bulk import and
//! export), buddy lists and presence rules, registrations, presence and flows, archive
//! search, export and retention, notifications (SIP MESSAGE, e-mail fallback), backup
//! and restore. Every route needs a bearer token (`auth.rs`); tokens are stored hashed.
//! It talks to a home server through its store traits and `HomeServer` handle only, so
//! the same router serves the embedded edition and the pool.

pub mod archive;
pub mod auth;
pub mod backup;
mod documents;
mod error;
pub mod import;
pub mod mail;
pub mod notify;
mod openapi;
mod status;
mod users;

use std::sync::Arc;

use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
    Router,
};
use herald_homeserver::{store::Store, HomeServer};

pub use error::ApiError;
pub use openapi::ApiDoc;
pub use status::{FlowDirectory, FlowInfo};

/// What the handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub home: HomeServer,
    /// The deployment's SIP domain (also the digest realm).
    pub domain: String,
    /// The front ends' connections (the embedded edition's own; absent on a home server
    /// without one in the process).
    pub flows: Option<Arc<dyn FlowDirectory>>,
    pub notify: Arc<notify::NotifyConfig>,
}

/// The largest user file or backup accepted (other bodies: axum's 2 MB).
const MAX_UPLOAD: usize = 1 << 30;

/// The API's routes, all behind the token check, plus the public OpenAPI document.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/api/v1/users", get(users::list).post(users::create))
        .route(
            "/api/v1/users/import",
            post(import::import).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/api/v1/users/export", get(import::export))
        .route(
            "/api/v1/users/{address}",
            get(users::show).patch(users::update).delete(users::remove),
        )
        .route(
            "/api/v1/users/{address}/buddies",
            get(documents::buddies_get)
                .put(documents::buddies_put)
                .delete(documents::buddies_delete),
        )
        .route(
            "/api/v1/users/{address}/rules",
            get(documents::rules_get)
                .put(documents::rules_put)
                .delete(documents::rules_delete),
        )
        .route(
            "/api/v1/users/{address}/registrations",
            get(status::registrations),
        )
        .route("/api/v1/users/{address}/presence", get(status::presence))
        .route("/api/v1/flows", get(status::flows))
        .route(
            "/api/v1/groups",
            get(documents::groups_get).put(documents::groups_put),
        )
        .route("/api/v1/archive", get(archive::search))
        .route("/api/v1/archive/purge", post(archive::purge))
        .route("/api/v1/notify", post(notify::notify))
        .route("/api/v1/backup", get(backup::backup))
        .route(
            "/api/v1/restore",
            post(backup::restore).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .with_state(state);
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .merge(api)
}
