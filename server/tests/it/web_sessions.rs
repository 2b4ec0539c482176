//! Session lifetime and revocation through the real router: sliding idle expiry and an
//! absolute limit; a password reset, a disable or a role change ends the operator's other
//! sessions, and the live-moves stream ends on logout or revocation.

use crate::common;

use std::time::Duration;

use axum::{body::Body, http::StatusCode, Router};
use common::web::{app, app_with, get, login, post, send, settings, PASSWORD};
use http_body_util::BodyExt;

async fn status(app: &Router, path: &str, cookie: &str) -> StatusCode {
    send(app, get(path, Some(cookie))).await.status()
}

async fn api_status(app: &Router, path: &str, cookie: &str) -> StatusCode {
    send(app, post(path, "", Some(cookie))).await.status()
}

// Finding 11: the cookie expired an hour after login even while the operator was active.
#[tokio::test]
async fn an_active_session_slides_its_idle_expiry() {
    let app = app(Duration::from_secs(2), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    for second in 1..=4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(status(&app, "/sites", &cookie).await, StatusCode::OK, "active at {second} s, idle limit 2 s");
    }
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(status(&app, "/sites", &cookie).await, StatusCode::SEE_OTHER, "idle for longer than the limit");
}

#[tokio::test]
async fn a_session_ends_at_the_absolute_limit_however_active() {
    let mut settings = settings(Duration::from_secs(3), false);
    settings.absolute_timeout = Duration::from_secs(4);
    let (app, _) = app_with(settings, None).await;
    let (cookie, _) = login(&app, "admin", None).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(status(&app, "/sites", &cookie).await, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(status(&app, "/sites", &cookie).await, StatusCode::SEE_OTHER, "past the absolute limit");
    assert_eq!(api_status(&app, "/api/sites/list", &cookie).await, StatusCode::UNAUTHORIZED);
}

fn long() -> Duration {
    Duration::from_secs(600)
}

async fn admin_post(app: &Router, cookie: &str, path: &str, body: &str) {
    let response = send(app, post(path, body, Some(cookie))).await;
    assert_eq!(response.status(), StatusCode::OK, "{path} {body}");
}

async fn login_with(app: &Router, user: &str, password: &str) -> String {
    let body = format!("username={user}&password={password}&next=/");
    let response = send(app, post("/api/auth/login", &body, None)).await;
    assert_eq!(response.status(), StatusCode::OK, "login as {user}");
    let set_cookie = common::web::set_cookie(&response, "palomar_session").expect("a session cookie");
    set_cookie.split(';').next().unwrap().to_string()
}

// Finding 5: after a password reset or a disable, the operator's old session kept working.
#[tokio::test]
async fn a_reset_a_disable_or_a_role_change_ends_the_operators_sessions() {
    let app = app(long(), false).await;
    let (admin, _) = login(&app, "admin", None).await;
    const NEW: &str = "a brand new passphrase";

    let operator = login_with(&app, "operator", PASSWORD).await;
    assert_eq!(api_status(&app, "/api/sites/list", &operator).await, StatusCode::OK);
    admin_post(&app, &admin, "/api/operators/reset_password", &format!("username=operator&password={NEW}")).await;
    assert_eq!(api_status(&app, "/api/sites/list", &operator).await, StatusCode::UNAUTHORIZED, "after a reset");
    assert_eq!(status(&app, "/sites", &operator).await, StatusCode::SEE_OTHER);

    let operator = login_with(&app, "operator", NEW).await;
    admin_post(&app, &admin, "/api/operators/set_role", "username=operator&role=viewer").await;
    assert_eq!(api_status(&app, "/api/sites/list", &operator).await, StatusCode::UNAUTHORIZED, "after a role change");

    let operator = login_with(&app, "operator", NEW).await;
    admin_post(&app, &admin, "/api/operators/set_disabled", "username=operator&disabled=true").await;
    admin_post(&app, &admin, "/api/operators/set_disabled", "username=operator&disabled=false").await;
    assert_eq!(
        api_status(&app, "/api/sites/list", &operator).await,
        StatusCode::UNAUTHORIZED,
        "a session unused while its account was disabled stays ended"
    );
    let operator = login_with(&app, "operator", NEW).await;
    assert_eq!(api_status(&app, "/api/sites/list", &operator).await, StatusCode::OK, "a new login works");

    // An admin resetting their own password keeps this session and ends the others.
    let (other_admin, _) = login(&app, "admin", None).await;
    admin_post(&app, &admin, "/api/operators/reset_password", &format!("username=admin&password={NEW}")).await;
    assert_eq!(api_status(&app, "/api/sites/list", &admin).await, StatusCode::OK, "the resetting session");
    assert_eq!(api_status(&app, "/api/sites/list", &other_admin).await, StatusCode::UNAUTHORIZED, "the other one");
    assert_eq!(api_status(&app, "/api/sites/list", &operator).await, StatusCode::OK, "other accounts untouched");
}

/// Reads the stream until it ends; `None` if it is still open after `limit`.
async fn ends_within(body: &mut Body, limit: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(_) => return Some(started.elapsed()),
            Err(_) => return None,
        }
    }
}

async fn open_stream(app: &Router, cookie: &str) -> Body {
    let path = format!("/api/moves/stream?site_id={}", uuid::Uuid::new_v4());
    let response = send(app, get(&path, Some(cookie))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(3), body.frame()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8_lossy(first.data_ref().unwrap()).into_owned();
    assert!(text.contains("event: moves"), "{text}");
    body
}

// Finding 5: the live-moves stream checked only that a session existed, and kept streaming
// after logout.
#[tokio::test]
async fn the_move_stream_ends_on_logout_and_on_revocation() {
    let app = app(long(), false).await;
    let (operator, _) = login(&app, "operator", None).await;
    let mut stream = open_stream(&app, &operator).await;
    assert_eq!(ends_within(&mut stream, Duration::from_millis(2500)).await, None, "a live session keeps it open");
    assert_eq!(api_status(&app, "/api/auth/logout", &operator).await, StatusCode::OK);
    let ended = ends_within(&mut stream, Duration::from_secs(4)).await;
    assert!(ended.is_some(), "the stream ends within seconds of the logout");

    let (admin, _) = login(&app, "admin", None).await;
    let (operator, _) = login(&app, "operator", None).await;
    let mut stream = open_stream(&app, &operator).await;
    admin_post(&app, &admin, "/api/operators/set_disabled", "username=operator&disabled=true").await;
    assert!(ends_within(&mut stream, Duration::from_secs(4)).await.is_some(), "and when the account is disabled");
    assert_eq!(
        status(&app, &format!("/api/moves/stream?site_id={}", uuid::Uuid::nil()), &operator).await,
        StatusCode::UNAUTHORIZED
    );
}

// Every request's account check is reused for ACCOUNTS_FRESH_FOR. A change made
// through another instance (its own cache, the same store) still ends the session within that.
#[tokio::test]
async fn an_account_disabled_through_another_instance_ends_its_sessions_within_a_second() {
    use palomar_core::services::{Caller, ACCOUNTS_FRESH_FOR};
    let store = std::sync::Arc::new(palomar_server::adapters::embedded::EmbeddedStore::new());
    let (app, _) = app_with(settings(long(), false), Some(common::services_on(store.clone()))).await;
    let other_instance = common::services_on(store);
    let (operator, _) = login(&app, "operator", None).await;
    assert_eq!(api_status(&app, "/api/sites/list", &operator).await, StatusCode::OK);
    other_instance.operator_admin(&Caller::trusted_cli()).unwrap().set_disabled("operator", true).await.unwrap();
    let started = std::time::Instant::now();
    while api_status(&app, "/api/sites/list", &operator).await == StatusCode::OK {
        assert!(
            started.elapsed() < ACCOUNTS_FRESH_FOR + Duration::from_millis(500),
            "still open after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status(&app, "/sites", &operator).await, StatusCode::SEE_OTHER);
}
