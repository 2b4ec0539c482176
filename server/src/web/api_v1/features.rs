//! The controller's feature states per site (on, dryrun, off).

use axum::{extract::State, Json};

use super::{
    extract::{ApiState, At, Authorized, Body, Operator, Viewer},
    problem::Problem,
    types::{FeatureChange, FeatureOut},
};
use domain::Feature;

#[utoipa::path(get, path = "/api/v1/sites/{site}/features", tag = "controller", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id")),
    responses(
        (status = 200, description = "Each feature's stored state and the mode the controller runs it in", body = [FeatureOut]),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// The site's feature states.
pub async fn list_features(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
) -> Result<Json<Vec<FeatureOut>>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let modes = api.services.settings(&caller).features(site.id).await?;
    Ok(Json(modes.iter().map(FeatureOut::from).collect()))
}

#[utoipa::path(put, path = "/api/v1/sites/{site}/features/{feature}", tag = "controller", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("feature" = Feature, Path)),
    request_body = FeatureChange,
    responses(
        (status = 200, description = "The site's feature states after the change", body = [FeatureOut]),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Sets a feature's state for the site (kept in `cluster_settings`).
pub async fn set_feature(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, feature)): At<(String, Feature)>,
    Body(change): Body<FeatureChange>,
) -> Result<Json<Vec<FeatureOut>>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    api.services.feature_ops(&caller)?.set(site.id, feature, change.state).await?;
    let modes = api.services.settings(&caller).features(site.id).await?;
    Ok(Json(modes.iter().map(FeatureOut::from).collect()))
}
