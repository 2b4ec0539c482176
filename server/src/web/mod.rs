//! The HTTP server: Leptos pages and server functions, static assets, sessions, and the
//! layers every request passes, outermost first: security headers, a body size limit, the
//! CSRF origin check, the session, the login guard. One file per concern: `csrf`, `headers`,
//! `guard` (and the session limits), `client` (who the client is), `stream` (live moves),
//! `route_api` (where Dovecot CE proxies send a user), `listener` (TCP options), `shutdown`
//! (stopping without waiting for ever on live feeds).

pub mod api_v1;
mod client;
mod csrf;
mod device;
mod guard;
mod headers;
mod listener;
mod route_api;
mod shutdown;
mod stream;

use std::{sync::Arc, time::Duration};

use palomar_core::services::{DeviceCookies, Services};

use app::{shell, App};
use axum::{
    http::header,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::{
    cookie::{Key, SameSite},
    Expiry, Session, SessionManagerLayer, SessionStore,
};

pub use guard::is_normal;
pub use listener::{bind, NoDelayListener};
pub use route_api::ROUTE_API;
pub use shutdown::{serve_until, ShuttingDown, GRACE};
pub use stream::MOVE_STREAM;

use crate::config::{IpNet, WebSettings};

/// The largest request body accepted: server functions take a few form fields.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// How sessions and requests are checked.
pub struct SessionSettings {
    /// At least 64 bytes; signs the cookie.
    pub secret: Vec<u8>,
    /// Set the `Secure` flag (browsers reach the server over https).
    pub secure: bool,
    /// A session unused this long ends (each use slides it).
    pub idle_timeout: Duration,
    /// A session ends this long after login, however active.
    pub absolute_timeout: Duration,
    /// The origin state-changing requests must come from (`scheme://host[:port]`).
    pub public_origin: String,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Live move streams one session may hold open at once.
    pub max_move_streams: u32,
    /// Requests one API token may make per second (twice as many in a burst).
    pub api_requests_per_second: u32,
}

impl SessionSettings {
    /// The settings of `web`, with the cookie signing `secret`.
    pub fn new(secret: Vec<u8>, web: &WebSettings) -> Self {
        Self {
            secret,
            secure: web.secure_cookies,
            idle_timeout: web.session_idle_timeout,
            absolute_timeout: web.session_absolute_timeout,
            public_origin: web.public_origin.clone(),
            trusted_proxies: web.trusted_proxies.clone(),
            max_move_streams: web.max_move_streams,
            api_requests_per_second: web.api_requests_per_second,
        }
    }
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
    let devices: Arc<dyn DeviceCookies> = Arc::new(device::SignedDevices::new(key.clone(), settings.secure));
    let idle = time::Duration::seconds(i64::try_from(settings.idle_timeout.as_secs()).unwrap_or(i64::MAX));
    let expiry = Expiry::OnInactivity(idle);
    let shared_store = Arc::new(store.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name("palomar_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(settings.secure)
        .with_expiry(expiry)
        .with_signed(key);
    let guard = Arc::new(guard::Guard {
        services: services.clone(),
        absolute_timeout: settings.absolute_timeout,
        touch_every: settings.idle_timeout / 10,
        trusted_proxies: settings.trusted_proxies.clone(),
        open_session: Arc::new(move |id| Session::new(Some(id), shared_store.clone(), Some(expiry))),
        streams: Arc::new(stream::StreamSlots::new(settings.max_move_streams)),
    });
    let allowed = csrf::AllowedOrigin(settings.public_origin.as_str().into());
    if ["://0.0.0.0", "://[::]"].iter().any(|any| settings.public_origin.contains(any)) {
        // No browser can be at a wildcard address: every change would be refused.
        tracing::warn!(
            origin = %settings.public_origin,
            "the public origin is a wildcard address: set CONTROLLER_PUBLIC_URL to the URL operators use"
        );
    }

    let routes = generate_route_list(App);
    let context_services = services.clone();
    // The API checks its own tokens: no session, and no origin check (a token is never sent
    // by a browser on its own, so there is no forgery to guard against).
    let api = api_v1::router(services.clone(), settings.trusted_proxies.clone(), settings.api_requests_per_second);
    let ui = Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .route(MOVE_STREAM, get(stream::move_stream).with_state(guard.clone()))
        .route(ROUTE_API, get(route_api::lookup))
        .layer(axum::Extension(services.clone()))
        .leptos_routes_with_context(
            &options,
            routes,
            move || {
                provide_context(context_services.clone());
                provide_context(devices.clone());
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(middleware::from_fn_with_state(guard, guard::require_login))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(allowed, csrf::same_origin))
        .with_state(options);
    let router = ui
        .merge(api)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(api_v1::problem::problems_only))
        .layer(middleware::from_fn(headers::security_headers));
    Ok(router)
}

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
    ([(header::CONTENT_TYPE, palomar_core::controller::Telemetry::CONTENT_TYPE)], body).into_response()
}
