//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use crate::{archive, backup, documents, import, notify, status, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald admin API", description = "Users, buddy lists, presence, archive, notifications and backup of a Herald deployment. Every route needs `Authorization: Bearer <token>` (create one with `herald token create NAME`)."),
    paths(
        users::list, users::create, users::show, users::update, users::remove,
        import::import, import::export,
        documents::buddies_get, documents::buddies_put, documents::buddies_delete,
        documents::rules_get, documents::rules_put, documents::rules_delete,
        documents::groups_get, documents::groups_put,
        status::registrations, status::presence, status::flows,
        archive::search, archive::purge,
        notify::notify,
        backup::backup, backup::restore,
    ),
    components(schemas(import::Format, archive::ArchiveFormat)),
    modifiers(&Token),
    security(("token" = []))
)]
pub struct ApiDoc;

struct Token;

impl Modify for Token {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
