//! Groups (`doveadm cluster group list|status|update|move|access`).

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use utoipa::IntoParams;

use domain::{
    cluster::GroupFilter,
    geodb::{FlagWrite, StickyWrite},
    GroupName,
};

use super::{
    extract::{if_match, ApiState, At, Authorized, Body, Operator, Params, Viewer},
    problem::Problem,
    report_types::MemberPage,
    types::{GroupChange, GroupMoveRequest, GroupOut, GroupPage, MoveOut},
    Paging,
};

/// Which groups to list; filters apply within each page read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Only the groups on this backend (its host).
    #[serde(default)]
    pub backend: String,
    /// Names matching this mask (`*` and `?`).
    #[serde(default)]
    pub mask: String,
    /// `yes`, `no`, or `any` (the default).
    #[serde(default)]
    pub moving: String,
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/groups", tag = "groups", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), GroupQuery, Paging),
    responses(
        (status = 200, description = "A page of the site's groups; a filtered page may be short, with more after it", body = GroupPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The site's groups, a page at a time (`doveadm cluster group list`).
pub async fn list_groups(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
    Params(query): Params<GroupQuery>,
    Params(paging): Params<Paging>,
) -> Result<Json<GroupPage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let filter = GroupFilter::parse(&query.backend, &query.mask, &query.moving)?;
    let list = api.services.groups(&caller).list(site.id, &filter, paging.request()?).await?;
    Ok(Json(GroupPage { items: list.rows.into_iter().map(GroupOut::from).collect(), next: list.next }))
}

async fn read_group(
    api: &ApiState,
    caller: &palomar_core::services::Caller,
    site: &str,
    name: &str,
) -> Result<(uuid::Uuid, GroupOut, String), Problem> {
    let site = api.services.site_by_key(caller, site).await?;
    let detail = api.services.groups(caller).detail(site.id, name).await?;
    let version = detail.row.group.version.clone();
    Ok((site.id, GroupOut::from(detail.row), version))
}

fn one(group: GroupOut, version: &str) -> Response {
    (StatusCode::OK, [(header::ETAG, format!("\"{version}\""))], Json(group)).into_response()
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/groups/{group}", tag = "groups", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), ("group" = String, Path)),
    responses(
        (status = 200, description = "The group; `ETag` is its version, for `If-Match`", body = GroupOut,
            headers(("ETag" = String, description = "The group's version"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// One group (`doveadm cluster group status`).
pub async fn get_group(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At((site, name)): At<(String, String)>,
) -> Result<Response, Problem> {
    let (_, group, version) = read_group(&api, &caller, &site, &name).await?;
    Ok(one(group, &version))
}

#[utoipa::path(patch, path = "/api/v1/sites/{site}/groups/{group}", tag = "groups", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("group" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Only if the group is still at this version (its ETag)")),
    request_body = GroupChange,
    responses(
        (status = 200, description = "Changed", body = GroupOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "Changed meanwhile: nothing was written", body = Problem),
        (status = 412, description = "Not at a version `If-Match` names: nothing was written", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Sets a group's sticky flags (`doveadm cluster group update`); a flag not given stays.
pub async fn update_group(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, name)): At<(String, String)>,
    headers: HeaderMap,
    Body(change): Body<GroupChange>,
) -> Result<Response, Problem> {
    let (site_id, current, _) = read_group(&api, &caller, &site, &name).await?;
    let flag = |wanted: Option<bool>, seen: bool| wanted.map(|wanted| FlagWrite { seen, wanted });
    let write = StickyWrite {
        sticky_users: flag(change.sticky_users, current.sticky_users),
        sticky_backend: flag(change.sticky_backend, current.sticky_backend),
    };
    let ops = api.services.group_ops(&caller)?.expecting(if_match(&headers)?);
    ops.set_sticky(site_id, &name, write).await?;
    let (_, group, version) = read_group(&api, &caller, &site, &name).await?;
    Ok(one(group, &version))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/groups/{group}/move", tag = "groups", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("group" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Only if the group is still at this version (its ETag)")),
    request_body = GroupMoveRequest,
    responses(
        (status = 202, description = "The move started; the controller supervises it", body = MoveOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "Moving already, or changed meanwhile", body = Problem),
        (status = 412, description = "Not at a version `If-Match` names: nothing was written", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Starts a group move to a backend (`doveadm cluster group move`), through the same path as
/// the controller's own moves.
pub async fn move_group(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, name)): At<(String, String)>,
    headers: HeaderMap,
    Body(request): Body<GroupMoveRequest>,
) -> Result<(StatusCode, Json<MoveOut>), Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let destination =
        api.services.backends(&caller).by_host(site.id, request.backend.trim()).await.map_err(|err| match err {
            domain::AppError::NotFound(what) => domain::AppError::invalid("backend", format!("{what} was not found")),
            other => other,
        })?;
    let ops = api.services.group_ops(&caller)?.expecting(if_match(&headers)?);
    let started = ops.start_move(site.id, &name, destination.backend.id).await?;
    Ok((StatusCode::ACCEPTED, Json(MoveOut::from(&started))))
}

/// Which backend answered a group access.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AccessOut {
    /// The group's backend, where the access ran.
    pub backend: String,
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/groups/{group}/access", tag = "groups", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("group" = String, Path)),
    responses(
        (status = 200, description = "The group's backend looked the group up (a pending move starts)", body = AccessOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Runs `doveadm cluster group access` on the group's backend, which starts the group's
/// pending move there.
pub async fn access_group(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, name)): At<(String, String)>,
) -> Result<Json<AccessOut>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let backend = api.services.group_ops(&caller)?.access(site.id, &name).await?;
    Ok(Json(AccessOut { backend }))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/groups/{group}/members", tag = "groups", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), ("group" = String, Path), Paging),
    responses(
        (status = 200, description = "A page of the group's users; a page may be short, with more after it", body = MemberPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The group's members, as the census recorded them and checked against their rows now.
pub async fn list_group_members(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At((site, group)): At<(String, String)>,
    Params(paging): Params<Paging>,
) -> Result<Json<MemberPage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let group = group.parse::<GroupName>().map_err(|bad| bad.on("group"))?;
    let page = api.services.groups(&caller).members(site.id, group.as_str(), paging.request()?).await?;
    Ok(Json(MemberPage { items: page.items, next: page.next }))
}
