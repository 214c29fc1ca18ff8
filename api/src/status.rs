//! What is live: a user's registrations and composed presence, and the front ends'
//! client connections (flows).

use axum::{
    extract::{Path, State},
    Json,
};
use herald_homeserver::presence::pidf::to_xml;
use herald_proto::v1::Transport;
use serde::Serialize;

use crate::{error::ErrorBody, users::existing, ApiError, ApiState};

/// One client connection held by a front end.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowInfo {
    pub frontend: String,
    pub id: u64,
    /// udp, tcp, tls, ws or wss.
    pub transport: String,
    pub remote: String,
    /// Seconds since the epoch when the connection was accepted.
    pub since: u64,
}

/// Where the API finds the live connections.
pub trait FlowDirectory: Send + Sync {
    fn flows(&self) -> Vec<FlowInfo>;
}

/// A registered contact.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registration {
    pub contact: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub transport: String,
    pub remote: String,
    pub frontend: String,
    pub user_agent: Option<String>,
    pub instance: Option<String>,
}

/// A user's registered contacts.
#[utoipa::path(get, path = "/api/v1/users/{address}/registrations", tag = "status",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 200, body = Vec<Registration>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn registrations(
    State(s): State<ApiState>,
    Path(a): Path<String>,
) -> Result<Json<Vec<Registration>>, ApiError> {
    let u = existing(&s, &a).await?;
    let now = now_secs();
    let bindings = s.store.bindings(&u.aor, now).await?;
    Ok(Json(
        bindings
            .iter()
            .map(|b| Registration {
                contact: b.contact.clone(),
                expires_in: b.expires_at.saturating_sub(now),
                transport: Transport::name_of(b.flow.transport).into(),
                remote: b.flow.remote.clone(),
                frontend: b.flow.frontend_id.clone(),
                user_agent: b.user_agent.clone(),
                instance: b.instance.clone(),
            })
            .collect(),
    ))
}

/// A user's presence as watchers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PresenceView {
    pub address: String,
    /// open or closed.
    pub basic: String,
    /// RPID activities (busy, on-the-phone, away, …).
    pub activities: Vec<String>,
    pub notes: Vec<String>,
    /// The composed PIDF document.
    pub pidf: String,
}

/// A user's composed presence.
#[utoipa::path(get, path = "/api/v1/users/{address}/presence", tag = "status",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 200, body = PresenceView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn presence(
    State(s): State<ApiState>,
    Path(a): Path<String>,
) -> Result<Json<PresenceView>, ApiError> {
    let u = existing(&s, &a).await?;
    let doc = s
        .home
        .presence(u.aor.clone())
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(PresenceView {
        address: u.aor.to_string(),
        basic: if doc.is_open() { "open" } else { "closed" }.into(),
        activities: doc.activities.clone(),
        notes: doc.notes.clone(),
        pidf: to_xml(&doc),
    }))
}

/// The client connections of the front ends in this process.
#[utoipa::path(get, path = "/api/v1/flows", tag = "status",
    responses((status = 200, body = Vec<FlowInfo>), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn flows(State(s): State<ApiState>) -> Json<Vec<FlowInfo>> {
    Json(s.flows.as_ref().map(|f| f.flows()).unwrap_or_default())
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
