//! Sites and tags: adding, changing and removing them (`doveadm cluster site add|update|remove`,
//! `tag create|update|remove`), and a site's default groups (`site init`).

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use domain::{SiteDraft, TagDraft};
use palomar_core::services::site_init_key;

use super::{
    extract::{if_match, Admin, ApiState, At, Authorized, Body, Params, Viewer},
    problem::Problem,
    report_types::InitProgressOut,
    types::{SiteOut, TagOut},
};

/// A site as written: every field, as the UI's form has them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteIn {
    /// Equals `cluster_local_site` on the site's proxies and backends.
    pub name: String,
    /// The shard's tag id.
    pub tag: Option<Uuid>,
    /// Where other sites' proxies connect; empty for none.
    #[serde(default)]
    pub load_balancer: String,
    /// `online`, `offline`, `standby` or `evacuate`.
    pub status: String,
}

impl SiteIn {
    fn draft(&self) -> Result<SiteDraft, domain::AppError> {
        let tag = self.tag.map(|t| t.to_string()).unwrap_or_default();
        SiteDraft::parse(&self.name, &tag, &self.load_balancer, &self.status)
    }
}

#[utoipa::path(post, path = "/api/v1/sites", tag = "sites", security(("token" = ["admin"])),
    request_body = SiteIn,
    responses(
        (status = 201, description = "Added", body = SiteOut),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Adds a site (`doveadm cluster site add`).
pub async fn add_site(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Body(site): Body<SiteIn>,
) -> Result<(StatusCode, Json<SiteOut>), Problem> {
    let added = api.services.topology_admin(&caller)?.add_site(site.draft()?).await?;
    Ok((StatusCode::CREATED, Json(SiteOut::from(&added))))
}

#[utoipa::path(put, path = "/api/v1/sites/{site}", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"),
        ("If-Match" = Option<String>, Header, description = "Only if the site is still at this version (its ETag)")),
    request_body = SiteIn,
    responses(
        (status = 200, description = "Changed", body = SiteOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "Changed meanwhile: nothing was written", body = Problem),
        (status = 412, description = "Not at a version `If-Match` names: nothing was written", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Replaces a site's name, tag, load balancer and status (`doveadm cluster site update`).
pub async fn update_site(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    headers: HeaderMap,
    Body(change): Body<SiteIn>,
) -> Result<Response, Problem> {
    let expected = if_match(&headers)?;
    let current = api.services.site_by_key(&caller, &site).await?;
    let admin = api.services.topology_admin(&caller)?;
    let changed = admin.update_site(current.id, change.draft()?, expected.as_ref()).await?;
    Ok(super::sites::one(&changed))
}

/// The name of the site to remove, again: a removal is not undone.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfirmQuery {
    /// The site's name.
    pub confirm: String,
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"), ConfirmQuery),
    responses(
        (status = 200, description = "Removed; the site as it was", body = SiteOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Removes a site (`doveadm cluster site remove`): `?confirm=` must repeat its name.
pub async fn remove_site(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Params(query): Params<ConfirmQuery>,
) -> Result<Json<SiteOut>, Problem> {
    let current = api.services.site_by_key(&caller, &site).await?;
    let removed = api.services.topology_admin(&caller)?.remove_site(current.id, &query.confirm).await?;
    Ok(Json(SiteOut::from(&removed)))
}

/// How many default groups a site should have.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitIn {
    /// Creates the missing `default-1..count`; existing groups are kept.
    pub count: u32,
}

/// What a site initialisation did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InitOut {
    /// Groups created (the others existed).
    pub created: u32,
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/init", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")),
    request_body = InitIn,
    responses(
        (status = 200, description = "The missing default groups were created", body = InitOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Creates a site's missing default groups (`doveadm cluster site init`, without `--update`).
pub async fn init_site(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Body(init): Body<InitIn>,
) -> Result<Json<InitOut>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let created = api.services.group_admin(&caller)?.init_site(site.id, init.count).await?;
    Ok(Json(InitOut { created }))
}

/// A tag's name.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagIn {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/tags", tag = "sites", security(("token" = ["admin"])),
    request_body = TagIn,
    responses(
        (status = 201, description = "Created", body = TagOut),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Creates a tag (`doveadm cluster tag create`).
pub async fn create_tag(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Body(tag): Body<TagIn>,
) -> Result<(StatusCode, Json<TagOut>), Problem> {
    let created = api.services.topology_admin(&caller)?.create_tag(TagDraft::parse(&tag.name)?).await?;
    Ok((StatusCode::CREATED, Json(TagOut::from(&created))))
}

#[utoipa::path(put, path = "/api/v1/tags/{id}", tag = "sites", security(("token" = ["admin"])),
    params(("id" = Uuid, Path)),
    request_body = TagIn,
    responses(
        (status = 200, description = "Renamed", body = TagOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Renames a tag (`doveadm cluster tag update --name`).
pub async fn rename_tag(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(id): At<Uuid>,
    Body(tag): Body<TagIn>,
) -> Result<Json<TagOut>, Problem> {
    let renamed = api.services.topology_admin(&caller)?.rename_tag(id, TagDraft::parse(&tag.name)?).await?;
    Ok(Json(TagOut::from(&renamed)))
}

#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "sites", security(("token" = ["admin"])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Removed; the tag as it was", body = TagOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Removes a tag (`doveadm cluster tag remove`); one a site still names is refused.
pub async fn remove_tag(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(id): At<Uuid>,
) -> Result<Json<TagOut>, Problem> {
    let removed = api.services.topology_admin(&caller)?.remove_tag(id).await?;
    Ok(Json(TagOut::from(&removed)))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/init", tag = "sites", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "How far the site's initialisation is on this instance", body = InitProgressOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// How far a site's initialisation (`POST …/init`) is, while it runs on this instance.
pub async fn init_progress(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
) -> Result<Json<InitProgressOut>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    Ok(Json(InitProgressOut::from(api.services.operations(&caller).get(&site_init_key(site.id)))))
}
