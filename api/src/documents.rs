//! A user's buddy list (resource-lists) and presence rules (pres-rules), the XML
//! documents XCAP clients edit, read and replaced whole by an operator; and the
//! notification groups (a resource-lists document of the service identity, one
//! `<list name="…">` per group). A change reaches the user's watchers and list
//! subscriptions at once, as an XCAP write does.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use herald_homeserver::{
    presence::{check_document, lists, rules},
    store::{Aor, Document},
};

use crate::{error::ErrorBody, users::existing, ApiError, ApiState};

const LISTS_TYPE: &str = "application/resource-lists+xml";
const RULES_TYPE: &str = "application/auth-policy+xml";

/// A user's buddy list.
#[utoipa::path(get, path = "/api/v1/users/{address}/buddies", tag = "buddy lists",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 200, body = String, content_type = "application/resource-lists+xml"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn buddies_get(s: State<ApiState>, a: Path<String>) -> Result<Response, ApiError> {
    read(&s, &a, lists::AUID, LISTS_TYPE).await
}

/// Replace a user's buddy list.
#[utoipa::path(put, path = "/api/v1/users/{address}/buddies", tag = "buddy lists",
    params(("address" = String, Path, description = "user@domain or user name")),
    request_body(content = String, content_type = "application/resource-lists+xml"),
    responses((status = 204), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn buddies_put(
    s: State<ApiState>,
    a: Path<String>,
    body: String,
) -> Result<StatusCode, ApiError> {
    let u = existing(&s, &a).await?;
    write(&s, u.aor, lists::AUID, body).await
}

/// Delete a user's buddy list.
#[utoipa::path(delete, path = "/api/v1/users/{address}/buddies", tag = "buddy lists",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn buddies_delete(
    s: State<ApiState>,
    a: Path<String>,
) -> Result<StatusCode, ApiError> {
    delete(&s, &a, lists::AUID).await
}

/// A user's presence rules.
#[utoipa::path(get, path = "/api/v1/users/{address}/rules", tag = "buddy lists",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 200, body = String, content_type = "application/auth-policy+xml"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn rules_get(s: State<ApiState>, a: Path<String>) -> Result<Response, ApiError> {
    read(&s, &a, rules::AUID, RULES_TYPE).await
}

/// Replace a user's presence rules.
#[utoipa::path(put, path = "/api/v1/users/{address}/rules", tag = "buddy lists",
    params(("address" = String, Path, description = "user@domain or user name")),
    request_body(content = String, content_type = "application/auth-policy+xml"),
    responses((status = 204), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn rules_put(
    s: State<ApiState>,
    a: Path<String>,
    body: String,
) -> Result<StatusCode, ApiError> {
    let u = existing(&s, &a).await?;
    write(&s, u.aor, rules::AUID, body).await
}

/// Delete a user's presence rules (the server's default policy applies again).
#[utoipa::path(delete, path = "/api/v1/users/{address}/rules", tag = "buddy lists",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn rules_delete(
    s: State<ApiState>,
    a: Path<String>,
) -> Result<StatusCode, ApiError> {
    delete(&s, &a, rules::AUID).await
}

/// The notification groups.
#[utoipa::path(get, path = "/api/v1/groups", tag = "notifications",
    responses((status = 200, body = String, content_type = "application/resource-lists+xml"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn groups_get(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let owner = s.notify.service.clone();
    match s.store.document(&owner, lists::AUID).await? {
        Some(d) => Ok(xml(LISTS_TYPE, d.xml)),
        None => Err(ApiError::NotFound("no notification groups defined".into())),
    }
}

/// Replace the notification groups: a resource-lists document, one list per group.
#[utoipa::path(put, path = "/api/v1/groups", tag = "notifications",
    request_body(content = String, content_type = "application/resource-lists+xml"),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn groups_put(
    State(s): State<ApiState>,
    body: String,
) -> Result<StatusCode, ApiError> {
    let owner = s.notify.service.clone();
    write(&s, owner, lists::AUID, body).await
}

/// The members of notification group `name`.
pub(crate) async fn group_members(s: &ApiState, name: &str) -> Result<Vec<String>, ApiError> {
    let doc = s.store.document(&s.notify.service, lists::AUID).await?;
    let buddies = doc
        .and_then(|d| lists::parse(d.xml.as_bytes()).ok())
        .unwrap_or_default();
    let members: Vec<String> = buddies
        .into_iter()
        .filter(|b| b.group == name)
        .map(|b| b.uri)
        .collect();
    if members.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no notification group {name:?}"
        )));
    }
    Ok(members)
}

async fn read(
    s: &ApiState,
    a: &str,
    auid: &str,
    ctype: &'static str,
) -> Result<Response, ApiError> {
    let u = existing(s, a).await?;
    match s.store.document(&u.aor, auid).await? {
        Some(d) => Ok(xml(ctype, d.xml)),
        None => Err(ApiError::NotFound(format!(
            "{} has no {auid} document",
            u.aor
        ))),
    }
}

async fn write(s: &ApiState, owner: Aor, auid: &str, body: String) -> Result<StatusCode, ApiError> {
    check_document(auid, body.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("not a valid {auid} document: {e}")))?;
    let doc = Document {
        xml: body,
        etag: format!("{:016x}", rand::random::<u64>()),
    };
    s.store.put_document(&owner, auid, &doc, None).await?;
    tracing::info!(aor = %owner, auid, "document written through the API");
    s.home.documents_changed(owner).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(s: &ApiState, a: &str, auid: &str) -> Result<StatusCode, ApiError> {
    let u = existing(s, a).await?;
    if !s.store.delete_document(&u.aor, auid).await? {
        return Err(ApiError::NotFound(format!(
            "{} has no {auid} document",
            u.aor
        )));
    }
    s.home.documents_changed(u.aor).await;
    Ok(StatusCode::NO_CONTENT)
}

fn xml(ctype: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}
