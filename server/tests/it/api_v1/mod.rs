//! `/api/v1` in process, on the embedded store: every route enumerated from the OpenAPI
//! document answers 401 without a token and 403 below its role; answers match the document's
//! schemas (a contract test); tokens are shown once, kept hashed, expire, follow their owner and
//! can be revoked; conditional writes honour `If-Match`; every use is audited with the token.

use crate::common;

mod contract;
mod problems;
mod reports;
mod tokens;

use std::sync::Arc;

use domain::{token::TokenRecord, Role};

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use palomar_core::{
    ports::{AuditLog, OperatorStore},
    services::{Caller, Services},
};
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    seed::{seed_sample_cluster, SampleSize},
    web::api_v1,
};
use serde_json::{json, Value};

struct Api {
    app: Router,
    services: Arc<Services>,
    store: Arc<EmbeddedStore>,
    document: Value,
    viewer: String,
    operator: String,
    admin: String,
}

async fn api() -> Api {
    let store = Arc::new(EmbeddedStore::new());
    seed_sample_cluster(store.clone(), SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 6, users: 60 }, 1)
        .await
        .unwrap();
    let services = common::services_on(store.clone());
    let (app, services) =
        common::web::app_with(common::web::settings(std::time::Duration::from_secs(600), false), Some(services)).await;
    let cli = Caller::trusted_cli();
    let token = |owner: &'static str, role: Role| {
        let services = services.clone();
        let cli = cli.clone();
        async move { services.api_tokens(&cli).unwrap().create(Some(owner), role, owner, None).await.unwrap().secret }
    };
    let (viewer, operator, admin) = (
        token("viewer", Role::Viewer).await,
        token("operator", Role::Operator).await,
        token("admin", Role::Admin).await,
    );
    let document = serde_json::to_value(api_v1::openapi()).unwrap();
    Api { app, services, store, document, viewer, operator, admin }
}

/// An answer: status, headers of interest, and the body as JSON (Null when empty).
struct Answer {
    status: StatusCode,
    content_type: String,
    etag: Option<String>,
    www_authenticate: Option<String>,
    body: Value,
}

impl Api {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(tag) = if_match {
            request = request.header(header::IF_MATCH, tag);
        }
        let request = match body {
            Some(body) => {
                request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())).unwrap()
            }
            None => request.body(Body::empty()).unwrap(),
        };
        let response = common::web::send(&self.app, request).await;
        let header_text = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (status, content_type, etag, www_authenticate) = (
            response.status(),
            header_text(header::CONTENT_TYPE).unwrap_or_default(),
            header_text(header::ETAG),
            header_text(header::WWW_AUTHENTICATE),
        );
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.unwrap();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Answer { status, content_type, etag, www_authenticate, body }
    }

    /// Every operation of the document: method, path template, least role.
    fn operations(&self) -> Vec<(Method, String, Role)> {
        let mut ops = Vec::new();
        for (path, item) in self.document["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let scope =
                    op["security"][0]["token"][0].as_str().unwrap_or_else(|| panic!("{method} {path} names no role"));
                let role: Role = scope.parse().unwrap();
                ops.push((method.to_uppercase().parse().unwrap(), path.clone(), role));
            }
        }
        ops
    }

    /// The schema the document gives for `status` of the operation, ready to validate with.
    fn schema(&self, method: &Method, template: &str, status: StatusCode) -> Option<Value> {
        let op = &self.document["paths"][template][method.as_str().to_lowercase()];
        assert!(!op.is_null(), "{method} {template} is not in the document");
        let response = &op["responses"][status.as_str()];
        assert!(!response.is_null(), "{method} {template} answered {status}, which the document does not list");
        let content = response["content"].as_object()?;
        let schema = content.values().next()?["schema"].clone();
        Some(json!({ "allOf": [schema], "components": self.document["components"] }))
    }

    /// Sends a request and checks the answer against the document (`template` is the path as
    /// the document names it).
    async fn checked(
        &self,
        method: Method,
        template: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let answer = self.send(method.clone(), path, Some(token), body, if_match).await;
        if let Some(schema) = self.schema(&method, template, answer.status) {
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> =
                validator.iter_errors(&answer.body).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(
                errors.is_empty(),
                "{method} {path} ({}) does not match the document: {errors:?}\n{}",
                answer.status,
                answer.body
            );
        }
        if !answer.status.is_success() {
            assert_eq!(answer.content_type, "application/problem+json", "{method} {path}: errors are problems");
            let detail = answer.body["detail"].as_str().unwrap_or_default().to_lowercase();
            // A page of results is fine; a page of the admin UI is not where an API caller is.
            let ui = ["reload", "the page", "this page", "tokens page"].iter().any(|words| detail.contains(words));
            assert!(!ui, "{method} {path}: an API caller has no page to reload: {detail}");
        }
        answer
    }
}

/// A concrete path for a template, with the seeded cluster's names.
fn concrete(template: &str) -> String {
    template
        .replace("{site}", "dc1a")
        .replace("{host}", "be1.dc1a.example.net")
        .replace("{group}", "default-1")
        .replace("{username}", "user0000000@example.net")
        .replace("{feature}", "load_balance")
        .replace("{id}", "8d2f1f3e-52a4-4c3e-9f55-0e0f6e5a1b2c")
        .replace("{proxy}", "proxy1.dc1a.example.net")
}

#[tokio::test]
async fn every_route_needs_a_token_and_its_role() {
    let api = api().await;
    let ops = api.operations();
    assert!(ops.len() >= 35, "every route is in the document: {}", ops.len());
    for (method, template, need) in &ops {
        let path = concrete(template);
        let body = Some(json!({}));
        let none = api.send(method.clone(), &path, None, body.clone(), None).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{method} {path} without a token");
        assert_eq!(none.www_authenticate.as_deref(), Some("Bearer"));
        assert_eq!(none.body["type"], "urn:palomar:problem:unauthenticated");
        let forged = format!("{}x", &api.viewer[..api.viewer.len() - 1]);
        let wrong = api.send(method.clone(), &path, Some(&forged), body.clone(), None).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{method} {path} with a wrong secret");
        for (role, token) in [(Role::Viewer, &api.viewer), (Role::Operator, &api.operator), (Role::Admin, &api.admin)] {
            let answer = api.send(method.clone(), &path, Some(token), body.clone(), None).await;
            if role < *need {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path} as a {role} (needs {need})");
                assert_eq!(answer.body["type"], "urn:palomar:problem:forbidden");
            } else if *method == Method::GET {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&answer.status),
                    "{method} {path} as a {role}: {}",
                    answer.status
                );
            }
        }
    }
    // Outside the routes: a problem too; the document and its page need no token.
    let unknown = api.send(Method::GET, "/api/v1/nothing/here", None, None, None).await;
    assert_eq!((unknown.status, unknown.content_type.as_str()), (StatusCode::NOT_FOUND, "application/problem+json"));
    let document = api.send(Method::GET, api_v1::OPENAPI_PATH, None, None, None).await;
    assert_eq!(document.status, StatusCode::OK);
    assert!(document.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "OpenAPI 3.1");
    let page = common::web::send(&api.app, common::web::get(api_v1::DOCS_PATH, None)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = String::from_utf8(axum::body::to_bytes(page.into_body(), 1 << 22).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("/api/v1/sites/{site}/backends/{host}") && !html.contains("<script"), "a page of its own");
}
