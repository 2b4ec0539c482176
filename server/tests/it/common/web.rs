//! The whole router in process, on the embedded store and in-memory sessions, and requests
//! as a browser on the controller's own origin sends them.

use std::{sync::Arc, time::Duration};

use domain::Role;

use axum::{
    body::Body,
    http::{header, Request, Response, StatusCode},
    Router,
};
use leptos::prelude::LeptosOptions;
use palomar_core::{services::Caller, services::Services};
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    web::{router, SessionSettings},
};
use tower::ServiceExt;

/// The password of every test operator.
pub const PASSWORD: &str = "correct horse battery staple";
/// The controller's origin in these tests (CONTROLLER_API_URL).
pub const ORIGIN: &str = "http://127.0.0.1:3000";

/// Session settings for tests: long limits unless a test shortens them.
pub fn settings(idle: Duration, secure: bool) -> SessionSettings {
    SessionSettings {
        secret: vec![7; 64],
        secure,
        idle_timeout: idle,
        absolute_timeout: idle.max(Duration::from_secs(3600)),
        public_origin: ORIGIN.into(),
        trusted_proxies: Vec::new(),
        max_move_streams: 4,
        // Tests send many requests with one token at once: no rate limit in the way unless a
        // test sets one.
        api_requests_per_second: 10_000,
    }
}

/// The router with operators `admin`, `operator` and `viewer`, and the services behind it.
pub async fn app_with(settings: SessionSettings, services: Option<Services>) -> (Router, Arc<Services>) {
    let services = Arc::new(match services {
        Some(services) => services,
        None => super::services_on(Arc::new(EmbeddedStore::new())),
    });
    let admin = services.operator_admin(&Caller::trusted_cli()).unwrap();
    admin.add("admin", Role::Admin, PASSWORD).await.unwrap();
    admin.add("operator", Role::Operator, PASSWORD).await.unwrap();
    admin.add("viewer", Role::Viewer, PASSWORD).await.unwrap();
    let options = LeptosOptions::builder().output_name("palomar").site_root("target/site").build();
    let app = router(services.clone(), options, tower_sessions::MemoryStore::default(), &settings).unwrap();
    (app, services)
}

/// The router with default settings, `idle` and `secure` aside.
pub async fn app(idle: Duration, secure: bool) -> Router {
    app_with(settings(idle, secure), None).await.0
}

pub async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.unwrap()
}

/// A form post from a page of the controller (with its Origin), as a script sends it.
pub fn post(path: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, ORIGIN);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

pub fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

/// Logs in and returns the `name=value` of the session cookie and the full Set-Cookie line.
pub async fn login(app: &Router, user: &str, cookie: Option<&str>) -> (String, String) {
    let response =
        send(app, post("/api/auth/login", &format!("username={user}&password={PASSWORD}&next=/"), cookie)).await;
    assert_eq!(response.status(), StatusCode::OK, "login as {user}");
    let set_cookie = set_cookie(&response, "palomar_session").expect("a session cookie");
    (set_cookie.split(';').next().unwrap().to_string(), set_cookie)
}

/// The full Set-Cookie line of the cookie `name`, if the response sets it.
pub fn set_cookie(response: &Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The body as text (bounded).
pub async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 4 << 20).await.unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}
