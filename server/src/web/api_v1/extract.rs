//! What every `/api/v1` handler takes from a request: the caller behind the API token, with the
//! role the route needs already checked (a handler for admins cannot be reached by less), and
//! its inputs, whose rejections answer as problems.

use std::{marker::PhantomData, sync::Arc};

use domain::{IfMatch, Role};

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap},
    Json,
};
use palomar_core::services::{Caller, RequestOrigin, Services};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// What the API's handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub services: Arc<Services>,
    /// Requests per token.
    pub rate: Arc<super::rate::TokenRate>,
}

/// The role a route needs, as a type.
pub trait Need: Send + Sync + 'static {
    const ROLE: Role;
}

/// Any role: reads.
pub struct Viewer;
/// Statuses, load factors, moves, feature states.
pub struct Operator;
/// Adding and removing, the audit log, tokens for others.
pub struct Admin;

impl Need for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl Need for Operator {
    const ROLE: Role = Role::Operator;
}
impl Need for Admin {
    const ROLE: Role = Role::Admin;
}

/// The caller behind the request's API token, with at least the role `R`. A token over its rate
/// (`API_REQUESTS_PER_SECOND`) is refused first, unaudited, so a flood cannot fill the log; every
/// other use is audited (`api.request`, with the token's id) before the role is checked, so
/// refused attempts are in the log too.
pub struct Authorized<R: Need>(pub Caller, PhantomData<R>);

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty() && t.len() <= 256)
}

impl<R: Need> FromRequestParts<ApiState> for Authorized<R> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Problem> {
        let token = bearer(&parts.headers).ok_or_else(Problem::unauthenticated)?;
        let origin = parts.extensions.get::<RequestOrigin>().cloned().unwrap_or_default();
        let caller = state.services.token_caller(token, origin).await?;
        if let Some(id) = caller.token() {
            state.rate.admit(id, std::time::Instant::now()).map_err(Problem::rate_limited)?;
        }
        let what = format!("{} {}", parts.method, parts.uri.path());
        state.services.audit_token_use(&caller, &what).await?;
        caller.require(R::ROLE)?;
        Ok(Self(caller, PhantomData))
    }
}

/// A JSON body; one that cannot be read answers a 422 problem. A value the domain refuses
/// (a `LoadFactor`, a `GroupName`, …) answers with the domain's own words and the field it
/// came in, as the same value refused in a form does.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        serde_path_to_error::deserialize(value).map(Self).map_err(|err| {
            let field = err.path().to_string();
            let problem = Problem::from(domain::AppError::invalid(&field, err.inner().to_string()));
            Problem { field: (field != ".").then_some(field), ..problem }
        })
    }
}

/// Query parameters; unreadable ones answer a 400 problem.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// Path parameters; unreadable ones answer a 400 problem.
pub struct At<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for At<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// The versions a conditional write accepts (`If-Match`); `None` when the request does not say.
/// A header that is not `*` or a list of entity tags answers 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let malformed = || Problem::bad_request("If-Match is `*` or a list of quoted entity tags");
    let value = value.to_str().map_err(|_| malformed())?;
    value.parse().map(Some).map_err(|_| malformed())
}
