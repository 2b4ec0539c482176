//! The web edge through the real router: the CSRF origin check, the security headers, the guard
//! on normalized paths, login input and throttling, and whose `X-Forwarded-For` counts.

use crate::common;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use domain::PageRequest;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, Request, StatusCode},
    Router,
};
use common::web::{app, app_with, get, login, post, send, settings, text, ORIGIN, PASSWORD};
use palomar_core::services::{Caller, ThrottlePolicy};
use palomar_server::{adapters::embedded::EmbeddedStore, config::IpNet};

fn long() -> Duration {
    Duration::from_secs(600)
}

/// A post with the given origin headers (none, one or both).
fn post_from(path: &str, body: &str, cookie: &str, origin: Option<&str>, referer: Option<&str>) -> Request<Body> {
    let mut builder = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie);
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    if let Some(referer) = referer {
        builder = builder.header(header::REFERER, referer);
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

async fn tag_names(app: &Router, cookie: &str) -> String {
    text(send(app, post("/api/tags/list", "", Some(cookie))).await).await
}

// Finding 4: a cross-origin form post with the operator's cookie created and removed a tag.
#[tokio::test]
async fn state_changing_requests_need_our_origin() {
    let app = app(long(), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    let cases = [
        ("missing", None, None),
        ("foreign origin", Some("https://evil.example"), None),
        ("sibling origin", Some("http://127.0.0.1:3001"), None),
        ("null origin", Some("null"), None),
        ("foreign referer", None, Some("https://evil.example/page")),
        ("foreign origin, our referer", Some("https://evil.example"), Some("http://127.0.0.1:3000/tags")),
    ];
    for (case, origin, referer) in cases {
        let response = send(&app, post_from("/api/tags/create", "tag=forged", &cookie, origin, referer)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{case}");
        let message = text(response).await;
        assert!(message.contains("request refused") && message.contains(ORIGIN), "{case}: {message}");
    }
    assert!(!tag_names(&app, &cookie).await.contains("forged"), "nothing was written");

    let same = send(&app, post_from("/api/tags/create", "tag=ours", &cookie, Some(ORIGIN), None)).await;
    assert_eq!(same.status(), StatusCode::OK, "same origin");
    let by_referer =
        send(&app, post_from("/api/tags/create", "tag=ours2", &cookie, None, Some("http://127.0.0.1:3000/tags"))).await;
    assert_eq!(by_referer.status(), StatusCode::OK, "no Origin, a same-origin Referer");
    let names = tag_names(&app, &cookie).await;
    assert!(names.contains("ours") && names.contains("ours2"), "{names}");
    assert_eq!(send(&app, get("/tags", Some(&cookie))).await.status(), StatusCode::OK, "GET is not checked");
}

#[tokio::test]
async fn login_needs_our_origin_too() {
    let app = app(long(), false).await;
    let body = format!("username=admin&password={PASSWORD}&next=/");
    let forged = send(&app, post_from("/api/auth/login", &body, "", Some("https://evil.example"), None)).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get(header::SET_COOKIE).is_none(), "no session was opened");
    let missing = send(&app, post_from("/api/auth/login", &body, "", None, None)).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    login(&app, "admin", None).await;
}

// Finding 7: no CSP, no frame protection, no nosniff, no Referrer-Policy, no no-store.
#[tokio::test]
async fn pages_carry_a_nonce_policy_and_the_security_headers() {
    let app = app(long(), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    for page in ["/login", "/sites", "/tags"] {
        let response = send(&app, get(page, Some(&cookie))).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        let headers = response.headers().clone();
        let header = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap().to_string());
        let csp = header(header::CONTENT_SECURITY_POLICY).expect("a CSP");
        assert_eq!(header(header::X_FRAME_OPTIONS).as_deref(), Some("DENY"), "{page}");
        assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS).as_deref(), Some("nosniff"), "{page}");
        assert_eq!(header(header::REFERRER_POLICY).as_deref(), Some("same-origin"), "{page}");
        assert_eq!(header(header::CACHE_CONTROL).as_deref(), Some("no-store"), "{page}");
        for part in ["frame-ancestors 'none'", "'wasm-unsafe-eval'", "connect-src 'self'", "object-src 'none'"] {
            assert!(csp.contains(part), "{page}: {part} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        // The nonce in the policy is the one on the page's own scripts.
        let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_string();
        assert!(nonce.len() >= 16, "{nonce}");
        let html = text(response).await;
        assert!(html.contains(&format!("nonce=\"{nonce}\"")), "{page}: scripts carry the nonce");
        for script in html.split("<script").skip(1) {
            assert!(
                script.starts_with(&format!(" nonce=\"{nonce}\"")) || script.contains(&format!("nonce=\"{nonce}\"")),
                "{page}: every script has the nonce: <script{}",
                &script[..script.len().min(80)]
            );
        }
    }
    let other = send(&app, get("/login", None)).await;
    let again = other.headers().get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string();
    let first = send(&app, get("/login", None)).await;
    let first = first.headers().get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string();
    assert_ne!(again, first, "a new nonce per page");
}

#[tokio::test]
async fn server_function_answers_are_not_stored_and_render_nothing() {
    let app = app(long(), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    let response = send(&app, post("/api/sites/list", "", Some(&cookie))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert_eq!(headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    assert!(headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().starts_with("default-src 'none'"));
}

// Finding 10: `/pkg/../operators` skipped the guard and rendered with a 500.
#[tokio::test]
async fn paths_that_are_not_normal_are_refused_before_the_guard() {
    let app = app(long(), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    for path in ["/pkg/../operators", "/pkg/%2e%2e/operators", "/pkg/%2E%2E/audit", "//operators", "/favicon/../audit"]
    {
        for cookie in [None, Some(cookie.as_str())] {
            let response = send(&app, get(path, cookie)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} with session: {}", cookie.is_some());
        }
    }
    let response = send(&app, post("/api/../api/tags/create", "tag=sneaky", Some(&cookie))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(send(&app, get("/operators", None)).await.status(), StatusCode::SEE_OTHER, "the real path is guarded");
}

// Finding 12a: missing fields, an over-long name or password answered 500.
#[tokio::test]
async fn bad_login_input_is_a_client_error() {
    let app = app(long(), false).await;
    let long_name = "a".repeat(5000);
    let long_password = "p".repeat(5000);
    for body in [
        String::new(),
        "username=admin".to_string(),
        "password=x&next=/".to_string(),
        format!("username={long_name}&password=x&next=/"),
        format!("username=admin&password={long_password}&next=/"),
        "username=ad%0Amin&password=x&next=/".to_string(),
    ] {
        let response = send(&app, post("/api/auth/login", &body, None)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{}", &body[..body.len().min(40)]);
    }
    let huge = format!("username=admin&password={}&next=/", "p".repeat(1 << 20));
    let status = send(&app, post("/api/auth/login", &huge, None)).await.status();
    assert!(status.is_client_error(), "a megabyte body is refused: {status}");
}

// Finding 2: 50 wrong passwords were answered at a steady pace, then the right one worked.
#[tokio::test]
async fn failed_logins_are_throttled_without_saying_which_part_was_wrong() {
    let app = app(long(), false).await;
    let wrong = |user: &str| post("/api/auth/login", &format!("username={user}&password=wrong-guess&next=/"), None);
    for _ in 0..5 {
        let response = send(&app, wrong("admin")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(text(response).await.contains("wrong username or password"));
    }
    let throttled = send(&app, wrong("admin")).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = throttled.headers().get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let message = text(throttled).await;
    assert!(message.contains("Throttled") && !message.contains("password"), "{message}");
    // The right password waits too: the throttle answers before any check.
    let right = send(&app, post("/api/auth/login", &format!("username=admin&password={PASSWORD}&next=/"), None)).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    // Unknown names are throttled the same way, and other accounts still log in.
    for _ in 0..5 {
        send(&app, wrong("ghost")).await;
    }
    assert_eq!(send(&app, wrong("ghost")).await.status(), StatusCode::TOO_MANY_REQUESTS);
    login(&app, "viewer", None).await;
    // The wait ends: after it, the right password works.
    tokio::time::sleep(Duration::from_millis(retry * 1000 + 100)).await;
    login(&app, "admin", None).await;
}

#[tokio::test]
async fn a_form_post_without_javascript_is_sent_back_with_the_throttle_message() {
    let app = app(long(), false).await;
    let form = |password: &str| {
        Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .header(header::ORIGIN, ORIGIN)
            .header(header::REFERER, format!("{ORIGIN}/login"))
            .body(Body::from(format!("username=admin&password={password}&next=/")))
            .unwrap()
    };
    for _ in 0..5 {
        send(&app, form("wrong-guess")).await;
    }
    let response = send(&app, form("wrong-guess")).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_string();
    assert_eq!(location, "/login?error=throttled", "the address carries the kind only");
    // The message waits in the session for the page, once.
    let cookie = common::web::set_cookie(&response, "palomar_session").expect("a session for the message");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = text(send(&app, get(&location, Some(&cookie))).await).await;
    assert!(page.contains("too many failed logins: try again in"), "the message: {page}");
    let again = text(send(&app, get(&location, Some(&cookie))).await).await;
    assert!(!again.contains("try again in"), "shown once");
    assert!(again.contains(domain::ErrorKind::Throttled.standing_text()), "then the standing text");
}

// Round two: `?error=` showed any text as an alert, so a link could make the login page say a
// phishing line in the app's own words.
#[tokio::test]
async fn an_error_in_the_address_is_a_word_never_text() {
    let app = app(long(), false).await;
    let lure = "/login?error=Your%20account%20is%20locked.%20Call%20%2B1-555-0100&field=password";
    let page = text(send(&app, get(lure, None)).await).await;
    assert!(!page.contains("locked") && !page.contains("555"), "no text from the address: {page}");
    assert!(!page.contains("role=\"alert\""), "an unknown word shows nothing");
    let invalid = text(send(&app, get("/login?error=invalid&field=%3Cscript%3E", None)).await).await;
    assert!(invalid.contains(domain::ErrorKind::Invalid.standing_text()), "a known word shows its standing text");
    assert!(
        !invalid.contains("<script>") && !invalid.contains("%3Cscript"),
        "a field that is not a field name is dropped"
    );
    // A form post without JavaScript is sent back with its kind and field, words of closed sets.
    let (cookie, _) = login(&app, "admin", None).await;
    let bad = Request::post("/api/tags/create")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, ORIGIN)
        .header(header::REFERER, format!("{ORIGIN}/tags"))
        .header(header::COOKIE, &cookie)
        .body(Body::from("tag="))
        .unwrap();
    let response = send(&app, bad).await;
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(location.as_deref(), Some("/tags?error=invalid&field=tag"));
    let page = text(send(&app, get("/tags?error=invalid&field=tag", Some(&cookie))).await).await;
    let kept = domain::TagDraft::parse("").unwrap_err().to_string();
    assert!(page.contains(&kept), "the form's own message ({kept}), from the session: {page}");
}

// Round two, finding 1: 12 wrong passwords for `victim` from one address made the right one
// answer 429 from every other address: anyone who knew an admin's name could keep them out.
#[tokio::test]
async fn a_strangers_guesses_do_not_lock_the_admin_out_of_a_known_browser() {
    // Waits far longer than the test runs: a wait that ends while a slow machine hashes the
    // guesses must not let the last stranger through.
    let policy = ThrottlePolicy { base: Duration::from_secs(600), ..ThrottlePolicy::default() };
    let services = common::services_on(Arc::new(EmbeddedStore::new())).with_throttle_policy(policy);
    let (app, _) = app_with(settings(long(), false), Some(services)).await;
    let attempt = |password: &str, peer: &str, cookie: Option<&str>| {
        let body = format!("username=admin&password={password}&next=/");
        from_peer(post("/api/auth/login", &body, cookie), peer, peer)
    };
    // The admin's browser logs in once and keeps its device cookie.
    let first = send(&app, attempt(PASSWORD, "198.51.100.1", None)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let device = common::web::set_cookie(&first, "palomar_device").expect("a device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Strict"), "{device}");
    let device = device.split(';').next().unwrap().to_string();

    // A stranger's 100 guesses from one address: the stranger is throttled there, the admin is
    // not, from another address, with or without the known browser.
    for _ in 0..100 {
        send(&app, attempt("wrong-guess", "203.0.113.9", None)).await;
    }
    let stranger = send(&app, attempt("wrong-guess", "203.0.113.9", None)).await;
    assert_eq!(stranger.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(send(&app, attempt(PASSWORD, "198.51.100.2", Some(&device))).await.status(), StatusCode::OK);
    assert_eq!(send(&app, attempt(PASSWORD, "198.51.100.3", None)).await.status(), StatusCode::OK);

    // Then from 20 addresses: strangers wait for the account from anywhere, the known browser
    // logs in from a new address, and a new cookie keeps working.
    for i in 0..20 {
        for _ in 0..5 {
            send(&app, attempt("wrong-guess", &format!("203.0.113.{}", 20 + i), None)).await;
        }
    }
    let fresh_stranger = send(&app, attempt("wrong-guess", "192.0.2.77", None)).await;
    assert_eq!(fresh_stranger.status(), StatusCode::TOO_MANY_REQUESTS, "strangers stay throttled");
    let known = send(&app, attempt(PASSWORD, "198.51.100.4", Some(&device))).await;
    assert_eq!(known.status(), StatusCode::OK, "the admin's browser is not locked out");
    let renewed = common::web::set_cookie(&known, "palomar_device").expect("a fresh device cookie");
    let renewed = renewed.split(';').next().unwrap().to_string();
    assert_eq!(send(&app, attempt(PASSWORD, "198.51.100.5", Some(&renewed))).await.status(), StatusCode::OK);
    // A forged cookie is a stranger's.
    let forged = format!("{}x", &device[..device.len() - 1]);
    let refused = send(&app, attempt(PASSWORD, "198.51.100.6", Some(&forged))).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

// Round two, the first minute: the demo prints http://localhost:8000; logging in at
// http://127.0.0.1:8000 showed "bad request: expected value at line 1 column 1".
#[tokio::test]
async fn the_loopback_names_are_one_origin_and_a_refusal_names_both() {
    let app = app(long(), false).await;
    let (cookie, _) = login(&app, "admin", None).await;
    // ORIGIN is http://127.0.0.1:3000: the same port by another loopback name is ours.
    let by_name =
        send(&app, post_from("/api/tags/create", "tag=loopback", &cookie, Some("http://localhost:3000"), None)).await;
    assert_eq!(by_name.status(), StatusCode::OK);
    let login_by_name = Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, "http://localhost:3000")
        .body(Body::from(format!("username=viewer&password={PASSWORD}&next=/")))
        .unwrap();
    assert_eq!(send(&app, login_by_name).await.status(), StatusCode::OK);

    // Another origin: the app's own call gets its error type, with both origins named.
    let foreign =
        send(&app, post_from("/api/tags/create", "tag=x", &cookie, Some("http://192.0.2.9:3000"), None)).await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let error: app::server_fns::UiError = serde_json::from_str(&text(foreign).await).expect("the app's error");
    let message = error.0.to_string();
    assert!(message.contains("http://192.0.2.9:3000") && message.contains(ORIGIN), "{message}");
    assert!(message.contains("CONTROLLER_PUBLIC_URL"), "{message}");
    // A plain form post (no JavaScript): a page that says the same.
    let form = Request::post("/api/tags/create")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, "http://192.0.2.9:3000")
        .header(header::COOKIE, &cookie)
        .body(Body::from("tag=y"))
        .unwrap();
    let page = send(&app, form).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert_eq!(page.headers().get(header::CONTENT_TYPE).unwrap(), "text/html; charset=utf-8");
    let page = text(page).await;
    assert!(
        page.contains("http://192.0.2.9:3000") && page.contains(ORIGIN) && page.contains("CONTROLLER_PUBLIC_URL"),
        "{page}"
    );
    // A stated origin is escaped in the page.
    let odd = Request::post("/api/tags/create")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://evil<b>.example/")
        .header(header::COOKIE, &cookie)
        .body(Body::from("tag=z"))
        .unwrap();
    assert!(!text(send(&app, odd).await).await.contains("<b>"));
}

fn from_peer(mut request: Request<Body>, peer: &str, forwarded: &str) -> Request<Body> {
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
    request
}

// Finding 12b: any client's X-Forwarded-For went into the audit log.
#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let mut settings = settings(long(), false);
    settings.trusted_proxies = vec![IpNet::parse("10.0.0.0/8").unwrap()];
    let (app, services) = app_with(settings, None).await;
    let (cookie, _) = login(&app, "admin", None).await;
    let create = |tag: &str| post("/api/tags/create", &format!("tag={tag}"), Some(&cookie));
    send(&app, from_peer(create("direct"), "203.0.113.5", "198.51.100.7")).await;
    send(&app, from_peer(create("proxied"), "10.0.0.2", "192.0.2.1, 198.51.100.7")).await;
    let audit = services.audit_log(&Caller::trusted_cli()).unwrap();
    let today = chrono::Utc::now().date_naive();
    let records = audit.day(today, "admin", "tag.", PageRequest::first(50)).await.unwrap().items;
    let ip_of = |tag: &str| records.iter().find(|r| r.target.contains(tag)).map(|r| r.client_ip.clone()).unwrap();
    assert_eq!(ip_of("direct"), "203.0.113.5", "an untrusted peer's header is ignored");
    assert_eq!(ip_of("proxied"), "198.51.100.7 via 10.0.0.2", "the hop our proxy added");

    // The login throttle counts against the real peer, whatever it claims to forward.
    for i in 0..20 {
        let wrong = post("/api/auth/login", &format!("username=user{i}&password=wrong-guess&next=/"), None);
        send(&app, from_peer(wrong, "203.0.113.5", &format!("198.51.100.{i}"))).await;
    }
    let next = post("/api/auth/login", "username=user99&password=wrong-guess&next=/", None);
    let response = send(&app, from_peer(next, "203.0.113.5", "198.51.100.200")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}
