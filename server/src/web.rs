//! The HTTP server: Leptos pages and server functions, static assets, sessions, and the
//! guard that sends a visitor without a session to the login page.

use app::domain::logtext::Untrusted;
use std::{sync::Arc, time::Duration};

use app::{
    api::support::SESSION_OPERATOR,
    domain::AppError,
    services::{RequestOrigin, Services},
    shell, App,
};
use axum::{
    extract::{ConnectInfo, Request},
    http::{header, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::{
    cookie::{Key, SameSite},
    Expiry, Session, SessionManagerLayer, SessionStore,
};

/// How the session cookie is set.
pub struct SessionSettings {
    /// At least 64 bytes; signs the cookie.
    pub secret: Vec<u8>,
    /// Set the `Secure` flag (the server is behind https).
    pub secure: bool,
    pub idle_timeout: Duration,
}

/// Why the router could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("SESSION_SECRET must have at least 64 bytes")]
    ShortSecret,
}

/// Builds the whole application router.
pub fn router<S: SessionStore + Clone>(
    services: Arc<Services>,
    options: LeptosOptions,
    store: S,
    settings: &SessionSettings,
) -> Result<Router, WebError> {
    let key = Key::try_from(settings.secret.as_slice()).map_err(|_| WebError::ShortSecret)?;
    let idle = time::Duration::seconds(settings.idle_timeout.as_secs().min(i64::MAX as u64) as i64);
    let sessions = SessionManagerLayer::new(store)
        .with_name("palomar_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(settings.secure)
        .with_expiry(Expiry::OnInactivity(idle))
        .with_signed(key);

    let routes = generate_route_list(App);
    let context_services = services.clone();
    let router = Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .route(MOVE_STREAM, get(move_stream))
        .layer(axum::Extension(services.clone()))
        .leptos_routes_with_context(&options, routes, move || provide_context(context_services.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(middleware::from_fn(require_login))
        .layer(sessions)
        .with_state(options);
    Ok(router)
}

/// The one server function callable without a session.
const LOGIN_FUNCTION: &str = "/api/auth/login";

/// Paths anyone may load: the login page and its server function, assets and the health check.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == LOGIN_FUNCTION
        || path == "/healthz"
        || path == "/metrics"
        || path.starts_with("/pkg/")
        || path.starts_with("/favicon")
}

/// Without a logged-in session, a page request goes to `/login?next=<path>` and a server
/// function call gets 401 before its arguments are even read. (Each server function checks
/// the session and the role again itself; this guard makes forgetting impossible.)
async fn require_login(session: Session, mut request: Request, next: Next) -> Response {
    let origin = request_origin(&request);
    request.extensions_mut().insert(origin);
    let path = request.uri().path();
    if is_public(path) {
        return next.run(request).await;
    }
    match session.get::<String>(SESSION_OPERATOR).await {
        Ok(Some(_)) if path.starts_with("/api/") => bad_arguments_are_client_errors(next.run(request).await).await,
        Ok(Some(_)) => next.run(request).await,
        Ok(None) if path.starts_with("/api/") => {
            let body = serde_json::to_string(&AppError::Unauthenticated).unwrap_or_default();
            (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(None) if request.method() == Method::GET => {
            let target = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
            let login = format!("/login?next={}", app::api::support::percent_encode(target));
            Redirect::to(&login).into_response()
        }
        Ok(None) => (StatusCode::UNAUTHORIZED, "please log in").into_response(),
        Err(err) => {
            tracing::warn!(error = %Untrusted(&err), "session store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "session store unavailable, try again shortly",
            )
                .into_response()
        }
    }
}

/// Leptos answers 500 when a server function's arguments do not even deserialize (a field
/// missing or mistyped): that is the caller's mistake, so say 422 with the same message.
async fn bad_arguments_are_client_errors(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body too large").into_response();
    };
    if matches!(serde_json::from_slice::<AppError>(&bytes), Ok(AppError::Invalid { .. })) {
        parts.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The client as the audit log records it: the peer address, behind any `X-Forwarded-For`
/// chain a proxy added (kept as sent: it is only as trustworthy as the proxy).
fn request_origin(request: &Request) -> RequestOrigin {
    let header =
        |name: header::HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let client_ip = match header(header::HeaderName::from_static("x-forwarded-for")) {
        Some(chain) => format!("{chain} via {peer}"),
        None => peer,
    };
    let mut user_agent = header(header::USER_AGENT).unwrap_or_default();
    user_agent.truncate(512);
    RequestOrigin { client_ip, user_agent }
}

/// The live feed of a site's active moves (server-sent events, one `moves` event a second).
pub const MOVE_STREAM: &str = "/api/moves/stream";

/// Liveness with the controller's state: always 200 while the server runs; `status` says
/// `degraded` and `problems` says why when the controller is holding back.
async fn health(axum::Extension(services): axum::Extension<Arc<Services>>) -> Response {
    let status = services.controller_runtime().status().await;
    let body = serde_json::json!({
        "status": if status.problems.is_empty() { "ok" } else { "degraded" },
        "site": status.site,
        "instance": status.instance,
        "leader": status.leader.map(|(holder, token)| serde_json::json!({"holder": holder, "token": token})),
        "this_instance_leads": status.this_instance_leads,
        "problems": status.problems,
    });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The controller's own metrics in Prometheus text format 0.0.4.
async fn metrics(axum::Extension(services): axum::Extension<Arc<Services>>) -> Response {
    let body = services.controller_runtime().telemetry().render();
    ([(header::CONTENT_TYPE, app::controller::Telemetry::CONTENT_TYPE)], body).into_response()
}

#[derive(serde::Deserialize)]
struct StreamQuery {
    site_id: String,
}

async fn move_stream(
    axum::Extension(services): axum::Extension<Arc<Services>>,
    axum::extract::Query(query): axum::extract::Query<StreamQuery>,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let Ok(site_id) = uuid::Uuid::parse_str(query.site_id.trim()) else {
        let body = serde_json::to_string(&AppError::invalid("site_id", "not a site id")).unwrap_or_default();
        return (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    };
    let controller = services.controller_runtime();
    let stream = futures::stream::unfold((controller, true), move |(controller, first)| async move {
        if !first {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let event = match controller.live_moves(site_id).await {
            Ok(moves) => Event::default().event("moves").json_data(&moves).unwrap_or_default(),
            Err(err) => Event::default().event("unavailable").data(err.to_string()),
        };
        Some((Ok::<_, std::convert::Infallible>(event), (controller, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
