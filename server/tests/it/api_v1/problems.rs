//! Round two of the outside probe, on `/api/v1`: every error answer is a problem (RFC 9457),
//! whoever makes it; a body over the limit is 413, chunked or not; an unknown field is refused
//! by name; a token's revocation does not tell whether another operator's id exists.

use super::*;

use futures::stream;

/// An answer's status, media type and `Allow`, and its body as JSON.
async fn raw(api: &Api, request: Request<Body>) -> (StatusCode, String, Option<String>, Value) {
    let response = common::web::send(&api.app, request).await;
    let header_text = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (status, media, allow) =
        (response.status(), header_text(header::CONTENT_TYPE).unwrap_or_default(), header_text(header::ALLOW));
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, media, allow, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn is_problem(media: &str, body: &Value, status: StatusCode) -> bool {
    media == "application/problem+json" && body["status"] == status.as_u16() && body["type"].is_string()
}

#[tokio::test]
async fn every_error_is_a_problem_even_from_outside_the_handlers() {
    let api = api().await;
    let bearer = format!("Bearer {}", api.admin);
    // 405 from the router, with its Allow kept.
    let put = Request::put("/api/v1/sites").header(header::AUTHORIZATION, &bearer).body(Body::empty()).unwrap();
    let (status, media, allow, body) = raw(&api, put).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(is_problem(&media, &body, status), "{media} {body}");
    assert!(allow.is_some_and(|a| a.contains("GET")), "Allow is kept");

    // 413 for a body over the limit, with a length or chunked (no length: read until too much).
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(300 * 1024));
    let with_length = Request::post("/api/v1/tags")
        .header(header::AUTHORIZATION, &bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .unwrap();
    let (status, media, _, body) = raw(&api, with_length).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_problem(&media, &body, status), "{media} {body}");
    let chunks = (0..160).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 64 * 1024])));
    let chunked = Request::post("/api/v1/tags")
        .header(header::AUTHORIZATION, &bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream::iter(chunks)))
        .unwrap();
    let (status, media, _, body) = raw(&api, chunked).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "10 MB chunked: {body}");
    assert!(is_problem(&media, &body, status), "{media} {body}");

    // 401 and 404 stay problems.
    let (status, media, _, body) = raw(&api, Request::get("/api/v1/sites").body(Body::empty()).unwrap()).await;
    assert!(status == StatusCode::UNAUTHORIZED && is_problem(&media, &body, status), "{status} {body}");
    let nowhere = Request::get("/api/v1/nowhere").header(header::AUTHORIZATION, &bearer).body(Body::empty()).unwrap();
    let (status, media, _, body) = raw(&api, nowhere).await;
    assert!(status == StatusCode::NOT_FOUND && is_problem(&media, &body, status), "{status} {body}");
}

#[tokio::test]
async fn an_unknown_field_is_refused_by_name() {
    let api = api().await;
    let body = json!({ "name": "ci", "role": "viewer", "secret": "mine", "revoked": true });
    let answer = api.send(Method::POST, "/api/v1/tokens", Some(&api.operator), Some(body), None).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    // serde names the first unknown field it meets.
    assert!(detail.contains("unknown field `revoked`") || detail.contains("unknown field `secret`"), "{detail}");
    let made = api.services.api_tokens(&Caller::trusted_cli()).unwrap().list().await.unwrap();
    assert!(made.iter().all(|t| t.name != "ci"), "nothing was made");
}

#[tokio::test]
async fn revoking_another_operators_token_answers_as_an_unknown_id() {
    let api = api().await;
    let admins = domain::token::split_token(&api.admin).unwrap().0;
    let other = api.send(Method::DELETE, &format!("/api/v1/tokens/{admins}"), Some(&api.operator), None, None).await;
    let unknown = uuid::Uuid::new_v4();
    let none = api.send(Method::DELETE, &format!("/api/v1/tokens/{unknown}"), Some(&api.operator), None, None).await;
    assert_eq!((other.status, none.status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    let shape = |a: &Answer, id: &str| a.body["detail"].as_str().unwrap_or_default().replace(id, "<id>");
    assert_eq!(shape(&other, &admins.to_string()), shape(&none, &unknown.to_string()));
    assert_eq!(other.body["type"], none.body["type"]);
    // The admin's token still works.
    let sites = api.send(Method::GET, "/api/v1/sites", Some(&api.admin), None, None).await;
    assert_eq!(sites.status, StatusCode::OK);
}

// Round two: there was no API rate limit.
#[tokio::test]
async fn a_token_past_its_rate_waits_with_retry_after() {
    let mut limited = common::web::settings(std::time::Duration::from_secs(600), false);
    limited.api_requests_per_second = 2;
    let store = Arc::new(EmbeddedStore::new());
    let (app, services) = common::web::app_with(limited, Some(common::services_on(store))).await;
    let tokens = services.api_tokens(&Caller::trusted_cli()).unwrap();
    let token = tokens.create(Some("viewer"), Role::Viewer, "rate", None).await.unwrap().secret;
    let get = || {
        Request::get("/api/v1/sites")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..4 {
        assert_eq!(common::web::send(&app, get()).await.status(), StatusCode::OK, "a burst of twice the rate");
    }
    let refused = common::web::send(&app, get()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers().get(header::RETRY_AFTER).unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(refused.headers().get(header::CONTENT_TYPE).unwrap(), "application/problem+json");
}
