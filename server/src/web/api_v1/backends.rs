//! Backends (`doveadm cluster backend list|add|update|evacuate|remove|status`).

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use utoipa::IntoParams;

use domain::{geodb::BackendStatus, validate};

use super::{
    extract::{if_match, Admin, ApiState, At, Authorized, Body, Operator, Params, Viewer},
    problem::Problem,
    types::{BackendChange, BackendOut, BackendPage, NewBackend},
    Paging,
};

/// The answer for one backend: its body, with its version as the `ETag`.
fn one(backend: BackendOut, version: &str, status: StatusCode) -> Response {
    (status, [(header::ETAG, format!("\"{version}\""))], Json(backend)).into_response()
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/backends", tag = "backends", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), Paging),
    responses(
        (status = 200, description = "A page of the site's backends, by host (`be2` before `be10`)", body = BackendPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The site's backends, a page at a time, with the last census's counts.
pub async fn list_backends(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<BackendPage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    validate::bounded("cursor", paging.cursor.as_deref().unwrap_or_default(), 0, 253)?;
    let list = api.services.backends(&caller).list(site.id, paging.request()?).await?;
    Ok(Json(BackendPage { items: list.rows.into_iter().map(BackendOut::from).collect(), next: list.next }))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/backends/{host}", tag = "backends", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path)),
    responses(
        (status = 200, description = "The backend; `ETag` is its version, for `If-Match`", body = BackendOut,
            headers(("ETag" = String, description = "The backend's version"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// One backend (`doveadm cluster backend status`).
pub async fn get_backend(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At((site, host)): At<(String, String)>,
) -> Result<Response, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let row = api.services.backends(&caller).by_host(site.id, &host).await?;
    let version = row.backend.version.clone();
    Ok(one(BackendOut::from(row), &version, StatusCode::OK))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/backends", tag = "backends", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")),
    request_body = NewBackend,
    responses(
        (status = 201, description = "Added, in standby", body = BackendOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Adds a backend in standby (`doveadm cluster backend add`).
pub async fn add_backend(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Body(new): Body<NewBackend>,
) -> Result<Response, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let added = api.services.backend_admin(&caller)?.add(site.id, new.host).await?;
    let row = api.services.backends(&caller).by_host(site.id, &added.host).await?;
    let version = row.backend.version.clone();
    Ok(one(BackendOut::from(row), &version, StatusCode::CREATED))
}

#[utoipa::path(patch, path = "/api/v1/sites/{site}/backends/{host}", tag = "backends", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Only if the backend is still at this version (its ETag)")),
    request_body = BackendChange,
    responses(
        (status = 200, description = "Changed", body = BackendOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "Changed meanwhile: nothing was written", body = Problem),
        (status = 412, description = "Not at a version `If-Match` names: nothing was written", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Sets a backend's status and/or load factor (`doveadm cluster backend update`) in one
/// conditional write: both change, or neither; with `If-Match`, only if the backend is still as
/// the caller read it.
pub async fn update_backend(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, host)): At<(String, String)>,
    headers: HeaderMap,
    Body(change): Body<BackendChange>,
) -> Result<Response, Problem> {
    if change.status.is_none() && change.load_factor.is_none() {
        return Err(domain::AppError::invalid("status", "give a status, a load_factor or both").into());
    }
    let expected = if_match(&headers)?;
    let site = api.services.site_by_key(&caller, &site).await?;
    let id = api.services.backends(&caller).by_host(site.id, &host).await?.backend.id;
    let status = change.status.map(BackendStatus::from);
    let ops = api.services.backend_ops(&caller)?.expecting(expected);
    ops.update(site.id, id, status, change.load_factor).await?;
    let row = api.services.backends(&caller).by_host(site.id, &host).await?;
    let version = row.backend.version.clone();
    Ok(one(BackendOut::from(row), &version, StatusCode::OK))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/backends/{host}/evacuate", tag = "backends", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Only if the backend is still at this version (its ETag)")),
    responses(
        (status = 200, description = "Standby with load factor 0: the controller drains it", body = BackendOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, description = "Not at a version `If-Match` names: nothing was written", body = Problem),
        (status = 503, body = Problem),
    ))]
/// Evacuates a backend (`doveadm cluster backend evacuate`): standby and load factor 0.
pub async fn evacuate_backend(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, host)): At<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let id = api.services.backends(&caller).by_host(site.id, &host).await?.backend.id;
    api.services.backend_ops(&caller)?.expecting(if_match(&headers)?).evacuate(site.id, id).await?;
    let row = api.services.backends(&caller).by_host(site.id, &host).await?;
    let version = row.backend.version.clone();
    Ok(one(BackendOut::from(row), &version, StatusCode::OK))
}

/// Whether to remove a backend that still serves groups.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// Remove it even though groups are on it (they fail over to their alternatives).
    #[serde(default)]
    pub force: bool,
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}/backends/{host}", tag = "backends", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path), RemoveQuery),
    responses(
        (status = 200, description = "Removed; the backend as it was", body = BackendOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "It serves groups: evacuate it or force", body = Problem),
        (status = 503, body = Problem),
    ))]
/// Removes a backend (`doveadm cluster backend remove`).
pub async fn remove_backend(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At((site, host)): At<(String, String)>,
    Params(query): Params<RemoveQuery>,
) -> Result<Json<BackendOut>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let row = api.services.backends(&caller).by_host(site.id, &host).await?;
    api.services.backend_admin(&caller)?.remove(site.id, row.backend.id, query.force).await?;
    Ok(Json(BackendOut::from(row)))
}
