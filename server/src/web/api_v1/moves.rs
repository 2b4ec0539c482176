//! The controller's moves and decisions.

use axum::{extract::State, Json};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use domain::moves::EndMove;

use super::{
    extract::{ApiState, At, Authorized, Operator, Params, Viewer},
    problem::Problem,
    types::{DecisionOut, DecisionPage, MoveOut, MovePage},
    Paging,
};

#[utoipa::path(get, path = "/api/v1/sites/{site}/moves", tag = "controller", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), Paging),
    responses(
        (status = 200, description = "The site's moves, newest first (kept 90 days)", body = MovePage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The site's group moves, newest first.
pub async fn list_moves(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
    Params(paging): Params<Paging>,
) -> Result<Json<MovePage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let page = api.services.controller(&caller)?.moves(site.id, paging.request()?).await?;
    Ok(Json(MovePage { items: page.items.iter().map(MoveOut::from).collect(), next: page.next }))
}

async fn end(
    api: &ApiState,
    caller: &palomar_core::services::Caller,
    site: &str,
    id: Uuid,
    how: EndMove,
) -> Result<Json<MoveOut>, Problem> {
    let site = api.services.site_by_key(caller, site).await?;
    let ended = api.services.controller_ops(caller)?.end_move(site.id, id, how).await?;
    Ok(Json(MoveOut::from(&ended)))
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/moves/{id}/force", tag = "controller", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Forced: the group is on its destination", body = MoveOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Forces an active move: the group's backend is set to its destination.
pub async fn force_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, id)): At<(String, Uuid)>,
) -> Result<Json<MoveOut>, Problem> {
    end(&api, &caller, &site, id, EndMove::Force).await
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/moves/{id}/cancel", tag = "controller", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id"), ("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Cancelled: the group stays where it was", body = MoveOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem),
    ))]
/// Cancels an active move that has not started moving users.
pub async fn cancel_move(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At((site, id)): At<(String, Uuid)>,
) -> Result<Json<MoveOut>, Problem> {
    end(&api, &caller, &site, id, EndMove::Cancel).await
}

/// Which day's decisions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// A UTC day, `YYYY-MM-DD`; today when absent.
    pub day: Option<String>,
}

impl DayQuery {
    pub fn day(&self) -> Result<chrono::NaiveDate, domain::AppError> {
        match self.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => Ok(chrono::Utc::now().date_naive()),
            Some(day) => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| domain::AppError::invalid("day", "a day is YYYY-MM-DD")),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/decisions", tag = "controller", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), DayQuery, Paging),
    responses(
        (status = 200, description = "The day's decisions, newest first, with their inputs", body = DecisionPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The controller's decisions for the site on one day.
pub async fn list_decisions(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(site): At<String>,
    Params(day): Params<DayQuery>,
    Params(paging): Params<Paging>,
) -> Result<Json<DecisionPage>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let page = api.services.controller(&caller)?.decisions(site.id, day.day()?, paging.request()?).await?;
    Ok(Json(DecisionPage { items: page.items.iter().map(DecisionOut::from).collect(), next: page.next }))
}
