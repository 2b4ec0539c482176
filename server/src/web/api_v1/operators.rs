//! Operator accounts (admins only), as on the Operators page.

use axum::{extract::State, http::StatusCode, Json};

use super::{
    extract::{Admin, ApiState, At, Authorized, Body, Params},
    problem::Problem,
    report_types::{DisabledChange, NewOperator, OperatorOut, OperatorPage, PasswordChange, RoleChange},
    Paging,
};

#[utoipa::path(get, path = "/api/v1/operators", tag = "operators", security(("token" = ["admin"])),
    params(Paging),
    responses(
        (status = 200, description = "A page of operator accounts", body = OperatorPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// The operator accounts, a page at a time.
pub async fn list_operators(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Params(paging): Params<Paging>,
) -> Result<Json<OperatorPage>, Problem> {
    let page = api.services.operator_admin(&caller)?.list(paging.request()?).await?;
    Ok(Json(OperatorPage { items: page.items.iter().map(OperatorOut::from).collect(), next: page.next }))
}

#[utoipa::path(post, path = "/api/v1/operators", tag = "operators", security(("token" = ["admin"])),
    request_body = NewOperator,
    responses(
        (status = 201, description = "Created", body = OperatorOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Adds an operator account.
pub async fn add_operator(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Body(new): Body<NewOperator>,
) -> Result<(StatusCode, Json<OperatorOut>), Problem> {
    let added = api.services.operator_admin(&caller)?.add(&new.username, new.role, &new.password).await?;
    Ok((StatusCode::CREATED, Json(OperatorOut::from(&added))))
}

#[utoipa::path(put, path = "/api/v1/operators/{username}/role", tag = "operators", security(("token" = ["admin"])),
    params(("username" = String, Path)),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The role changed; the account's sessions ended", body = OperatorOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Changes an operator's role; the last admin keeps theirs (409).
pub async fn set_operator_role(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(username): At<String>,
    Body(change): Body<RoleChange>,
) -> Result<Json<OperatorOut>, Problem> {
    let changed = api.services.operator_admin(&caller)?.set_role(&username, change.role).await?;
    Ok(Json(OperatorOut::from(&changed)))
}

#[utoipa::path(put, path = "/api/v1/operators/{username}/disabled", tag = "operators", security(("token" = ["admin"])),
    params(("username" = String, Path)),
    request_body = DisabledChange,
    responses(
        (status = 200, description = "Disabled or enabled; a disabled account's sessions and tokens stop", body = OperatorOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Disables or enables an operator account; the last enabled admin stays enabled (409).
pub async fn set_operator_disabled(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(username): At<String>,
    Body(change): Body<DisabledChange>,
) -> Result<Json<OperatorOut>, Problem> {
    let changed = api.services.operator_admin(&caller)?.set_disabled(&username, change.disabled).await?;
    Ok(Json(OperatorOut::from(&changed)))
}

#[utoipa::path(put, path = "/api/v1/operators/{username}/password", tag = "operators", security(("token" = ["admin"])),
    params(("username" = String, Path)),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "The password was reset; every session of the account ended"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Resets an operator's password.
pub async fn reset_operator_password(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    At(username): At<String>,
    Body(change): Body<PasswordChange>,
) -> Result<StatusCode, Problem> {
    api.services.operator_admin(&caller)?.reset_password(&username, &change.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
