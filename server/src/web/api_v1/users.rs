//! Users (`doveadm cluster user status|move`).

use axum::{extract::State, Json};

use super::{
    extract::{Admin, ApiState, At, Authorized, Body, Operator, Viewer},
    problem::Problem,
    types::{UserMoveRequest, UserOut},
};

#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "users", security(("token" = ["viewer"])),
    params(("username" = String, Path)),
    responses(
        (status = 200, description = "The user and where a proxy would send them now", body = UserOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// A user's route (`doveadm cluster user status`).
pub async fn get_user(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At(username): At<String>,
) -> Result<Json<UserOut>, Problem> {
    let username = palomar_core::services::parse_mail_user(&username)?;
    Ok(Json(UserOut::from(api.services.users(&caller).lookup(&username).await?)))
}

#[utoipa::path(post, path = "/api/v1/users/{username}/move", tag = "users", security(("token" = ["operator"])),
    params(("username" = String, Path)),
    request_body = UserMoveRequest,
    responses(
        (status = 202, description = "The move is set: the user moves at their next access", body = UserOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Moves a user to another group (`doveadm cluster user move`): Dovecot Pro only.
pub async fn move_user(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At(username): At<String>,
    Body(request): Body<UserMoveRequest>,
) -> Result<(axum::http::StatusCode, Json<UserOut>), Problem> {
    let username = palomar_core::services::parse_mail_user(&username)?;
    let site = match request.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(key) => Some(api.services.site_by_key(&caller, key).await?.id),
        None => None,
    };
    let ops = api.services.user_ops(&caller)?;
    ops.move_user(&username, site, &request.group, request.failover_group.as_ref()).await?;
    let detail = api.services.users(&caller).lookup(&username).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(UserOut::from(detail))))
}

#[utoipa::path(delete, path = "/api/v1/users/{username}", tag = "users", security(("token" = ["admin"])),
    params(("username" = String, Path)),
    responses(
        (status = 200, description = "Removed; the user gets a default group at their next login", body = UserOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Deletes a user's row (`doveadm cluster user delete`).
pub async fn delete_user(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(username): At<String>,
) -> Result<Json<UserOut>, Problem> {
    let username = palomar_core::services::parse_mail_user(&username)?;
    let before = api.services.users(&caller).lookup(&username).await?;
    api.services.user_admin(&caller)?.delete(&username).await?;
    Ok(Json(UserOut::from(before)))
}
