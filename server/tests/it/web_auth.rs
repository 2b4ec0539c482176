//! Sessions and access through the real router: every page and server function but login
//! needs a session; login rotates the session id; cookies are locked down; idle sessions end.

use crate::common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use common::web::{app, get, login, post, send, ORIGIN};

fn all_server_functions() -> Vec<(&'static str, axum::http::Method)> {
    let mut paths: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    paths.sort_by_key(|(path, _)| *path);
    paths
}

#[tokio::test]
async fn every_server_function_but_login_refuses_a_request_without_session() {
    let app = app(Duration::from_secs(600), false).await;
    let functions = all_server_functions();
    assert!(functions.len() >= 12, "all server functions are registered: {functions:?}");
    for (path, method) in functions {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, ORIGIN)
            .body(Body::from("id=00000000-0000-0000-0000-000000000000&name=x&tag=&load_balancer=&status=online&confirm_name=x&cursor="))
            .unwrap();
        let status = send(&app, request).await.status();
        if path == "/api/auth/login" {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "login must be callable without a session");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} without a session");
        }
    }
}

#[tokio::test]
async fn pages_redirect_to_login_without_session() {
    let app = app(Duration::from_secs(600), false).await;
    for page in ["/", "/sites", "/sites/new", "/tags", "/no-such-page"] {
        let response = send(&app, get(page, None)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        let location = response.headers().get(header::LOCATION).unwrap().to_str().unwrap();
        assert!(location.starts_with("/login?next=%2F"), "{page} -> {location}");
    }
    assert_eq!(send(&app, get("/login", None)).await.status(), StatusCode::OK);
    assert_eq!(send(&app, get("/healthz", None)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_is_refused_without_a_session() {
    let app = app(Duration::from_secs(600), false).await;
    let response = send(&app, post("/api/auth/login", "username=admin&password=nope&next=/", None)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let response = send(&app, post("/api/auth/login", "username=ghost&password=nope&next=/", None)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "unknown user answers like a wrong password");
}

#[tokio::test]
async fn login_sets_a_locked_down_cookie_and_opens_pages() {
    let app = app(Duration::from_secs(600), false).await;
    let (cookie, set_cookie) = login(&app, "admin", None).await;
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "no Secure flag over plain http: {set_cookie}");
    assert_eq!(send(&app, get("/sites", Some(&cookie))).await.status(), StatusCode::OK);
    assert_eq!(send(&app, post("/api/sites/list", "", Some(&cookie))).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = app(Duration::from_secs(600), true).await;
    let (_, set_cookie) = login(&app, "admin", None).await;
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn login_rotates_the_session_id() {
    let app = app(Duration::from_secs(600), false).await;
    let (first, _) = login(&app, "admin", None).await;
    let (second, _) = login(&app, "admin", Some(&first)).await;
    assert_ne!(first, second, "a new id at login");
    let old = send(&app, get("/sites", Some(&first))).await;
    assert_eq!(old.status(), StatusCode::SEE_OTHER, "the id from before login is dead");
    assert_eq!(send(&app, get("/sites", Some(&second))).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = app(Duration::from_secs(600), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    assert_eq!(send(&app, post("/api/auth/logout", "", Some(&cookie))).await.status(), StatusCode::OK);
    assert_eq!(send(&app, get("/sites", Some(&cookie))).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = app(Duration::from_secs(1), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    assert_eq!(send(&app, get("/sites", Some(&cookie))).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(send(&app, get("/sites", Some(&cookie))).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_viewer_cannot_change_topology() {
    let app = app(Duration::from_secs(600), false).await;
    let (cookie, _) = login(&app, "viewer", None).await;
    let response = send(&app, post("/api/tags/create", "tag=eu", Some(&cookie))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response =
        send(&app, post("/api/sites/add", "name=dc9&tag=&load_balancer=&status=online", Some(&cookie))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(send(&app, post("/api/tags/list", "", Some(&cookie))).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    let app = app(Duration::from_secs(600), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    for body in [
        "name=bad name&tag=&load_balancer=&status=online",
        "name=dc9&tag=not-a-uuid&load_balancer=&status=online",
        "name=dc9&tag=&load_balancer=bad host&status=online",
        "name=dc9&tag=&load_balancer=&status=maintenance",
        "name=dc9&tag=00000000-0000-0000-0000-000000000001&load_balancer=&status=online",
    ] {
        let response = send(&app, post("/api/sites/add", body, Some(&cookie))).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let missing_field = send(&app, post("/api/sites/add", "name=dc9", Some(&cookie))).await;
    assert_eq!(missing_field.status(), StatusCode::UNPROCESSABLE_ENTITY, "a missing field is the caller's mistake");
    let list = send(&app, post("/api/sites/list", "", Some(&cookie))).await;
    let body = axum::body::to_bytes(list.into_body(), 1 << 20).await.unwrap();
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["items"], serde_json::json!([]), "nothing was written");
}

/// The server functions a viewer may call. Every other one must answer 403 to a viewer, so a
/// new mutating function is covered here the day it is registered.
const VIEWER_MAY_CALL: [&str; 26] = [
    "/api/auth/current_operator",
    "/api/auth/login",
    "/api/auth/logout",
    "/api/backends/list",
    "/api/controller/decisions",
    "/api/controller/moves",
    "/api/controller/status",
    "/api/dashboard/charts",
    "/api/dashboard/overview",
    "/api/dashboard/site",
    "/api/force_moves/get",
    "/api/groups/get",
    "/api/groups/init_progress",
    "/api/groups/list",
    "/api/groups/members",
    "/api/replays/page",
    "/api/settings/features",
    "/api/settings/list",
    "/api/sites/get",
    "/api/sites/list",
    "/api/stats/backend",
    "/api/stats/proxy_dest",
    "/api/stats/reachability",
    "/api/tags/all",
    "/api/tags/list",
    "/api/users/lookup",
];

#[tokio::test]
async fn a_viewer_can_call_no_mutating_server_function() {
    let app = app(Duration::from_secs(600), false).await;
    let every_field = "id=00000000-0000-0000-0000-000000000000&name=dc9&tag=&load_balancer=&status=online&confirm_name=dc9\
        &username=someone&role=admin&password=long%20enough%20password&disabled=true&day=&operator=&action=&next=/\
        &site_id=00000000-0000-0000-0000-000000000000&move_id=00000000-0000-0000-0000-000000000000&host=be9.example.net&load_factor=50&force=yes&backend=&mask=&moving=\
        &destination=00000000-0000-0000-0000-000000000000&sticky_users=yes&sticky_backend=yes&count=10&group=default-1\
        &failover_group=&section=controller_features&backend_id=&setting_name=load_balance&setting_value=on\
        &feature=load_balance&state=on&proxy_host=proxy1.example.net&how=force&days=30\
        &kind=force_move&percent=10&destinations=dc9&shown_sticky_users=no&shown_sticky_backend=no&version=0\
        &run=&from=&to=&settings=";
    let mut forbidden = Vec::new();
    for (path, method) in all_server_functions() {
        if path == "/api/auth/logout" || path == "/api/auth/login" {
            continue; // they end or start the viewer's own session
        }
        let (cookie, _) = login(&app, "viewer", None).await;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .header(header::COOKIE, &cookie)
            .body(Body::from(every_field))
            .unwrap();
        let status = send(&app, request).await.status();
        if VIEWER_MAY_CALL.contains(&path) {
            assert_ne!(status, StatusCode::FORBIDDEN, "{path} is readable by a viewer");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} must refuse a viewer");
            forbidden.push(path);
        }
    }
    // 25 since force and cancel became one function, `controller/end_move`.
    assert!(forbidden.len() >= 25, "the mutating functions were all tried: {forbidden:?}");
}

/// A username holding a newline once forged a whole "logged in" line.
/// It is logged escaped, on the one line of the refusal.
#[tokio::test]
async fn a_username_cannot_forge_a_log_line() {
    let app = app(Duration::from_secs(600), false).await;
    let logs = common::logs::Captured::default();
    let guard = logs.install();
    let forged = "eve%0Aforged%3A%20INFO%20operator%20logged%20in%20username%3Dadmin";
    let response = send(&app, post("/api/auth/login", &format!("username={forged}&password=nope&next=/"), None)).await;
    drop(guard);
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = logs.text();
    assert!(text.contains("login refused") && text.contains(r"eve\nforged: INFO"), "{text}");
    assert!(!text.lines().any(|line| line.starts_with("forged")), "a forged line: {text}");
}
