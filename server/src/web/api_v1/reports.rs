//! What the dashboards and the Controller page show: the cluster overview, a site's dashboard
//! and charts, the controller's status and what it would decide now.

use axum::{extract::State, Json};
use domain::dashboard::ChartKind;

use super::{
    extract::{ApiState, At, Authorized, Operator, Viewer},
    problem::Problem,
    report_types::{ChartOut, ControllerStatusOut, DashboardOut, EvaluationOut, SiteSummaryOut},
};

#[utoipa::path(get, path = "/api/v1/overview", tag = "dashboards", security(("token" = ["viewer"])),
    responses(
        (status = 200, description = "Every site with its backends, moves, leader and alerts", body = [SiteSummaryOut]),
        (status = 401, body = Problem), (status = 503, body = Problem),
    ))]
/// The cluster overview: each site's health at a glance.
pub async fn overview(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
) -> Result<Json<Vec<SiteSummaryOut>>, Problem> {
    let sites = api.services.dashboard(&caller).overview().await?;
    Ok(Json(sites.iter().map(SiteSummaryOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/dashboard", tag = "dashboards", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "The site's dashboard", body = DashboardOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// A site's dashboard: its backends' health, active moves, today's decisions and alerts.
pub async fn site_dashboard(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
) -> Result<Json<DashboardOut>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let dashboard = api.services.dashboard(&caller).site(site.id).await?;
    Ok(Json(DashboardOut::from(&dashboard)))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/charts", tag = "dashboards", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "The data of each of the site's history charts", body = [ChartOut]),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// The site's history charts as data: failure ratios, logins, Z-scores, users and moves.
pub async fn site_charts(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
) -> Result<Json<Vec<ChartOut>>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let reader = api.services.dashboard(&caller);
    let charts = futures::future::try_join_all(ChartKind::ALL.map(|kind| reader.chart(site.id, kind))).await?;
    Ok(Json(charts.iter().map(ChartOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/controller", tag = "controller", security(("token" = ["viewer"])),
    responses(
        (status = 200, description = "This instance's controller: its site, the lease, loops and probes", body = ControllerStatusOut),
        (status = 401, body = Problem), (status = 503, body = Problem),
    ))]
/// The controller of the instance that answers.
pub async fn controller_status(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
) -> Result<Json<ControllerStatusOut>, Problem> {
    let status = api.services.controller(&caller)?.status().await;
    Ok(Json(ControllerStatusOut::from(&status)))
}

#[utoipa::path(get, path = "/api/v1/controller/evaluate", tag = "controller", security(("token" = ["operator"])),
    responses(
        (status = 200, description = "What each feature would decide now; nothing is recorded or written", body = [EvaluationOut]),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem),
    ))]
/// Evaluates the controller's features on the current state without applying anything.
pub async fn evaluate_controller(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
) -> Result<Json<Vec<EvaluationOut>>, Problem> {
    let decisions = api.services.controller_ops(&caller)?.evaluate().await?;
    Ok(Json(decisions.iter().map(EvaluationOut::from).collect()))
}
