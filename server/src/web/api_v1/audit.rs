//! The audit log.

use axum::{extract::State, Json};

use super::{
    extract::{Admin, ApiState, Authorized, Params},
    moves::DayQuery,
    problem::Problem,
    types::{AuditOut, AuditPage},
    Paging,
};

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("token" = ["admin"])),
    params(DayQuery, Paging),
    responses(
        (status = 200, description = "The day's audit records, newest first", body = AuditPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The audit log of one UTC day: every change, and every use of an API token.
pub async fn list_audit(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Params(day): Params<DayQuery>,
    Params(paging): Params<Paging>,
) -> Result<Json<AuditPage>, Problem> {
    let page = api.services.audit_log(&caller)?.day(day.day()?, "", "", paging.request()?).await?;
    Ok(Json(AuditPage { items: page.items.iter().map(AuditOut::from).collect(), next: page.next }))
}
