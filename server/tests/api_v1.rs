//! `/api/v1` in process, on the embedded store: every route enumerated from the OpenAPI
//! document answers 401 without a token and 403 below its role; answers match the document's
//! schemas (a contract test); tokens are shown once, kept hashed, expire, follow their owner and
//! can be revoked; conditional writes honour `If-Match`; every use is audited with the token.

mod common;

use std::sync::Arc;

use app::{
    domain::{token::TokenRecord, Role},
    ports::{AuditLog, OperatorStore},
    services::{Caller, Services},
};
use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
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

#[tokio::test]
async fn answers_match_the_openapi_document() {
    let api = api().await;
    let (op, admin) = (api.operator.as_str(), api.admin.as_str());
    let sites = api.checked(Method::GET, "/api/v1/sites", "/api/v1/sites", op, None, None).await;
    assert_eq!(sites.body[0]["name"], "dc1a");
    api.checked(Method::GET, "/api/v1/sites/{site}", "/api/v1/sites/dc1a", op, None, None).await;
    api.checked(Method::GET, "/api/v1/sites/{site}", "/api/v1/sites/nowhere", op, None, None).await;
    api.checked(Method::GET, "/api/v1/tags", "/api/v1/tags", op, None, None).await;

    // Backends: a page, one with its ETag, a conditional change, a stale one refused.
    let t = "/api/v1/sites/{site}/backends";
    let list = api.checked(Method::GET, t, "/api/v1/sites/dc1a/backends?limit=2", op, None, None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let next = list.body["next"].as_str().unwrap().to_string();
    let rest = api
        .checked(Method::GET, t, &format!("/api/v1/sites/dc1a/backends?limit=2&cursor={next}"), op, None, None)
        .await;
    assert_eq!(rest.body["items"][0]["host"], "be3.dc1a.example.net");
    api.checked(Method::GET, t, "/api/v1/sites/dc1a/backends?limit=0", op, None, None).await;
    let one = "/api/v1/sites/{site}/backends/{host}";
    let be1 = "/api/v1/sites/dc1a/backends/be1.dc1a.example.net";
    let read = api.checked(Method::GET, one, be1, op, None, None).await;
    let etag = read.etag.clone().expect("an ETag");
    let changed = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 40 })), Some(&etag)).await;
    assert_eq!((changed.status, changed.body["load_factor"].as_i64()), (StatusCode::OK, Some(40)));
    assert_ne!(changed.etag.as_deref(), Some(etag.as_str()), "a new version");
    let stale = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 60 })), Some(&etag)).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "If-Match of an older version");
    let weak = format!("W/{}", changed.etag.as_deref().unwrap());
    let refused = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 60 })), Some(&weak)).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED, "a weak tag never matches");
    let garbled = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 60 })), Some("abc")).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST, "not an entity tag");
    let after = api.checked(Method::GET, one, be1, op, None, None).await;
    assert_eq!(after.body["load_factor"], 40, "nothing was written");
    // RFC 9110: any tag of the list may match.
    let list = format!("{etag}, {}", after.etag.as_deref().unwrap());
    let changed = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 45 })), Some(&list)).await;
    assert_eq!((changed.status, changed.body["load_factor"].as_i64()), (StatusCode::OK, Some(45)));
    let after = api.checked(Method::GET, one, be1, op, None, None).await;
    let both = json!({ "status": "standby", "load_factor": 70 });
    let changed = api.checked(Method::PATCH, one, be1, op, Some(both), after.etag.as_deref()).await;
    assert_eq!((changed.body["status"].as_str(), changed.body["load_factor"].as_i64()), (Some("standby"), Some(70)));
    // A status and a bad load factor: refused whole, the status not written either.
    let bad =
        api.checked(Method::PATCH, one, be1, op, Some(json!({ "status": "online", "load_factor": 101 })), None).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("load_factor")));
    let ui_words = "101".parse::<app::domain::LoadFactor>().unwrap_err().to_string();
    assert_eq!(bad.body["detail"].as_str(), Some(ui_words.as_str()), "the words a form gets");
    let unchanged = api.checked(Method::GET, one, be1, op, None, None).await;
    assert_eq!(
        (unchanged.body["status"].as_str(), unchanged.body["load_factor"].as_i64()),
        (Some("standby"), Some(70))
    );
    let garbled = api.checked(Method::PATCH, one, be1, op, Some(json!({ "status": "sideways" })), None).await;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    api.checked(
        Method::PATCH,
        one,
        "/api/v1/sites/dc1a/backends/be9.dc1a.example.net",
        op,
        Some(json!({ "load_factor": 1 })),
        None,
    )
    .await;
    let added = api
        .checked(
            Method::POST,
            t,
            "/api/v1/sites/dc1a/backends",
            admin,
            Some(json!({ "host": "be4.dc1a.example.net" })),
            None,
        )
        .await;
    assert_eq!((added.status, added.body["status"].as_str()), (StatusCode::CREATED, Some("standby")));
    let again = api
        .checked(
            Method::POST,
            t,
            "/api/v1/sites/dc1a/backends",
            admin,
            Some(json!({ "host": "be4.dc1a.example.net" })),
            None,
        )
        .await;
    assert_eq!((again.status, again.body["field"].as_str()), (StatusCode::CONFLICT, Some("host")), "taken");
    let evacuate = "/api/v1/sites/{site}/backends/{host}/evacuate";
    let drained = api
        .checked(Method::POST, evacuate, "/api/v1/sites/dc1a/backends/be4.dc1a.example.net/evacuate", op, None, None)
        .await;
    assert_eq!(drained.body["load_factor"], 0);
    let removed =
        api.checked(Method::DELETE, one, "/api/v1/sites/dc1a/backends/be4.dc1a.example.net", admin, None, None).await;
    assert_eq!(removed.status, StatusCode::OK);

    // Groups: list, one, sticky flags with If-Match, a move, and the move ended.
    let groups = api
        .checked(Method::GET, "/api/v1/sites/{site}/groups", "/api/v1/sites/dc1a/groups?mask=default-*", op, None, None)
        .await;
    assert_eq!(groups.body["items"].as_array().unwrap().len(), 6);
    let g = "/api/v1/sites/{site}/groups/{group}";
    let group = api.checked(Method::GET, g, "/api/v1/sites/dc1a/groups/default-2", op, None, None).await;
    let sticky = api
        .checked(
            Method::PATCH,
            g,
            "/api/v1/sites/dc1a/groups/default-2",
            op,
            Some(json!({ "sticky_users": true })),
            group.etag.as_deref(),
        )
        .await;
    assert_eq!(
        (sticky.body["sticky_users"].as_bool(), sticky.body["sticky_backend"].as_bool()),
        (Some(true), Some(false))
    );
    let stale = api
        .checked(
            Method::PATCH,
            g,
            "/api/v1/sites/dc1a/groups/default-2",
            op,
            Some(json!({ "sticky_users": false })),
            group.etag.as_deref(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let on = group.body["backend"].as_str().unwrap().to_string();
    let to = ["be1.dc1a.example.net", "be2.dc1a.example.net", "be3.dc1a.example.net"]
        .into_iter()
        .find(|h| *h != on && *h != "be1.dc1a.example.net")
        .unwrap();
    let mv = "/api/v1/sites/{site}/groups/{group}/move";
    let started = api
        .checked(Method::POST, mv, "/api/v1/sites/dc1a/groups/default-2/move", op, Some(json!({ "backend": to })), None)
        .await;
    assert_eq!(
        (started.status, started.body["state"].as_str()),
        (StatusCode::ACCEPTED, Some("initiated")),
        "{}",
        started.body
    );
    let twice = api
        .checked(Method::POST, mv, "/api/v1/sites/dc1a/groups/default-2/move", op, Some(json!({ "backend": to })), None)
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let nowhere = api
        .checked(
            Method::POST,
            mv,
            "/api/v1/sites/dc1a/groups/default-3/move",
            op,
            Some(json!({ "backend": "be9.dc1a.example.net" })),
            None,
        )
        .await;
    assert_eq!(nowhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    let moves =
        api.checked(Method::GET, "/api/v1/sites/{site}/moves", "/api/v1/sites/dc1a/moves", op, None, None).await;
    let id = moves.body["items"][0]["id"].as_str().unwrap().to_string();
    let forced = api
        .checked(
            Method::POST,
            "/api/v1/sites/{site}/moves/{id}/force",
            &format!("/api/v1/sites/dc1a/moves/{id}/force"),
            op,
            None,
            None,
        )
        .await;
    assert_eq!(forced.body["state"], "forced");
    api.checked(
        Method::POST,
        "/api/v1/sites/{site}/moves/{id}/cancel",
        &format!("/api/v1/sites/dc1a/moves/{id}/cancel"),
        op,
        None,
        None,
    )
    .await;
    api.checked(
        Method::POST,
        "/api/v1/sites/{site}/groups/{group}/access",
        "/api/v1/sites/dc1a/groups/default-1/access",
        op,
        None,
        None,
    )
    .await;

    // Users, features, decisions, audit, tokens.
    let u = "/api/v1/users/{username}";
    let user = api.checked(Method::GET, u, "/api/v1/users/user0000000%40example.net", op, None, None).await;
    assert_eq!(user.body["site"], "dc1a");
    api.checked(Method::GET, u, "/api/v1/users/nobody%40example.net", op, None, None).await;
    let moved = api
        .checked(
            Method::POST,
            "/api/v1/users/{username}/move",
            "/api/v1/users/user0000000%40example.net/move",
            op,
            Some(json!({ "group": "default-3" })),
            None,
        )
        .await;
    assert_eq!(moved.status, StatusCode::ACCEPTED, "{}", moved.body);
    let bad_failover = api
        .checked(
            Method::POST,
            "/api/v1/users/{username}/move",
            "/api/v1/users/user0000000%40example.net/move",
            op,
            Some(json!({ "group": "default-3", "failover_group": "no such/group" })),
            None,
        )
        .await;
    let ui_words = "no such/group".parse::<app::domain::GroupName>().unwrap_err().to_string();
    assert_eq!(
        (bad_failover.status, bad_failover.body["field"].as_str(), bad_failover.body["detail"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("failover_group"), Some(ui_words.as_str())),
        "the failover group is checked as a form checks it"
    );
    let f = "/api/v1/sites/{site}/features/{feature}";
    let set = api
        .checked(
            Method::PUT,
            f,
            "/api/v1/sites/dc1a/features/load_balance",
            op,
            Some(json!({ "state": "dryrun" })),
            None,
        )
        .await;
    assert!(set.body.as_array().unwrap().iter().any(|m| m["feature"] == "load_balance" && m["stored"] == "dryrun"));
    let unknown = api
        .send(Method::PUT, "/api/v1/sites/dc1a/features/teleport", Some(op), Some(json!({ "state": "on" })), None)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "an unknown feature");
    api.checked(Method::GET, "/api/v1/sites/{site}/features", "/api/v1/sites/dc1a/features", op, None, None).await;
    api.checked(Method::GET, "/api/v1/sites/{site}/decisions", "/api/v1/sites/dc1a/decisions", op, None, None).await;
    let bad_day = api
        .checked(
            Method::GET,
            "/api/v1/sites/{site}/decisions",
            "/api/v1/sites/dc1a/decisions?day=yesterday",
            op,
            None,
            None,
        )
        .await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = api.checked(Method::GET, "/api/v1/audit", "/api/v1/audit?limit=500", admin, None, None).await;
    assert!(audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["action"] == "backend.update" && !r["token"].is_null()));
    api.checked(Method::GET, "/api/v1/tokens", "/api/v1/tokens", op, None, None).await;
    let created = api
        .checked(
            Method::POST,
            "/api/v1/tokens",
            "/api/v1/tokens",
            op,
            Some(json!({ "name": "ci", "role": "viewer" })),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["token"]["id"].as_str().unwrap().to_string();
    api.checked(Method::DELETE, "/api/v1/tokens/{id}", &format!("/api/v1/tokens/{id}"), op, None, None).await;
    api.checked(
        Method::DELETE,
        "/api/v1/tokens/{id}",
        "/api/v1/tokens/8d2f1f3e-52a4-4c3e-9f55-0e0f6e5a1b2c",
        op,
        None,
        None,
    )
    .await;
    // Sites, tags, settings, site initialisation and user removal (admins).
    let tag =
        api.checked(Method::POST, "/api/v1/tags", "/api/v1/tags", admin, Some(json!({ "name": "shard9" })), None).await;
    assert_eq!(tag.status, StatusCode::CREATED);
    let tag_id = tag.body["id"].as_str().unwrap().to_string();
    let renamed = api
        .checked(
            Method::PUT,
            "/api/v1/tags/{id}",
            &format!("/api/v1/tags/{tag_id}"),
            admin,
            Some(json!({ "name": "shard10" })),
            None,
        )
        .await;
    assert_eq!(renamed.body["name"], "shard10");
    let site = json!({ "name": "dc9z", "tag": tag_id, "status": "standby" });
    let added = api.checked(Method::POST, "/api/v1/sites", "/api/v1/sites", admin, Some(site), None).await;
    assert_eq!((added.status, added.body["status"].as_str()), (StatusCode::CREATED, Some("standby")));
    let bad_site = api
        .checked(
            Method::POST,
            "/api/v1/sites",
            "/api/v1/sites",
            admin,
            Some(json!({ "name": "bad name", "status": "online" })),
            None,
        )
        .await;
    assert_eq!((bad_site.status, bad_site.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let site = json!({ "name": "dc9z", "tag": tag_id, "load_balancer": "lb.dc9z.example.net", "status": "online" });
    let updated = api.checked(Method::PUT, "/api/v1/sites/{site}", "/api/v1/sites/dc9z", admin, Some(site), None).await;
    assert_eq!(updated.body["load_balancer"], "lb.dc9z.example.net");
    let in_use =
        api.checked(Method::DELETE, "/api/v1/tags/{id}", &format!("/api/v1/tags/{tag_id}"), admin, None, None).await;
    assert!(in_use.status.is_client_error(), "a tag a site names stays: {}", in_use.status);
    let unconfirmed =
        api.checked(Method::DELETE, "/api/v1/sites/{site}", "/api/v1/sites/dc9z?confirm=dc1a", admin, None, None).await;
    assert!(unconfirmed.status.is_client_error());
    api.checked(Method::DELETE, "/api/v1/sites/{site}", "/api/v1/sites/dc9z?confirm=dc9z", admin, None, None).await;
    api.checked(Method::DELETE, "/api/v1/tags/{id}", &format!("/api/v1/tags/{tag_id}"), admin, None, None).await;
    let init = api
        .checked(
            Method::POST,
            "/api/v1/sites/{site}/init",
            "/api/v1/sites/dc1a/init",
            admin,
            Some(json!({ "count": 8 })),
            None,
        )
        .await;
    assert_eq!(init.body["created"], 2, "default-7 and default-8");
    let setting = json!({ "section": "controller", "name": "note", "value": "hello" });
    api.checked(Method::PUT, "/api/v1/settings", "/api/v1/settings", admin, Some(setting.clone()), None).await;
    let section =
        api.checked(Method::GET, "/api/v1/settings", "/api/v1/settings?section=controller", op, None, None).await;
    assert!(section.body["items"].as_array().unwrap().iter().any(|r| r["name"] == "note" && r["value"] == "hello"));
    api.checked(Method::DELETE, "/api/v1/settings", "/api/v1/settings", admin, Some(setting), None).await;
    let bad_feature = json!({ "section": "controller_features", "name": "teleport", "value": "on" });
    let refused =
        api.checked(Method::PUT, "/api/v1/settings", "/api/v1/settings", admin, Some(bad_feature), None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    api.checked(
        Method::DELETE,
        "/api/v1/users/{username}",
        "/api/v1/users/user0000001%40example.net",
        admin,
        None,
        None,
    )
    .await;
    let gone = api.checked(Method::GET, u, "/api/v1/users/user0000001%40example.net", op, None, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let not_json = api.send(Method::POST, "/api/v1/tokens", Some(op), None, None).await;
    assert_eq!(
        (not_json.status, not_json.content_type.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json")
    );
}

#[tokio::test]
async fn tokens_are_shown_once_kept_hashed_follow_their_owner_and_end() {
    let api = api().await;
    let sites = |token: String| {
        let api = &api;
        async move { api.send(Method::GET, "/api/v1/sites", Some(&token), None, None).await.status }
    };
    // Made over the API: the secret is in the answer, never in the store or a list.
    let made = api
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&api.operator),
            Some(json!({ "name": "cron", "role": "operator", "days": 7 })),
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let secret = made.body["secret"].as_str().unwrap().to_string();
    let id: uuid::Uuid = made.body["token"]["id"].as_str().unwrap().parse().unwrap();
    let stored = api.store.get_token(id).await.unwrap().unwrap();
    let raw = secret.rsplit('_').next().unwrap();
    assert!(!stored.secret_hash.contains(raw) && stored.secret_hash.len() == 64, "only a hash is kept");
    assert_eq!(
        (stored.owner.as_str(), stored.role, stored.created_by.as_str()),
        ("operator", Role::Operator, "operator")
    );
    assert_eq!((stored.expires_at - stored.created_at).num_days(), 7);
    let listed = api.send(Method::GET, "/api/v1/tokens", Some(&api.operator), None, None).await;
    assert!(!listed.body.to_string().contains(raw), "never listed");
    assert_eq!(sites(secret.clone()).await, StatusCode::OK);

    // No higher than the creator; for others only as an admin; no higher than the owner.
    let higher = api
        .send(Method::POST, "/api/v1/tokens", Some(&api.operator), Some(json!({ "name": "x", "role": "admin" })), None)
        .await;
    assert_eq!((higher.status, higher.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("role")));
    let for_other = api
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&api.operator),
            Some(json!({ "name": "x", "role": "viewer", "owner": "viewer" })),
            None,
        )
        .await;
    assert_eq!(for_other.status, StatusCode::FORBIDDEN);
    let above_owner = api
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&api.admin),
            Some(json!({ "name": "x", "role": "operator", "owner": "viewer" })),
            None,
        )
        .await;
    assert_eq!(above_owner.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The owner's role drops: so does the token's. The owner disabled: the token stops.
    let cli = Caller::trusted_cli();
    api.services.operator_admin(&cli).unwrap().set_role("operator", Role::Viewer).await.unwrap();
    let patch = api
        .send(
            Method::PATCH,
            "/api/v1/sites/dc1a/backends/be1.dc1a.example.net",
            Some(&secret),
            Some(json!({ "load_factor": 10 })),
            None,
        )
        .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "acts as a viewer now");
    api.services.operator_admin(&cli).unwrap().set_disabled("operator", true).await.unwrap();
    assert_eq!(sites(secret.clone()).await, StatusCode::UNAUTHORIZED);
    api.services.operator_admin(&cli).unwrap().set_disabled("operator", false).await.unwrap();
    assert_eq!(sites(secret.clone()).await, StatusCode::OK);

    // Revoked: for good. Expired: likewise.
    let revoked = api.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&api.admin), None, None).await;
    assert_eq!((revoked.status, revoked.body["revoked"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(sites(secret).await, StatusCode::UNAUTHORIZED);
    let now = chrono::Utc::now();
    let expired = TokenRecord {
        id: uuid::Uuid::new_v4(),
        owner: "admin".into(),
        role: Role::Admin,
        name: "old".into(),
        // SHA-256 of "s3cret".
        secret_hash: "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0".into(),
        created_by: "admin".into(),
        created_at: now - chrono::Duration::days(10),
        expires_at: now - chrono::Duration::seconds(1),
        revoked: false,
    };
    api.store.insert_token(&expired).await.unwrap();
    let text = app::domain::token::token_text(expired.id, "s3cret");
    assert_eq!(sites(text.clone()).await, StatusCode::UNAUTHORIZED, "expired");
    api.store
        .insert_token(&TokenRecord {
            id: uuid::Uuid::new_v4(),
            expires_at: now + chrono::Duration::days(1),
            ..expired.clone()
        })
        .await
        .unwrap();

    // Every use is audited with the token's id, refused ones too.
    let viewer_id = app::domain::token::split_token(&api.viewer).unwrap().0;
    let refused = api
        .send(Method::DELETE, "/api/v1/sites/dc1a/backends/be1.dc1a.example.net", Some(&api.viewer), None, None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let records = api.store.list_day(now.date_naive(), app::domain::PageRequest::first(500)).await.unwrap().items;
    let uses: Vec<_> = records.iter().filter(|r| r.token == Some(viewer_id)).collect();
    assert!(uses
        .iter()
        .any(|r| r.action == "api.request" && r.target == "DELETE /api/v1/sites/dc1a/backends/be1.dc1a.example.net"));
    assert!(uses.iter().all(|r| r.operator == "viewer"));
}
