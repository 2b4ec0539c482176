//! Every UI form that writes several columns of a row, racing the API on the real Cassandra:
//! the group page's sticky flags and the site form. A form says what it showed, so a save
//! never undoes a change made since; every outcome is one a serial order of the accepted
//! writes explains. (The other forms each write one column, or one status with its reason, as
//! a command: docs/security.md lists them.)

use crate::common::{self, web};

use std::sync::Arc;

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use domain::{geodb::UserGroup, Role, Site};
use palomar_core::{
    ports::{GroupTable, Ports, SiteTable},
    services::Caller,
};
use palomar_server::{
    adapters::{cassandra::CassandraStore, embedded::EmbeddedStore, NoMetrics},
    seed::{seed_sample_cluster, SampleSize},
};
use serde_json::{json, Value};

/// Rounds of each race: a lost update seen once in 30 tries shows in 150 with probability
/// 1 - (29/30)^150, above 99.4 %.
const ROUNDS: usize = 150;

struct Fronts {
    app: Router,
    store: Arc<CassandraStore>,
    site: Site,
    /// The admin's browser session.
    cookie: String,
    /// An operator's API token.
    token: String,
    /// An admin's API token: sites take an admin.
    admin_token: String,
}

async fn fronts(test: &str) -> Option<Fronts> {
    let store = Arc::new(common::cassandra_store(test).await?);
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 3, users: 30 };
    let site = seed_sample_cluster(store.clone(), size, 8).await.unwrap().sites[0].clone();
    let ports = Ports {
        geodb: store.clone(),
        records: store.clone(),
        members: store.clone(),
        ..common::embedded_ports(Arc::new(EmbeddedStore::new()), Arc::new(NoMetrics))
    };
    let settings = web::settings(std::time::Duration::from_secs(3600), false);
    let (app, services) = web::app_with(settings, Some(common::services_with(ports))).await;
    let (cookie, _) = web::login(&app, "admin", None).await;
    let tokens = services.api_tokens(&Caller::trusted_cli()).unwrap();
    let token = tokens.create(Some("operator"), Role::Operator, "race", None).await.unwrap().secret;
    let admin_token = tokens.create(Some("admin"), Role::Admin, "race", None).await.unwrap().secret;
    let site = store.get_site(site.id).await.unwrap().unwrap();
    Some(Fronts { app, store, site, cookie, token, admin_token })
}

impl Fronts {
    /// An API call with `token`: its status.
    async fn api(&self, method: Method, path: &str, body: Value, token: &str) -> StatusCode {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        web::send(&self.app, request).await.status()
    }

    /// A form posted from the admin's page: its status.
    async fn form(&self, endpoint: &str, fields: &[(&str, &str)]) -> StatusCode {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encoded(v))).collect();
        let body = body.join("&");
        web::send(&self.app, web::post(&format!("/api/{endpoint}"), &body, Some(&self.cookie))).await.status()
    }

    async fn group(&self, name: &str) -> UserGroup {
        self.store.get_group(self.site.id, name).await.unwrap().unwrap()
    }

    /// Puts a group's flags back to off, as if no one had touched them.
    async fn clear_flags(&self, name: &str) {
        let group = UserGroup { sticky_users: 0, sticky_backend: 0, ..self.group(name).await };
        self.store.put_group(&group).await.unwrap();
    }

    /// The admin ticks "group stays on its backend" on a page that showed both flags off.
    async fn save_sticky_backend(&self, name: &str) -> StatusCode {
        let site_id = self.site.id.to_string();
        let fields = [
            ("site_id", site_id.as_str()),
            ("name", name),
            ("shown_sticky_users", "no"),
            ("shown_sticky_backend", "no"),
            ("sticky_backend", "yes"),
        ];
        self.form("groups/set_sticky", &fields).await
    }

    /// The operator's token sets sticky users, without `If-Match`.
    async fn patch_sticky_users(&self, name: &str) -> StatusCode {
        let path = format!("/api/v1/sites/{}/groups/{name}", self.site.id);
        self.api(Method::PATCH, &path, json!({ "sticky_users": true }), &self.token).await
    }
}

/// `value` as a form field: every byte but letters, digits and `-._` percent-encoded.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether a write was accepted; anything but acceptance or a refusal as changed meanwhile
/// fails the test.
fn accepted(what: &str, status: StatusCode) -> bool {
    match status {
        s if s.is_success() || s.is_redirection() => true,
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => false,
        other => panic!("{what}: unexpected answer {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_set_while_the_group_page_was_open_stays_when_the_page_saves() {
    let Some(f) = fronts("form_races_flags_serial").await else { return };
    let name = f.group("default-1").await.name;
    // The admin's page showed both flags off; then the operator's token set sticky users.
    assert!(accepted("the API", f.patch_sticky_users(&name).await));
    assert!(accepted("the form", f.save_sticky_backend(&name).await));
    let row = f.group(&name).await;
    assert_eq!((row.sticky_users, row.sticky_backend), (1, 1), "the form wrote only the flag it changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_racing_a_group_page_save_loses_neither_flag() {
    let Some(f) = fronts("form_races_flags").await else { return };
    let name = f.group("default-2").await.name;
    let mut lost = Vec::new();
    for round in 0..ROUNDS {
        f.clear_flags(&name).await;
        let (api, form) = tokio::join!(f.patch_sticky_users(&name), f.save_sticky_backend(&name));
        let (api, form) = (accepted("the API", api), accepted("the form", form));
        let row = f.group(&name).await;
        // Each writes its own flag: whatever the order, each accepted flag shows.
        if (row.sticky_users == 1, row.sticky_backend == 1) != (api, form) {
            lost.push(format!(
                "round {round}: API accepted {api}, form accepted {form}, row ({}, {})",
                row.sticky_users, row.sticky_backend
            ));
        }
    }
    assert!(lost.is_empty(), "{} of {ROUNDS} rounds lost an accepted flag: {lost:#?}", lost.len());
}

impl Fronts {
    /// The site form as an admin saves it: `name`, with the rest and the version as `shown`.
    async fn save_site(&self, shown: &Site, name: &str) -> StatusCode {
        let (id, version) = (shown.id.to_string(), domain::version::of_site(shown));
        let tag = shown.tag.map(|t| t.to_string()).unwrap_or_default();
        let fields = [
            ("id", id.as_str()),
            ("name", name),
            ("tag", tag.as_str()),
            ("load_balancer", shown.load_balancer.as_str()),
            ("status", shown.status.as_str()),
            ("version", version.as_str()),
        ];
        self.form("sites/update", &fields).await
    }

    /// An admin's API client puts `site` with status offline, without `If-Match`.
    async fn put_site_offline(&self, site: &Site, token: &str) -> StatusCode {
        let body =
            json!({ "name": site.name, "tag": site.tag, "load_balancer": site.load_balancer, "status": "offline" });
        self.api(Method::PUT, &format!("/api/v1/sites/{}", site.id), body, token).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_form_never_overwrites_a_change_made_since_it_was_shown() {
    let Some(f) = fronts("form_races_site").await else { return };
    let original = f.site.clone();
    // In turn: the form showed the site online; the API set it offline; the form's save is
    // refused, and the row keeps the API's status.
    assert!(accepted("the API", f.put_site_offline(&original, &f.admin_token).await));
    assert!(!accepted("the form", f.save_site(&original, "renamed").await), "the form showed another version");
    let row = f.store.get_site(original.id).await.unwrap().unwrap();
    assert_eq!((row.name.as_str(), row.status.as_str()), (original.name.as_str(), "offline"));

    let mut unexplained = Vec::new();
    for round in 0..ROUNDS {
        f.store.put_site(&original).await.unwrap();
        let (api, form) =
            tokio::join!(f.put_site_offline(&original, &f.admin_token), f.save_site(&original, "renamed"));
        let (api, form) = (accepted("the API", api), accepted("the form", form));
        let row = f.store.get_site(original.id).await.unwrap().unwrap();
        let seen = (row.name.as_str(), row.status.as_str());
        // The form writes only over the version it showed, so when both were accepted the form
        // went first and the API, which replaces every column, last.
        let explained = match (api, form) {
            (true, _) => seen == (original.name.as_str(), "offline"),
            (false, true) => seen == ("renamed", original.status.as_str()),
            (false, false) => false,
        };
        if !explained {
            unexplained.push(format!("round {round}: API accepted {api}, form accepted {form}, row {seen:?}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} of {ROUNDS} rounds no serial order explains: {unexplained:#?}",
        unexplained.len()
    );
}
