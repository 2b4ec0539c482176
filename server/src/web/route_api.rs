//! `GET /api/route/v1?user=…&service=…`: where a Dovecot CE proxy sends a user. The Lua
//! passdb in `deploy/dovecot/` asks it with the proxy token as a bearer token. The answer is
//! plain `key=value` lines, which a Lua script reads without a JSON library:
//!
//! ```text
//! host=10.0.0.12
//! site=dc1a
//! group=default-17
//! reason=primary
//! ```
//!
//! with `Cache-Control: private, max-age=<ROUTE_API_CACHE_SECS>`, the proxies' `auth_cache_ttl`.

use std::sync::Arc;

use domain::logtext::Untrusted;

use axum::{
    extract::Query,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use palomar_core::services::{RouteError, Services};
use serde::Deserialize;

/// Where the route API is served.
pub const ROUTE_API: &str = "/api/route/v1";

/// The protocols a proxy asks for; all route alike (a group lives on one backend).
const SERVICES: [&str; 4] = ["imap", "pop3", "lmtp", "submission"];

#[derive(Debug, Deserialize)]
pub struct RouteQuery {
    user: String,
    service: Option<String>,
}

pub async fn lookup(
    axum::Extension(services): axum::Extension<Arc<Services>>,
    headers: HeaderMap,
    query: Result<Query<RouteQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let controller = services.controller_runtime();
    let result = answer(&services, &headers, query).await;
    match result {
        Ok(route) => {
            controller.telemetry().route_lookup(route.why.as_str());
            let body = format!(
                "host={}\nsite={}\ngroup={}\nreason={}\n",
                route.host,
                route.site,
                route.group,
                route.why.as_str()
            );
            let cache = format!("private, max-age={}", route.cache_secs);
            (StatusCode::OK, [(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, cache.as_str())], body)
                .into_response()
        }
        Err(err) => {
            controller.telemetry().route_lookup(err.kind());
            if matches!(err, RouteError::Store(_) | RouteError::NoBackend(_)) {
                tracing::warn!(error = %Untrusted(&err), "route lookup failed");
            }
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let body = format!("error={}\n", one_line(&err.to_string()));
            let mut response =
                (status, [(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, "no-store")], body).into_response();
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            }
            response
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

async fn answer(
    services: &Services,
    headers: &HeaderMap,
    query: Result<Query<RouteQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<palomar_core::services::RouteAnswer, RouteError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let routes = services.proxy_routes(token)?;
    let Query(query) =
        query.map_err(|_| RouteError::Invalid("user is required (and service, if given, is a word)".into()))?;
    if let Some(service) = &query.service {
        if !SERVICES.contains(&service.to_ascii_lowercase().as_str()) {
            return Err(RouteError::Invalid(format!("service must be one of {}", SERVICES.join(", "))));
        }
    }
    routes.route(&query.user).await
}

/// Error text on one line, so a proxy's log line and the `key=value` format stay whole.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
