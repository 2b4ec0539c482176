//! Force-move and recover (`doveadm cluster site force-move start|update|stop`, `site recover`,
//! `backend force-move start|update|stop`).

use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use domain::force_move::{ForceMoveDraft, ForceMoveKind, ForceMoveScope, ForceMoveView};
use palomar_core::services::ForceMoveKey;

use super::{
    extract::{Admin, ApiState, At, Authorized, Body, Viewer},
    problem::Problem,
};

/// A force-move or recover, with its progress by the latest census.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ForceMoveOut {
    pub kind: ForceMoveKind,
    pub scope: ForceMoveScope,
    /// The site's name, or the backend's host.
    pub source: String,
    /// Destination sites' names or backends' hosts; none for a recover.
    pub destinations: Vec<String>,
    /// The `--id` hashed with each username.
    pub id: String,
    /// The share of users chosen, 0 to 100.
    pub percent: u8,
    /// False once the source's status changed: it moves nobody any more.
    pub live: bool,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_by: String,
    /// Users in the source when it started, by the census then.
    pub users_at_start: Option<u64>,
    /// Users in the source now, by the latest census.
    pub users_at_source: Option<u64>,
    /// Users moved so far, by the latest census.
    pub moved: Option<u64>,
    /// Users moved per minute since the start, by the latest census.
    pub per_minute: Option<f64>,
    /// When the latest census was taken.
    pub counted_at: Option<DateTime<Utc>>,
}

impl From<ForceMoveView> for ForceMoveOut {
    fn from(v: ForceMoveView) -> Self {
        let (moved, per_minute) = (v.moved(), v.per_minute());
        let op = v.operation;
        Self {
            kind: op.kind,
            scope: op.scope,
            source: v.source,
            destinations: v.destinations,
            id: op.id,
            percent: op.percent,
            live: v.live,
            started_at: op.started_at,
            updated_at: op.updated_at,
            started_by: op.started_by,
            users_at_start: op.users_at_start,
            users_at_source: v.users_at_source,
            moved,
            per_minute,
            counted_at: v.counted_at,
        }
    }
}

/// What to start: `[--id ID] PERCENT DEST…`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceMoveIn {
    /// Hashed with each username to choose users; a new random one when absent.
    #[serde(default)]
    pub id: String,
    /// 0 to 100.
    pub percent: u64,
    /// Destination sites (names or ids) or backends (hosts or ids); none for a recover.
    #[serde(default)]
    pub destinations: Vec<String>,
}

/// A new percent (`force-move update`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PercentIn {
    /// 0 to 100.
    pub percent: u64,
}

/// The operation that was started, changed or stopped.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ForceMoveChanged {
    pub kind: ForceMoveKind,
    pub id: String,
    pub percent: u8,
}

impl From<domain::force_move::ForceMove> for ForceMoveChanged {
    fn from(op: domain::force_move::ForceMove) -> Self {
        Self { kind: op.kind, id: op.id, percent: op.percent }
    }
}

type Changed = Result<Json<ForceMoveChanged>, Problem>;

#[utoipa::path(get, path = "/api/v1/sites/{site}/force-moves", tag = "sites", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "The site's and its backends' force-moves and recovers", body = [ForceMoveOut]),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem),
    ))]
/// The running force-moves and recovers of a site and its backends, with their progress.
pub async fn list_force_moves(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
) -> Result<Json<Vec<ForceMoveOut>>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let views = api.services.force_moves(&caller).of_site(site.id).await?;
    Ok(Json(views.into_iter().map(ForceMoveOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/force-move", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")), request_body = ForceMoveIn,
    responses(
        (status = 201, description = "Started", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Starts moving the chosen share of the site's users to the destination sites at their next
/// login (`doveadm cluster site force-move start`).
pub async fn start_site_force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Body(body): Body<ForceMoveIn>,
) -> Result<(StatusCode, Json<ForceMoveChanged>), Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let draft = ForceMoveDraft::new(&body.id, body.percent)?;
    let op = api.services.force_move_admin(&caller)?.start_site(site.id, draft, &body.destinations).await?;
    Ok((StatusCode::CREATED, Json(op.into())))
}

#[utoipa::path(patch, path = "/api/v1/sites/{site}/force-move", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")), request_body = PercentIn,
    responses(
        (status = 200, description = "Changed", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Changes the share of a site force-move (`doveadm cluster site force-move update`).
pub async fn update_site_force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Body(body): Body<PercentIn>,
) -> Changed {
    let site = api.services.site_by_key(&caller, &site).await?;
    update(&api, &caller, site_key(ForceMoveKind::ForceMove, site.id), body.percent).await
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}/force-move", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "Stopped: nobody else moves; who moved stays", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Stops a site force-move (`doveadm cluster site force-move stop`).
pub async fn stop_site_force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
) -> Changed {
    let site = api.services.site_by_key(&caller, &site).await?;
    let op = api.services.force_move_admin(&caller)?.stop(site_key(ForceMoveKind::ForceMove, site.id)).await?;
    Ok(Json(op.into()))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/recover", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")), request_body = ForceMoveIn,
    responses(
        (status = 201, description = "Started", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Starts bringing users a force-move moved out of the site back at their next login, the
/// chosen share of them (`doveadm cluster site recover`). `destinations` must be empty.
pub async fn start_site_recover(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Body(body): Body<ForceMoveIn>,
) -> Result<(StatusCode, Json<ForceMoveChanged>), Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    if !body.destinations.is_empty() {
        return Err(
            domain::AppError::invalid("destinations", "a recover brings users home: name no destinations").into()
        );
    }
    let draft = ForceMoveDraft::new(&body.id, body.percent)?;
    let op = api.services.force_move_admin(&caller)?.recover_site(site.id, draft).await?;
    Ok((StatusCode::CREATED, Json(op.into())))
}

#[utoipa::path(patch, path = "/api/v1/sites/{site}/recover", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")), request_body = PercentIn,
    responses(
        (status = 200, description = "Changed", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Changes the share of a site's recover.
pub async fn update_site_recover(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
    Body(body): Body<PercentIn>,
) -> Changed {
    let site = api.services.site_by_key(&caller, &site).await?;
    update(&api, &caller, site_key(ForceMoveKind::Recover, site.id), body.percent).await
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}/recover", tag = "sites", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "Stopped", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Stops a site's recover.
pub async fn stop_site_recover(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(site): At<String>,
) -> Changed {
    let site = api.services.site_by_key(&caller, &site).await?;
    let op = api.services.force_move_admin(&caller)?.stop(site_key(ForceMoveKind::Recover, site.id)).await?;
    Ok(Json(op.into()))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/backends/{host}/force-move", tag = "backends", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path)),
    request_body = ForceMoveIn,
    responses(
        (status = 201, description = "Started", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Starts moving the chosen share of the backend's users into groups on the destination
/// backends at their next login (`doveadm cluster backend force-move start`).
pub async fn start_backend_force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At((site, host)): At<(String, String)>,
    Body(body): Body<ForceMoveIn>,
) -> Result<(StatusCode, Json<ForceMoveChanged>), Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let id = api.services.backends(&caller).by_host(site.id, &host).await?.backend.id;
    let draft = ForceMoveDraft::new(&body.id, body.percent)?;
    let op = api.services.force_move_admin(&caller)?.start_backend(site.id, id, draft, &body.destinations).await?;
    Ok((StatusCode::CREATED, Json(op.into())))
}

#[utoipa::path(patch, path = "/api/v1/sites/{site}/backends/{host}/force-move", tag = "backends", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path)),
    request_body = PercentIn,
    responses(
        (status = 200, description = "Changed", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Changes the share of a backend force-move (`doveadm cluster backend force-move update`).
pub async fn update_backend_force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At((site, host)): At<(String, String)>,
    Body(body): Body<PercentIn>,
) -> Changed {
    let site = api.services.site_by_key(&caller, &site).await?;
    let id = api.services.backends(&caller).by_host(site.id, &host).await?.backend.id;
    let key = ForceMoveKey { kind: ForceMoveKind::ForceMove, site_id: site.id, backend_id: Some(id) };
    update(&api, &caller, key, body.percent).await
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}/backends/{host}/force-move", tag = "backends", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"), ("host" = String, Path)),
    responses(
        (status = 200, description = "Stopped", body = ForceMoveChanged),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Stops a backend force-move (`doveadm cluster backend force-move stop`).
pub async fn stop_backend_force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At((site, host)): At<(String, String)>,
) -> Changed {
    let site = api.services.site_by_key(&caller, &site).await?;
    let id = api.services.backends(&caller).by_host(site.id, &host).await?.backend.id;
    let key = ForceMoveKey { kind: ForceMoveKind::ForceMove, site_id: site.id, backend_id: Some(id) };
    Ok(Json(api.services.force_move_admin(&caller)?.stop(key).await?.into()))
}

fn site_key(kind: ForceMoveKind, site_id: uuid::Uuid) -> ForceMoveKey {
    ForceMoveKey { kind, site_id, backend_id: None }
}

async fn update(api: &ApiState, caller: &palomar_core::services::Caller, key: ForceMoveKey, percent: u64) -> Changed {
    let percent = domain::force_move::check_percent(percent)?;
    Ok(Json(api.services.force_move_admin(caller)?.update(key, percent).await?.into()))
}
