//! API tokens, over the API itself.

use axum::{extract::State, http::StatusCode, Json};
use uuid::Uuid;

use super::{
    extract::{ApiState, At, Authorized, Body, Operator},
    problem::Problem,
    types::{NewTokenOut, TokenOut, TokenRequestIn},
};

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("token" = ["operator"])),
    responses(
        (status = 200, description = "Your tokens (an admin: everyone's), newest first", body = [TokenOut]),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem),
    ))]
/// Your API tokens; every token for an admin.
pub async fn list_tokens(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
) -> Result<Json<Vec<TokenOut>>, Problem> {
    let tokens = api.services.api_tokens(&caller)?.list().await?;
    Ok(Json(tokens.iter().map(TokenOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("token" = ["operator"])),
    request_body = TokenRequestIn,
    responses(
        (status = 201, description = "Created: `secret` is shown this once", body = NewTokenOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Creates a token: for yourself, or (admins) for anyone, with at most your role.
pub async fn create_token(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    Body(request): Body<TokenRequestIn>,
) -> Result<(StatusCode, Json<NewTokenOut>), Problem> {
    let tokens = api.services.api_tokens(&caller)?;
    let created = tokens.create(request.owner.as_deref(), request.role, &request.name, request.days).await?;
    Ok((StatusCode::CREATED, Json(NewTokenOut::from(&created))))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("token" = ["operator"])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Revoked, for good", body = TokenOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem),
    ))]
/// Revokes one of your tokens (an admin: anyone's).
pub async fn revoke_token(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At(id): At<Uuid>,
) -> Result<Json<TokenOut>, Problem> {
    let revoked = api.services.api_tokens(&caller)?.revoke(id).await?;
    Ok(Json(TokenOut::from(&revoked)))
}
