//! The route API Dovecot CE proxies ask (`GET /api/route/v1`), through the real router on the
//! embedded store: its token, its input bounds, and each kind of route.

use crate::common;

use std::sync::Arc;

use palomar_core::{
    controller::{Census, Controller, ControllerSettings, DovecotSettings},
    ports::{BackendTable, GroupTable, SiteTable, StatTables, UserTable},
    services::RouteApiSettings,
};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use common::{
    rows::{backend, group, user},
    web::{app_with, send, settings, text},
};
use domain::{edition::DovecotEdition, geodb::BackendStatus, Site, SiteStatus};
use palomar_server::adapters::{embedded::EmbeddedStore, NoMetrics};
use uuid::Uuid;

const TOKEN: &str = "proxy-token-0123456789";

struct Cluster {
    app: Router,
    services: Arc<palomar_core::services::Services>,
    store: Arc<EmbeddedStore>,
    here: Uuid,
    be1: Uuid,
    be2: Uuid,
}

/// Site dc1a with backends 127.0.0.2 and 127.0.0.3, site dc2b behind a load balancer, and a
/// few users; the controller's backends run `edition`.
async fn cluster(edition: DovecotEdition) -> Cluster {
    let store = Arc::new(EmbeddedStore::new());
    let (here, there) = (Uuid::from_u128(1), Uuid::from_u128(2));
    for (id, name, lb) in [(here, "dc1a", ""), (there, "dc2b", "lb.dc2b.invalid")] {
        let site = Site { id, name: name.into(), tag: None, load_balancer: lb.into(), status: SiteStatus::Online };
        store.put_site(&site).await.unwrap();
    }
    let (be1, be2) = (backend(here, 11, "127.0.0.2"), backend(here, 12, "127.0.0.3"));
    store.put_backend(&be1).await.unwrap();
    store.put_backend(&be2).await.unwrap();
    store.put_group(&group(here, "g1", be1.id, be2.id, "")).await.unwrap();
    store.put_group(&group(here, "g2", be1.id, be2.id, "move-token")).await.unwrap();
    store.put_user(&user("alice@example.net", Some(here), "g1")).await.unwrap();
    store.put_user(&user("bob@example.net", Some(here), "g2")).await.unwrap();
    store.put_user(&user("carol@example.net", Some(there), "g9")).await.unwrap();

    let ports = common::embedded_ports(store.clone(), Arc::new(NoMetrics));
    let settings = ControllerSettings {
        dovecot: DovecotSettings { edition, proxies: vec![], default_group_count: 10 },
        ..common::controller_settings("dc1a", "test")
    };
    let controller = Controller::new(ports.clone(), Arc::new(Census::default()), settings);
    let services = palomar_core::services::Services::new(ports, controller)
        .with_route_api(RouteApiSettings { token: Some(TOKEN.into()), cache_secs: 7 });
    let (app, services) =
        app_with(common::web::settings(std::time::Duration::from_secs(600), false), Some(services)).await;
    Cluster { app, services, store, here, be1: be1.id, be2: be2.id }
}

fn lookup(query: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(format!("/api/route/v1?{query}"));
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

/// The status, the `key=value` lines and the Cache-Control of a lookup.
async fn ask(app: &Router, query: &str) -> (StatusCode, String, String) {
    let response = send(app, lookup(query, Some(TOKEN))).await;
    let status = response.status();
    let cache = response.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_string());
    (status, text(response).await, cache.unwrap_or_default())
}

#[tokio::test]
async fn only_proxies_with_the_token_get_routes() {
    let c = cluster(DovecotEdition::Ce).await;
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let response = send(&c.app, lookup("user=alice@example.net", token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(response.headers().get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
        assert!(!text(response).await.contains("127.0.0"), "no route without the token");
    }
    // The scheme is case-insensitive, as HTTP says.
    let request = Request::get("/api/route/v1?user=alice@example.net")
        .header(header::AUTHORIZATION, format!("bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&c.app, request).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_configured_token_the_route_api_is_off() {
    let store = Arc::new(EmbeddedStore::new());
    let (app, _) =
        app_with(settings(std::time::Duration::from_secs(600), false), Some(common::services_on(store))).await;
    let response = send(&app, lookup("user=alice@example.net", Some(TOKEN))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason() {
    let c = cluster(DovecotEdition::Ce).await;
    let long = "a".repeat(256);
    for query in ["", "user=", &format!("user={long}"), "user=a%0Ab", "user=alice@example.net&service=ftp"] {
        let (status, body, cache) = ask(&c.app, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body.starts_with("error=") && body.lines().count() == 1, "{query}: {body}");
        assert_eq!(cache, "no-store");
    }
}

#[tokio::test]
async fn routes_follow_the_geodb() {
    let c = cluster(DovecotEdition::Ce).await;
    let (status, body, cache) = ask(&c.app, "user=alice@example.net&service=imap").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "host=127.0.0.2\nsite=dc1a\ngroup=g1\nreason=primary\n");
    assert_eq!(cache, "private, max-age=7");

    // Another site's user: that site's load balancer.
    let (_, body, _) = ask(&c.app, "user=carol@example.net&service=lmtp").await;
    assert_eq!(body, "host=lb.dc2b.invalid\nsite=dc2b\ngroup=g9\nreason=other_site\n");

    // CE has no per-user moves: a moving group's users all go to the destination.
    let (_, body, _) = ask(&c.app, "user=bob@example.net").await;
    assert_eq!(body, "host=127.0.0.3\nsite=dc1a\ngroup=g2\nreason=moving_destination\n");

    // A user without a row: the default group, created as a proxy creates it.
    let (status, body, _) = ask(&c.app, "user=dave@example.net").await;
    assert_eq!(status, StatusCode::OK);
    let group = domain::routing::default_group("dave@example.net", 10);
    assert!(body.contains(&format!("group={group}\n")) && body.ends_with("reason=new_group\n"), "{body}");
    assert!(c.store.get_group(c.here, &group).await.unwrap().is_some(), "the group row was created");
    let (_, again, _) = ask(&c.app, "user=dave@example.net").await;
    assert!(again.ends_with("reason=primary\n"), "{again}");

    // The group's backend goes offline: its alternative serves; none online: 503. Written
    // straight to the GeoDB (as another instance would), a change shows once the site's
    // backends as read last are no longer fresh.
    let set = |id, from: BackendStatus, to: BackendStatus| {
        let store = c.store.clone();
        let site = c.here;
        async move {
            assert!(store.set_backend_status(site, id, &from, &to, "test").await.unwrap());
            tokio::time::sleep(palomar_core::services::BACKENDS_FRESH_FOR + std::time::Duration::from_millis(100))
                .await;
        }
    };
    set(c.be1, BackendStatus::Online, BackendStatus::Offline).await;
    let (_, body, _) = ask(&c.app, "user=alice@example.net").await;
    assert_eq!(body, "host=127.0.0.3\nsite=dc1a\ngroup=g1\nreason=failover\n");
    set(c.be2, BackendStatus::Online, BackendStatus::Offline).await;
    let (status, body, cache) = ask(&c.app, "user=alice@example.net").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.starts_with("error=no online backend"), "{body}");
    assert_eq!(cache, "no-store");
}

#[tokio::test]
async fn an_operators_backend_change_reaches_the_route_api_at_once() {
    let c = cluster(DovecotEdition::Ce).await;
    let (_, body, _) = ask(&c.app, "user=alice@example.net").await;
    assert!(body.ends_with("reason=primary\n"), "{body}");
    let ops = c.services.backend_ops(&palomar_core::services::Caller::trusted_cli()).unwrap();
    ops.set_status(c.here, c.be1, BackendStatus::Offline).await.unwrap();
    // No wait: the operator's own change drops the backends this instance had read.
    let (_, body, _) = ask(&c.app, "user=alice@example.net").await;
    assert_eq!(body, "host=127.0.0.3\nsite=dc1a\ngroup=g1\nreason=failover\n");
}

#[tokio::test]
async fn with_pro_backends_a_moving_group_stays_on_its_source() {
    let c = cluster(DovecotEdition::Pro).await;
    let (_, body, _) = ask(&c.app, "user=bob@example.net").await;
    assert_eq!(body, "host=127.0.0.2\nsite=dc1a\ngroup=g2\nreason=moving_source\n");
}

/// Sets a site's status as an operator does (the route API sees it at once).
async fn set_site_status(c: &Cluster, id: Uuid, status: SiteStatus) {
    let admin = c.services.topology_admin(&palomar_core::services::Caller::trusted_cli()).unwrap();
    let site = c.store.get_site(id).await.unwrap().unwrap();
    let draft = domain::SiteDraft { name: site.name, tag: site.tag, load_balancer: site.load_balancer, status };
    admin.update_site(id, draft, None).await.unwrap();
}

#[tokio::test]
async fn a_site_that_cannot_take_its_users_fails_over_to_another() {
    let c = cluster(DovecotEdition::Ce).await;
    let there = Uuid::from_u128(2);
    // carol's site is offline: this site serves her, in her group's name (she has no failover
    // group), created here as a proxy creates it.
    set_site_status(&c, there, SiteStatus::Offline).await;
    let (status, body, _) = ask(&c.app, "user=carol@example.net").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("site=dc1a\ngroup=g9\n") && body.ends_with("reason=failover_site\n"), "{body}");
    assert!(c.store.get_group(c.here, "g9").await.unwrap().is_some());

    // This site in standby, the other back: alice goes to the other site's load balancer, in
    // her failover group.
    let mut alice = c.store.get_user("alice@example.net").await.unwrap().unwrap();
    alice.failover_site_group_name = "g5".into();
    c.store.put_user(&alice).await.unwrap();
    set_site_status(&c, there, SiteStatus::Online).await;
    set_site_status(&c, c.here, SiteStatus::Standby).await;
    let (_, body, _) = ask(&c.app, "user=alice@example.net").await;
    assert_eq!(body, "host=lb.dc2b.invalid\nsite=dc2b\ngroup=g5\nreason=other_site\n");

    // No site can take her: a temporary failure that says why.
    set_site_status(&c, there, SiteStatus::Evacuate).await;
    let (status, body, cache) = ask(&c.app, "user=alice@example.net").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, "error=the user's site cannot take them (standby), and no other site can\n");
    assert_eq!(cache, "no-store");
}

#[tokio::test]
async fn a_site_this_site_cannot_reach_fails_over_and_the_named_failover_site_comes_first() {
    let c = cluster(DovecotEdition::Ce).await;
    let there = Uuid::from_u128(2);
    let cut = domain::geodb::Reachability { src_site_id: c.here, dest_site_id: there, reachable: 0 };
    c.store.put_reachability(&cut).await.unwrap();
    let (_, body, _) = ask(&c.app, "user=carol@example.net").await;
    assert!(body.contains("site=dc1a\ngroup=g9\n") && body.ends_with("reason=failover_site\n"), "{body}");

    // A third site, named as the group's failover: it comes before this one.
    let admin = c.services.topology_admin(&palomar_core::services::Caller::trusted_cli()).unwrap();
    let draft = domain::SiteDraft {
        name: "dc3c".into(),
        tag: None,
        load_balancer: "lb.dc3c.invalid".into(),
        status: SiteStatus::Online,
    };
    let third = admin.add_site(draft).await.unwrap().id;
    let row = domain::geodb::GroupSite {
        group_name: "g9".into(),
        site_id: there,
        status: String::new(),
        failover_site_id: Some(third),
        last_update: None,
    };
    c.store.put_group_site(&row).await.unwrap();
    let (_, body, _) = ask(&c.app, "user=carol@example.net").await;
    assert_eq!(body, "host=lb.dc3c.invalid\nsite=dc3c\ngroup=g9\nreason=other_site\n");
}
