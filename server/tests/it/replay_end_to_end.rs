//! A replay end to end on the real parts (docs/replay.md): the controller runs its loops in
//! real time on Cassandra, Redis and a Prometheus scraping the simulator while a backend fails
//! and heals; the window is then replayed through `/api/v1` from the record and Prometheus'
//! history. With the settings in force every decision pairs; with a changed setting the
//! expected one goes.

use crate::common;

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use chrono::Utc;
use serde_json::{json, Value};

use domain::{
    feature::{FeatureState, FEATURE_SECTION},
    geodb::ClusterSetting,
    PageRequest, Role,
};
use palomar_core::{
    controller::Controller,
    ports::{BackendTable, SettingTable, SiteTable},
    services::{Caller, Services},
};
use palomar_server::seed::{seed_sample_cluster, SampleSize};
use palomar_sim::{Faults, SimSettings};

async fn call(app: &Router, token: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
        .unwrap();
    let response = common::web::send(app, request).await;
    let status = response.status();
    let text = common::web::text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Starts a replay and waits for its end; the replay resource as it ended.
async fn replay(app: &Router, token: &str, site: &str, body: Value) -> Value {
    let (status, started) = call(app, token, "POST", &format!("/api/v1/sites/{site}/replays"), Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let path = format!("/api/v1/sites/{site}/replays/{}", started["id"].as_str().unwrap_or_default());
    for _ in 0..240 {
        let (status, run) = call(app, token, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{run}");
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the replay did not end within 2 minutes");
}

fn actions(run: &Value, side: &str) -> Vec<String> {
    let list = run["result"][side].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|d| {
            let action = if side == "recorded" { &d["action"] } else { &d["decision"]["action"] };
            action.as_object().and_then(|a| a.keys().next().cloned()).unwrap_or_default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_with_a_failing_backend_replays_in_full_and_a_changed_setting_differs_as_expected() {
    let Some(prometheus_bin) = common::prometheus::binary() else { return };
    let Some(redis_url) = common::redis_url() else { return };
    let Some(store) = common::cassandra_store("replay_e2e").await else { return };
    let store = Arc::new(store);
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 12, users: 1200 };
    let report = seed_sample_cluster(store.clone(), size, 8).await.unwrap();
    let mut site = report.sites[0].clone();
    let hosts_site = site.name.clone();
    site.name = format!("rp{}", std::process::id() % 100_000);
    store.put_site(&site).await.unwrap();

    // The controller's settings as an operator sets them: through the environment's names.
    let config = common::config(&[
        ("CLUSTER_SITE", &site.name),
        ("CONTROLLER_INSTANCE", "replay-e2e"),
        ("CONTROLLER_PASS_INTERVAL_SECS", "2"),
        ("GROUP_MOVE_SUPERVISION_INTERVAL_SECS", "1"),
        ("BACKEND_REACHABILITY_INTERVAL_SECS", "1"),
        ("CONTROLLER_LEASE_TTL_SECS", "6"),
        ("HOST_FAILURE_WINDOW_SECS", "15"),
        ("HOST_FAILURE_COOL_TIME_SECS", "10"),
        ("HOST_LOAD_BALANCE_SCORE_WINDOW_SECS", "120"),
    ]);
    let sim_settings = SimSettings {
        logins_per_second: 40.0,
        deliveries_per_second: 20.0,
        score_interval: Duration::from_secs(1),
        ..SimSettings::default()
    };
    let live = common::live::start_live_site(store.clone(), &redis_url, &prometheus_bin, sim_settings, "replay").await;
    let sim = live.sim.clone();
    let controller = Controller::new(live.ports.clone(), live.census.clone(), config.controller_settings());
    let services = Services::new(live.ports.clone(), controller.clone())
        .with_settings_overrides(Arc::new(config.replay_overrides.clone()));
    let (app, services) =
        common::web::app_with(common::web::settings(Duration::from_secs(600), false), Some(services)).await;
    let tokens = services.api_tokens(&Caller::trusted_cli()).unwrap();
    let token = tokens.create(Some("operator"), Role::Operator, "replay", None).await.unwrap().secret;
    let task = palomar_core::controller::spawn(controller.clone());

    for _ in 0..60 {
        if controller.held_lease().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(controller.held_lease().is_some(), "the controller leads");
    let on = ClusterSetting {
        section: FEATURE_SECTION.into(),
        site_id: site.id,
        backend_id: uuid::Uuid::nil(),
        setting_name: "host_failure".into(),
        setting_value: FeatureState::On.as_str().into(),
    };
    store.put_setting(&on).await.unwrap();
    let from = Utc::now();

    // A few minutes of history: quiet, then be1 and later be3 each failing until it is set
    // offline, healed until it is back, with quiet between: over three minutes in all.
    tokio::time::sleep(Duration::from_secs(45)).await;
    let status = |host: String, wanted: &'static str| {
        let store = store.clone();
        async move {
            for _ in 0..240 {
                let all = store.list_backends(site.id, PageRequest::first(100)).await.unwrap().items;
                if all.iter().any(|b| b.host == host && b.status.as_str() == wanted) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            panic!("{host} did not become {wanted}");
        }
    };
    for n in [1, 3] {
        let host = format!("be{n}.{hosts_site}.example.net");
        sim.set_faults(&host, Faults::down()).unwrap();
        status(host.clone(), "offline").await;
        sim.set_faults(&host, Faults::default()).unwrap();
        status(host, "online").await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    // Prometheus scrapes every second: let it have the window's last samples.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let to = Utc::now() - chrono::Duration::seconds(2);
    let window = json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
    println!("replay window: {} s of history", (to - from).num_seconds());
    assert!(to - from > chrono::Duration::minutes(3), "a few minutes of history");

    let faithful = replay(&app, &token, &site.name, window.clone()).await;
    assert_eq!(faithful["status"], "done", "{faithful}");
    let recorded = actions(&faithful, "recorded");
    let count = |action: &str| recorded.iter().filter(|a| *a == action).count();
    assert_eq!((count("SetOffline"), count("SetOnline")), (2, 2), "{recorded:?}");
    assert_eq!(faithful["agreement"], json!(100.0), "{}", faithful["result"]["agreement"]);
    assert_eq!(actions(&faithful, "decisions"), recorded, "the same decisions in the same order");

    // Far more logins needed before a backend counts as failing: be1 and be3 stay online.
    let mut what_if = window;
    what_if["set"] = json!({ "HOST_FAILURE_MIN_LOGINS": "1000000" });
    let changed = replay(&app, &token, &site.name, what_if).await;
    assert_eq!(changed["status"], "done", "{changed}");
    assert_eq!(changed["set"], json!({ "HOST_FAILURE_MIN_LOGINS": "1000000" }));
    assert!(!actions(&changed, "decisions").contains(&"SetOffline".to_string()), "{changed}");
    let only_recorded: Vec<&Value> = changed["result"]["agreement"]["disagreements"]
        .as_array()
        .map(|d| d.iter().filter(|d| d["side"] == "recorded").collect())
        .unwrap_or_default();
    assert!(only_recorded.len() >= 2, "both recorded offline decisions are on the record's side alone: {changed}");
    for d in &only_recorded {
        let why = d["reason"].as_str().unwrap_or_default();
        assert_eq!(why, "the replay's settings differ: HOST_FAILURE_MIN_LOGINS=1000000", "{d}");
    }
    assert!(changed["agreement"].as_f64().unwrap_or(100.0) < 100.0);

    task.abort();
    drop(live);
}
