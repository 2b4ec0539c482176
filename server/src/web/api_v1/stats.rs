//! Statistics the proxies and backends report, and the sites' reachability, as on the Stats
//! and Reachability pages.

use axum::{extract::State, Json};
use domain::validate;

use super::{
    extract::{Admin, ApiState, At, Authorized, Params, Viewer},
    problem::Problem,
    report_types::{BackendStatOut, BackendStatPage, ProxyStatOut, ProxyStatPage, PrunedOut, ReachabilityOut},
    Paging,
};

#[utoipa::path(get, path = "/api/v1/sites/{site}/stats/backends", tag = "stats", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), Paging),
    responses(
        (status = 200, description = "A page of the site's backend statistics", body = BackendStatPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// What the site's backends reported (`backend_stats`).
pub async fn list_backend_stats(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<BackendStatPage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let page = api.services.stats(&caller).backend_stats(site.id, paging.request()?).await?;
    Ok(Json(BackendStatPage { items: page.items.iter().map(BackendStatOut::from).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/stats/proxies", tag = "stats", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), Paging),
    responses(
        (status = 200, description = "A page of what the site's proxies reported about their backends", body = ProxyStatPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// What the site's proxies reported about the backends they forward to (`proxy_dest_stats`).
pub async fn list_proxy_stats(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<ProxyStatPage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let page = api.services.stats(&caller).proxy_dest_stats(site.id, paging.request()?).await?;
    Ok(Json(ProxyStatPage { items: page.items.iter().map(ProxyStatOut::from).collect(), next: page.next }))
}

#[utoipa::path(delete, path = "/api/v1/sites/{site}/stats/proxies/{proxy}", tag = "stats", security(("token" = ["admin"])),
    params(("site" = String, Path, description = "The site's name or id"), ("proxy" = String, Path, description = "The proxy's host")),
    responses(
        (status = 200, description = "The proxy's rows were removed", body = PrunedOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Removes what a retired proxy reported, so that its stale rows stop counting.
pub async fn prune_proxy_stats(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At((site, proxy)): At<(String, String)>,
) -> Result<Json<PrunedOut>, Problem> {
    let admin = api.services.stats_admin(&caller)?;
    let site = api.services.site_by_key(&caller, &site).await?;
    let proxy = validate::host_or_ip("proxy", &proxy)?;
    let removed = admin.prune_proxy(site.id, &proxy).await?;
    Ok(Json(PrunedOut { removed }))
}

#[utoipa::path(get, path = "/api/v1/reachability", tag = "stats", security(("token" = ["viewer"])),
    responses(
        (status = 200, description = "Which sites' proxies reach which sites", body = [ReachabilityOut]),
        (status = 401, body = Problem), (status = 503, body = Problem),
    ))]
/// Whether each site's proxies reach each other site.
pub async fn list_reachability(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
) -> Result<Json<Vec<ReachabilityOut>>, Problem> {
    let matrix = api.services.stats(&caller).reachability_matrix().await?;
    Ok(Json(ReachabilityOut::all(&matrix)))
}
