//! Sites and tags (`doveadm cluster site list`, `tag list`).

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use super::{
    extract::{ApiState, At, Authorized, Viewer},
    problem::Problem,
    types::{SiteOut, TagOut},
};

#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", security(("token" = ["viewer"])),
    responses(
        (status = 200, description = "Every site", body = [SiteOut]),
        (status = 401, body = Problem), (status = 503, body = Problem),
    ))]
/// Every site.
pub async fn list_sites(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
) -> Result<Json<Vec<SiteOut>>, Problem> {
    let sites = api.services.sites(&caller).await?;
    Ok(Json(sites.iter().map(SiteOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}", tag = "sites", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "The site", body = SiteOut, headers(("ETag" = String))),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem),
    ))]
/// One site, by name or id (`doveadm cluster site status`).
pub async fn get_site(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
) -> Result<Response, Problem> {
    Ok(one(&api.services.site_by_key(&caller, &site).await?))
}

/// A site with its version as the `ETag`.
pub(super) fn one(site: &domain::Site) -> Response {
    let version = domain::version::of_site(site);
    (StatusCode::OK, [(header::ETAG, format!("\"{version}\""))], Json(SiteOut::from(site))).into_response()
}

#[utoipa::path(get, path = "/api/v1/tags", tag = "sites", security(("token" = ["viewer"])),
    responses(
        (status = 200, description = "Every tag", body = [TagOut]),
        (status = 401, body = Problem), (status = 503, body = Problem),
    ))]
/// Every shard tag (`doveadm cluster tag list`).
pub async fn list_tags(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
) -> Result<Json<Vec<TagOut>>, Problem> {
    let tags = api.services.topology(&caller).all_tags().await?;
    Ok(Json(tags.iter().map(TagOut::from).collect()))
}
