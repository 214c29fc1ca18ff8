//! Users: list (paged, filtered), create, show, update (name, e-mail, disabled,
//! password), delete.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use herald_homeserver::store::{Aor, User};
use serde::{Deserialize, Serialize};

use crate::{
    error::ErrorBody,
    import::{address, credentials, random_password},
    ApiError, ApiState,
};

/// A user as the API shows it (secrets never leave the server through it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub address: String,
    pub display_name: String,
    pub email: Option<String>,
    pub disabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            address: u.aor.to_string(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            disabled: u.disabled,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ListParams {
    /// At most this many (1–1000, default 100).
    limit: Option<u32>,
    /// Users after this address (the `next` of the previous page).
    after: Option<String>,
    /// Only users whose address, name or e-mail contains this (case-insensitive).
    q: Option<String>,
    /// Only disabled (true) or enabled (false) users.
    disabled: Option<bool>,
}

/// A page of users.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// List users in address order.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListParams),
    responses((status = 200, body = UserPage), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn list(
    State(s): State<ApiState>,
    Query(p): Query<ListParams>,
) -> Result<Json<UserPage>, ApiError> {
    let limit = p.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let q = p.q.as_deref().map(str::to_lowercase);
    let matches = |u: &User| {
        p.disabled.is_none_or(|d| u.disabled == d)
            && p.after.as_deref().is_none_or(|a| u.aor.as_str() > a)
            && q.as_deref().is_none_or(|q| {
                [
                    u.aor.as_str(),
                    &u.display_name,
                    u.email.as_deref().unwrap_or(""),
                ]
                .iter()
                .any(|f| f.to_lowercase().contains(q))
            })
    };
    let mut users = s.store.users().await?;
    users.sort_by(|a, b| a.aor.cmp(&b.aor));
    let mut page: Vec<&User> = users
        .iter()
        .filter(|u| matches(u))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|u| u.aor.to_string()).unwrap_or_default()
    });
    Ok(Json(UserPage {
        users: page.into_iter().map(UserView::from).collect(),
        next,
    }))
}

/// A new user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// `user@domain`, or the user name in the server's domain.
    pub address: String,
    #[serde(default)]
    pub display_name: String,
    pub email: Option<String>,
    /// Without one, a random password is made and returned once.
    pub password: Option<String>,
}

/// A created user, with the password when the server made it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub user: UserView,
    pub password: Option<String>,
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn create(
    State(s): State<ApiState>,
    Json(n): Json<NewUser>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let aor = address(&n.address, &s.domain).map_err(ApiError::BadRequest)?;
    check_email(n.email.as_deref())?;
    let generated = n.password.is_none().then(random_password);
    let password = n
        .password
        .as_deref()
        .or(generated.as_deref())
        .unwrap_or_default();
    if password.is_empty() {
        return Err(ApiError::BadRequest("password must not be empty".into()));
    }
    let user = User {
        credentials: credentials(&aor, &s.domain, password),
        aor,
        display_name: n.display_name,
        email: n.email,
        disabled: false,
    };
    s.store.create_user(&user).await?;
    tracing::info!(aor = %user.aor, "user created through the API");
    Ok((
        StatusCode::CREATED,
        Json(Created {
            user: UserView::from(&user),
            password: generated,
        }),
    ))
}

/// Show a user.
#[utoipa::path(get, path = "/api/v1/users/{address}", tag = "users",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn show(
    State(s): State<ApiState>,
    Path(a): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let u = existing(&s, &a).await?;
    Ok(Json(UserView::from(&u)))
}

/// What to change; absent fields stay as they are (`email: ""` removes the address).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// Update a user.
#[utoipa::path(patch, path = "/api/v1/users/{address}", tag = "users", request_body = UserChange,
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn update(
    State(s): State<ApiState>,
    Path(a): Path<String>,
    Json(c): Json<UserChange>,
) -> Result<Json<UserView>, ApiError> {
    let u = existing(&s, &a).await?;
    // Everything checked before anything is written.
    let email = match c.email.as_deref() {
        Some("") => None,
        Some(e) => Some(e),
        None => u.email.as_deref(),
    };
    check_email(email)?;
    if c.password.as_deref() == Some("") {
        return Err(ApiError::BadRequest("password must not be empty".into()));
    }
    if c.display_name.is_some() || c.email.is_some() {
        let name = c.display_name.as_deref().unwrap_or(&u.display_name);
        s.store.set_profile(&u.aor, name, email).await?;
    }
    if let Some(p) = &c.password {
        s.store
            .set_credentials(&u.aor, &credentials(&u.aor, &s.domain, p))
            .await?;
    }
    if let Some(d) = c.disabled {
        s.store.set_disabled(&u.aor, d).await?;
    }
    let u = existing(&s, u.aor.as_str()).await?;
    Ok(Json(UserView::from(&u)))
}

/// Delete a user with their registrations and stored messages (the archive stays).
#[utoipa::path(delete, path = "/api/v1/users/{address}", tag = "users",
    params(("address" = String, Path, description = "user@domain or user name")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn remove(
    State(s): State<ApiState>,
    Path(a): Path<String>,
) -> Result<StatusCode, ApiError> {
    let u = existing(&s, &a).await?;
    s.store.remove_user(&u.aor).await?;
    tracing::info!(aor = %u.aor, "user removed through the API");
    Ok(StatusCode::NO_CONTENT)
}

/// The user at `a`, or 400 (not an address of this domain) / 404.
pub(crate) async fn existing(s: &ApiState, a: &str) -> Result<User, ApiError> {
    let aor: Aor = address(a, &s.domain).map_err(ApiError::BadRequest)?;
    s.store
        .user(&aor)
        .await?
        .map(std::sync::Arc::unwrap_or_clone)
        .ok_or_else(|| ApiError::NotFound(format!("no user {aor}")))
}

fn check_email(e: Option<&str>) -> Result<(), ApiError> {
    e.map_or(Ok(()), crate::import::check_email)
        .map_err(ApiError::BadRequest)
}
