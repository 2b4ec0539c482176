//! Force-move and recover through the fronts users have: the JSON API starts, changes and stops
//! them, and logins through the route API (what a CE proxy asks at each login) move the users,
//! on the embedded store with the real router.

use crate::common;

use std::{collections::BTreeSet, sync::Arc};

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use futures::TryStreamExt;
use palomar_core::{
    controller::{Census, Controller, ControllerSettings, DovecotSettings},
    ports::{BackendTable, GroupTable, SettingTable, SiteTable, UserTable},
    services::{Caller, RouteApiSettings},
};
use palomar_server::adapters::{embedded::EmbeddedStore, NoMetrics};
use serde_json::{json, Value};
use uuid::Uuid;

use common::{
    rows::{backend, group, user},
    web::{app_with, send, text},
};
use domain::{edition::DovecotEdition, force_move::MOVED_USERS_SECTION, Role, Site, SiteStatus};

const PROXY_TOKEN: &str = "proxy-token-0123456789";
/// Users of dc1a, the site force-moved.
const USERS: usize = 2_000;
/// Users of dc2b, who must never move.
const NATIVES: usize = 200;
const DC1A: Uuid = Uuid::from_u128(1);
const DC2B: Uuid = Uuid::from_u128(2);

struct Cluster {
    app: Router,
    store: Arc<EmbeddedStore>,
    admin: String,
}

async fn cluster() -> Cluster {
    let store = Arc::new(EmbeddedStore::new());
    for (id, name, lb) in [(DC1A, "dc1a", "lb.dc1a.invalid"), (DC2B, "dc2b", "lb.dc2b.invalid")] {
        let site = Site { id, name: name.into(), tag: None, load_balancer: lb.into(), status: SiteStatus::Online };
        store.put_site(&site).await.unwrap();
    }
    for (site, n, host) in [(DC1A, 11, "127.0.0.2"), (DC1A, 12, "127.0.0.3"), (DC2B, 21, "127.0.0.4")] {
        store.put_backend(&backend(site, n, host)).await.unwrap();
    }
    let (be1, be2, be3) = (Uuid::from_u128(11), Uuid::from_u128(12), Uuid::from_u128(21));
    for g in 1..=10 {
        let (on, alt) = if g % 2 == 0 { (be1, be2) } else { (be2, be1) };
        store.put_group(&group(DC1A, &format!("default-{g}"), on, alt, "")).await.unwrap();
        store.put_group(&group(DC2B, &format!("default-{g}"), be3, be3, "")).await.unwrap();
    }
    let users: Vec<_> = (0..USERS)
        .map(|i| user(&format!("user{i}@example.net"), Some(DC1A), &format!("default-{}", i % 10 + 1)))
        .chain((0..NATIVES).map(|i| user(&format!("native{i}@example.net"), Some(DC2B), "default-1")))
        .collect();
    store.put_users(&users).await.unwrap();

    let ports = common::embedded_ports(store.clone(), Arc::new(NoMetrics));
    let settings = ControllerSettings {
        dovecot: DovecotSettings { edition: DovecotEdition::Ce, proxies: vec![], default_group_count: 10 },
        ..common::controller_settings("dc1a", "test")
    };
    let controller = Controller::new(ports.clone(), Arc::new(Census::default()), settings);
    let services = palomar_core::services::Services::new(ports, controller)
        .with_route_api(RouteApiSettings { token: Some(PROXY_TOKEN.into()), cache_secs: 0 });
    let (app, services) =
        app_with(common::web::settings(std::time::Duration::from_secs(600), false), Some(services)).await;
    let admin = services
        .api_tokens(&Caller::trusted_cli())
        .unwrap()
        .create(Some("admin"), Role::Admin, "force-move test", None)
        .await
        .unwrap()
        .secret;
    Cluster { app, store, admin }
}

impl Cluster {
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.admin))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
        let response = send(&self.app, request.body(body).unwrap()).await;
        let status = response.status();
        let text = text(response).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Every user of both sites logs in once through dc1a's route API.
    async fn everyone_logs_in(&self) {
        for name in (0..USERS)
            .map(|i| format!("user{i}@example.net"))
            .chain((0..NATIVES).map(|i| format!("native{i}@example.net")))
        {
            let request = Request::get(format!("/api/route/v1?user={}&service=imap", name.replace('@', "%40")))
                .header(header::AUTHORIZATION, format!("Bearer {PROXY_TOKEN}"))
                .body(Body::empty())
                .unwrap();
            let response = send(&self.app, request).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
        }
    }

    /// Users per site, and who of dc1a's users is in dc2b now.
    async fn census(&self) -> (usize, usize, BTreeSet<String>) {
        let rows: Vec<_> = self.store.scan_memberships().try_concat().await.unwrap();
        let at = |site| rows.iter().filter(|m| m.preferred_site_id == Some(site)).count();
        let moved = rows
            .iter()
            .filter(|m| m.preferred_site_id == Some(DC2B) && m.username.starts_with("user"))
            .map(|m| m.username.clone())
            .collect();
        (at(DC1A), at(DC2B), moved)
    }
}

#[tokio::test]
async fn a_site_force_move_moves_its_share_update_moves_more_stop_halts_and_recover_brings_them_back() {
    let c = cluster().await;
    let (home_before, away_before, _) = c.census().await;
    let total = home_before + away_before;

    let start = json!({ "id": "maintenance-1", "percent": 30, "destinations": ["dc2b"] });
    let (status, body) = c.api(Method::POST, "/sites/dc1a/force-move", Some(start.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = c.api(Method::POST, "/sites/dc1a/force-move", Some(start)).await;
    assert_eq!(status, StatusCode::CONFLICT, "one force-move of a site at a time");
    c.everyone_logs_in().await;
    let (home, away, moved_30) = c.census().await;
    let share = moved_30.len() as f64 / USERS as f64;
    assert!((0.27..=0.33).contains(&share), "30 % ± 3 % moved: {share}");
    assert_eq!((home + away, away), (total, NATIVES + moved_30.len()), "no row lost or made up");

    // A moved user's next login goes to the other site through its load balancer.
    let moved_user = moved_30.iter().next().unwrap().replace('@', "%40");
    let request = Request::get(format!("/api/route/v1?user={moved_user}&service=imap"))
        .header(header::AUTHORIZATION, format!("Bearer {PROXY_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let answer = text(send(&c.app, request).await).await;
    assert!(answer.contains("host=lb.dc2b.invalid\nsite=dc2b\n") && answer.contains("reason=other_site"), "{answer}");

    let (status, body) = c.api(Method::PATCH, "/sites/dc1a/force-move", Some(json!({ "percent": 60 }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.everyone_logs_in().await;
    let (_, _, moved_60) = c.census().await;
    let share = moved_60.len() as f64 / USERS as f64;
    assert!((0.57..=0.63).contains(&share), "60 % ± 3 % moved: {share}");
    assert!(moved_30.is_subset(&moved_60), "a higher share keeps the users chosen before");

    let (list_status, list) = c.api(Method::GET, "/sites/dc1a/force-moves", None).await;
    assert_eq!(list_status, StatusCode::OK);
    assert_eq!((list[0]["kind"].as_str(), list[0]["percent"].as_u64()), (Some("force_move"), Some(60)));
    assert_eq!(list[0]["destinations"], json!(["dc2b"]));

    let (status, _) = c.api(Method::DELETE, "/sites/dc1a/force-move", None).await;
    assert_eq!(status, StatusCode::OK);
    c.everyone_logs_in().await;
    let (_, _, after_stop) = c.census().await;
    assert_eq!(after_stop, moved_60, "stop halts: nobody else moves, nobody comes back");
    let (status, _) = c.api(Method::PATCH, "/sites/dc1a/force-move", Some(json!({ "percent": 90 }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing to update once stopped");

    let (status, body) = c.api(Method::POST, "/sites/dc1a/recover", Some(json!({ "percent": 100 }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    c.everyone_logs_in().await;
    let (home, away, still_away) = c.census().await;
    assert!(still_away.is_empty(), "recover brings every moved user back: {} left", still_away.len());
    assert_eq!((home, away), (home_before, away_before), "the census counts the same before and after");
    for i in 0..NATIVES {
        let native = c.store.get_user(&format!("native{i}@example.net")).await.unwrap().unwrap();
        assert_eq!(native.preferred_site_id, Some(DC2B), "dc2b's own users never move");
    }
    let remembered = c.store.list_settings(MOVED_USERS_SECTION, domain::PageRequest::first(10)).await.unwrap();
    assert!(remembered.items.is_empty(), "a user brought back is forgotten");
    let (status, _) = c.api(Method::DELETE, "/sites/dc1a/recover", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_changing_the_status_ends_a_force_move() {
    let c = cluster().await;
    let cases = [
        (json!({ "percent": 101, "destinations": ["dc2b"] }), "percent"),
        (json!({ "percent": 10, "destinations": [] }), "destinations"),
        (json!({ "percent": 10, "destinations": ["nowhere"] }), "destinations"),
        (json!({ "percent": 10, "destinations": ["dc1a"] }), "destinations"),
        (json!({ "id": "x".repeat(65), "percent": 10, "destinations": ["dc2b"] }), "id"),
    ];
    for (body, field) in cases {
        let (status, problem) = c.api(Method::POST, "/sites/dc1a/force-move", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["field"].as_str(), Some(field), "{body}: {problem}");
    }
    let start = json!({ "percent": 100, "destinations": ["dc2b"] });
    assert_eq!(c.api(Method::POST, "/sites/dc1a/force-move", Some(start)).await.0, StatusCode::CREATED);
    let (status, _) = c.api(Method::POST, "/sites/dc1a/recover", Some(json!({ "percent": 100 }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "a recover would undo the running force-move");
    let site = json!({ "name": "dc1a", "tag": null, "load_balancer": "lb.dc1a.invalid", "status": "standby" });
    assert_eq!(c.api(Method::PUT, "/sites/dc1a", Some(site)).await.0, StatusCode::OK);
    let (_, list) = c.api(Method::GET, "/sites/dc1a/force-moves", None).await;
    assert_eq!(list, json!([]), "a status change clears the site's force-move");
}

#[tokio::test]
async fn a_backend_force_move_moves_users_into_groups_on_the_destination_backend() {
    let c = cluster().await;
    let start = json!({ "id": "drain-be1", "percent": 100, "destinations": ["127.0.0.3"] });
    let (status, body) = c.api(Method::POST, "/sites/dc1a/backends/127.0.0.2/force-move", Some(start)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    c.everyone_logs_in().await;
    let be1 = Uuid::from_u128(11);
    let groups_on_be1: BTreeSet<String> = (1..=10)
        .map(|g| format!("default-{g}"))
        .filter(|g| g.trim_start_matches("default-").parse::<u32>().unwrap() % 2 == 0)
        .collect();
    for i in 0..USERS {
        let row = c.store.get_user(&format!("user{i}@example.net")).await.unwrap().unwrap();
        assert_eq!(row.preferred_site_id, Some(DC1A), "a backend force-move stays in the site");
        assert!(!groups_on_be1.contains(&row.group_name), "user{i} is still in {}", row.group_name);
    }
    let group = c.store.get_group(DC1A, "default-2").await.unwrap().unwrap();
    assert_eq!(group.backend_id, Some(be1), "groups do not move: users do");
    let (status, _) = c.api(Method::DELETE, "/sites/dc1a/backends/127.0.0.2/force-move", None).await;
    assert_eq!(status, StatusCode::OK);
    let _ = c.store.get_backend(DC1A, be1).await.unwrap();
}

#[tokio::test]
async fn the_overview_shows_the_reachability_matrix_with_times_and_a_running_force_move() {
    let c = cluster().await;
    let cut = domain::geodb::Reachability { src_site_id: DC1A, dest_site_id: DC2B, reachable: 0 };
    palomar_core::ports::StatTables::put_reachability(c.store.as_ref(), &cut).await.unwrap();
    let start = json!({ "percent": 10, "destinations": ["dc2b"] });
    assert_eq!(c.api(Method::POST, "/sites/dc1a/force-move", Some(start)).await.0, StatusCode::CREATED);
    let (cookie, _) = common::web::login(&c.app, "viewer", None).await;
    let page = text(send(&c.app, common::web::get("/", Some(&cookie))).await).await;
    let cell = page.split(r#"data-from="dc1a" data-to="dc2b""#).nth(1).expect("a cell from dc1a to dc2b");
    let cell = &cell[..cell.find("</td>").unwrap()];
    assert!(cell.contains("unreachable") && cell.contains("since") && cell.contains("<time"), "{cell}");
    assert!(page.contains(r#"data-alert="force-move-running""#), "the overview's alerts name the force-move");
}
