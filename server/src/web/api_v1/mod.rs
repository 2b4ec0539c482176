//! `/api/v1`: JSON for what the admin UI does, for scripts and the `palomar cluster` command
//! line. Callers present an API token (`Authorization: Bearer palomar_…`); each route needs a
//! role (its OpenAPI `security` scope says which), goes through the same services as the UI,
//! and is audited with the token's id. Errors are RFC 9457 problems. Writes are conditional like
//! the UI's, and `If-Match` (a row's `ETag`) makes them conditional on what the caller read.
//!
//! The OpenAPI 3.1 document is generated from the handlers (utoipa) and served without a login
//! at `/api/v1/openapi.json`; `/api/v1/docs` renders it as a page that needs nothing else.

mod audit;
mod backends;
mod controller_types;
mod docs;
pub mod extract;
mod features;
pub mod force_moves;
mod groups;
mod moves;
mod operators;
pub mod problem;
mod rate;
pub mod replays;
pub mod report_types;
mod reports;
mod settings;
mod sites;
mod stats;
mod tokens;
mod topology;
pub mod types;
mod users;

use std::sync::Arc;

use domain::{page::MAX_PAGE_SIZE, validate, AppError, PageRequest};

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use palomar_core::services::Services;
use serde::Deserialize;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    IntoParams, Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::{extract::ApiState, problem::Problem};
use crate::config::IpNet;

/// Where the API lives.
pub const API_PREFIX: &str = "/api/v1";
/// The OpenAPI document, served without a login.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// The API's documentation page, served without a login.
pub const DOCS_PATH: &str = "/api/v1/docs";

/// Which page of a list (`?cursor=` from the previous page's `next`, `?limit=` 1 to 500).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The previous page's `next`.
    pub cursor: Option<String>,
    /// Items per page: 1 to 500, 50 when absent.
    pub limit: Option<u32>,
}

impl Paging {
    /// The page asked for, checked.
    pub fn request(&self) -> Result<PageRequest, AppError> {
        validate::bounded("cursor", self.cursor.as_deref().unwrap_or_default(), 0, 4096)?;
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(AppError::invalid("limit", format!("1 to {MAX_PAGE_SIZE} items per page")));
        }
        Ok(PageRequest::after(self.cursor.clone(), limit))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Palomar cluster controller API",
        version = "1",
        description = "What the admin UI does, as JSON: sites, backends, groups, users, feature states, \
                       moves, decisions, dashboards, statistics, operators and the audit log. Send an API token as `Authorization: Bearer \
                       palomar_…` (create one on the Tokens page, or with `POST /api/v1/tokens`). Each \
                       operation's security scope names the least role it needs (viewer, operator, \
                       admin). Errors are RFC 9457 problems (`application/problem+json`). Lists are \
                       paged: pass a page's `next` as `?cursor=`. `GET` of a backend or group answers \
                       an `ETag`; send it back as `If-Match` to change the row only if it is still as \
                       you read it (412 Precondition Failed otherwise)."
    ),
    modifiers(&BearerToken),
    tags(
        (name = "sites", description = "Sites and shard tags"),
        (name = "backends", description = "A site's backends"),
        (name = "groups", description = "A site's user groups and their moves"),
        (name = "users", description = "Users and their routes"),
        (name = "controller", description = "The controller's status and evaluation, feature states, moves and decisions"),
        (name = "dashboards", description = "The cluster overview, a site's dashboard and its history charts"),
        (name = "stats", description = "What proxies and backends report, and the sites' reachability"),
        (name = "operators", description = "Operator accounts"),
        (name = "audit", description = "Who changed what"),
        (name = "tokens", description = "API tokens"),
    )
)]
struct ApiDoc;

/// The `token` security scheme every operation names.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("palomar_<id>_<secret>")
            .description(Some("An API token; the scopes of an operation name the least role it needs."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("token", SecurityScheme::Http(scheme));
    }
}

/// The routes and their OpenAPI document, from the same list.
fn api() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sites::list_sites, topology::add_site))
        .routes(routes!(sites::get_site, topology::update_site, topology::remove_site))
        .routes(routes!(topology::init_progress, topology::init_site))
        .routes(routes!(force_moves::list_force_moves))
        .routes(routes!(
            force_moves::start_site_force_move,
            force_moves::update_site_force_move,
            force_moves::stop_site_force_move
        ))
        .routes(routes!(
            force_moves::start_site_recover,
            force_moves::update_site_recover,
            force_moves::stop_site_recover
        ))
        .routes(routes!(
            force_moves::start_backend_force_move,
            force_moves::update_backend_force_move,
            force_moves::stop_backend_force_move
        ))
        .routes(routes!(sites::list_tags, topology::create_tag))
        .routes(routes!(topology::rename_tag, topology::remove_tag))
        .routes(routes!(backends::list_backends, backends::add_backend))
        .routes(routes!(backends::get_backend, backends::update_backend, backends::remove_backend))
        .routes(routes!(backends::evacuate_backend))
        .routes(routes!(groups::list_groups))
        .routes(routes!(groups::get_group, groups::update_group))
        .routes(routes!(groups::move_group))
        .routes(routes!(groups::access_group))
        .routes(routes!(groups::list_group_members))
        .routes(routes!(users::get_user, users::delete_user))
        .routes(routes!(users::move_user))
        .routes(routes!(features::list_features))
        .routes(routes!(features::set_feature))
        .routes(routes!(moves::list_moves))
        .routes(routes!(moves::force_move))
        .routes(routes!(moves::cancel_move))
        .routes(routes!(moves::list_decisions))
        .routes(routes!(settings::list_settings, settings::put_setting, settings::delete_setting))
        .routes(routes!(audit::list_audit))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(operators::list_operators, operators::add_operator))
        .routes(routes!(operators::set_operator_role))
        .routes(routes!(operators::set_operator_disabled))
        .routes(routes!(operators::reset_operator_password))
        .routes(routes!(reports::overview))
        .routes(routes!(reports::site_dashboard))
        .routes(routes!(reports::site_charts))
        .routes(routes!(reports::controller_status))
        .routes(routes!(reports::evaluate_controller))
        .routes(routes!(replays::start_replay))
        .routes(routes!(replays::get_replay))
        .routes(routes!(stats::list_backend_stats))
        .routes(routes!(stats::list_proxy_stats))
        .routes(routes!(stats::prune_proxy_stats))
        .routes(routes!(stats::list_reachability))
}

/// The API's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// The API's router: every route, the OpenAPI document and its page (no login), and a problem
/// for any other path under the prefix.
pub fn router(services: Arc<Services>, trusted_proxies: Vec<IpNet>, requests_per_second: u32) -> Router {
    let (routes, document) = api().split_for_parts();
    let json: Arc<str> = document.to_pretty_json().unwrap_or_default().into();
    let page: Arc<str> = docs::page(&document).into();
    routes
        .route(OPENAPI_PATH, get(move || serve(json.clone(), "application/json")))
        .route(DOCS_PATH, get(move || serve(page.clone(), DOCS_MEDIA_TYPE)))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .route("/api/v1", axum::routing::any(not_found))
        .layer(middleware::from_fn_with_state(Arc::new(trusted_proxies), note_origin))
        .with_state(ApiState { services, rate: Arc::new(rate::TokenRate::new(requests_per_second)) })
}

const DOCS_MEDIA_TYPE: &str = "text/html; charset=utf-8";
/// The docs page uses the app's stylesheet and nothing else.
const DOCS_POLICY: &str =
    "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

async fn serve(body: Arc<str>, media_type: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, media_type)], body.to_string()).into_response();
    if media_type == DOCS_MEDIA_TYPE {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(DOCS_POLICY));
    }
    response
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", format!("no such API route; see {DOCS_PATH}"))
}

/// Notes who the client is (for the audit log), as the UI's guard does for pages.
async fn note_origin(State(trusted): State<Arc<Vec<IpNet>>>, mut request: Request, next: Next) -> Response {
    let origin = super::client::request_origin(&request, &trusted);
    request.extensions_mut().insert(origin);
    next.run(request).await
}
