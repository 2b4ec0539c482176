//! The cluster simulator on the embedded store, driven tick by tick with a manual clock:
//! routing, metrics, the doveadm HTTP API (through the real reqwest client) and group moves.

mod moves;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use domain::{geodb::UserGroup, PageRequest, Site};

use chrono::Utc;
use palomar_core::ports::{BackendTable, DoveadmError, GroupTable, ManualClock, Metrics, SiteTable, UserTable};
use palomar_server::{
    adapters::{
        doveadm_http::{DoveadmAuth, DoveadmHttp},
        embedded::EmbeddedStore,
        sim_metrics::SimulatorMetrics,
    },
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, RunningSimulator, ServeOptions},
    DoveadmMode, Faults, SimSettings, Simulator,
};
use serde_json::{json, Map, Value};

const PASSWORD: &str = "secret";
const API_KEY: &str = "apikey";

struct World {
    store: Arc<EmbeddedStore>,
    clock: Arc<ManualClock>,
    running: RunningSimulator,
    site: Site,
    doveadm: DoveadmHttp,
}

impl World {
    async fn new(users: usize, settings: SimSettings) -> Self {
        Self::with_sites(1, users, settings).await
    }

    /// `sites` sites of three backends each; `site` is the first.
    async fn with_sites(sites: usize, users: usize, settings: SimSettings) -> Self {
        let store = Arc::new(EmbeddedStore::new());
        let size = SampleSize { sites, backends_per_site: 3, groups_per_site: 10, users };
        let report = seed_sample_cluster(store.clone(), size, 1).await.unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let sim = Simulator::load(store.clone(), clock.clone(), settings, 7).await.unwrap();
        let options = ServeOptions {
            ip: [127, 0, 0, 1].into(),
            control: "127.0.0.1:0".parse().unwrap(),
            credentials: DoveadmCredentials { password: Some(PASSWORD.into()), api_key: Some(API_KEY.into()) },
            line: domain::doveadm::DovecotLine::Ce23,
            tick: None,
        };
        let running = start(sim, options).await.unwrap();
        let endpoints: BTreeMap<String, String> =
            running.topology.backends.iter().map(|b| (b.host.clone(), format!("http://{}", b.doveadm))).collect();
        let doveadm = DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password(PASSWORD.into())), endpoints).unwrap();
        World { store, clock, running, site: report.sites[0].clone(), doveadm }
    }

    async fn ticks(&self, n: usize, each: Duration) {
        for _ in 0..n {
            self.clock.advance(each);
            self.running.sim.tick(each).await.unwrap();
        }
    }

    fn sim(&self) -> &Arc<Simulator> {
        &self.running.sim
    }

    fn host(&self, n: usize) -> String {
        format!("be{n}.{}.example.net", self.site.name)
    }

    async fn group(&self, name: &str) -> UserGroup {
        self.store.get_group(self.site.id, name).await.unwrap().unwrap()
    }

    async fn backend_id(&self, host: &str) -> uuid::Uuid {
        self.sim().backends().into_iter().find(|b| b.host == host).unwrap().id
    }

    async fn set_status(&self, host: &str, status: &str) {
        let mut row = self
            .store
            .list_backends(self.site.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|b| b.host == host)
            .unwrap();
        row.status = status.into();
        self.store.put_backend(&row).await.unwrap();
    }

    async fn run(
        &self,
        host: &str,
        command: &str,
        params: Value,
    ) -> Result<Vec<BTreeMap<String, Value>>, DoveadmError> {
        let Value::Object(params) = params else { panic!("params must be an object") };
        self.doveadm.run_named(host, command, params).await
    }
}

fn fast() -> SimSettings {
    SimSettings {
        logins_per_second: 200.0,
        deliveries_per_second: 100.0,
        user_move_rate: 20.0,
        score_interval: Duration::from_secs(1),
        ..SimSettings::default()
    }
}

#[tokio::test]
async fn failing_backend_shows_its_injected_failure_ratio() {
    let world = World::new(3000, fast()).await;
    world
        .sim()
        .set_faults(
            &world.host(1),
            Faults { login_fail_percent: 30.0, delivery_fail_percent: 30.0, ..Faults::default() },
        )
        .unwrap();
    world.ticks(30, Duration::from_secs(1)).await;
    let traffic = SimulatorMetrics::new(world.sim().clone()).host_traffic(Duration::from_secs(300)).await.unwrap();
    let ratio = |n| traffic.get(&world.host(n)).and_then(|t| t.failure_ratio()).unwrap();
    assert!((ratio(1) - 0.30).abs() < 0.05, "be1 fails about 30%: {}", ratio(1));
    assert!(ratio(2) < 0.01 && ratio(3) < 0.01, "healthy backends: {} {}", ratio(2), ratio(3));
    // The harmless errors (redirects, temporary auth failures, 5.x.x rejections) are not failures.
    assert!(traffic.get(&world.host(2)).unwrap().logins() > 100.0);
}

#[tokio::test]
async fn hot_backend_has_the_highest_summed_z_score() {
    let world = World::new(600, fast()).await;
    world.sim().set_faults(&world.host(2), Faults::hot()).unwrap();
    world.ticks(5, Duration::from_secs(1)).await;
    let scores = SimulatorMetrics::new(world.sim().clone())
        .host_scores(&world.site.name, Duration::from_secs(3600))
        .await
        .unwrap();
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for s in &scores {
        *sums.entry(s.host.clone()).or_default() += s.average;
        assert!(s.samples_24h >= 4);
    }
    let hottest = sums.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0.clone();
    assert_eq!(hottest, world.host(2));
}

#[tokio::test]
async fn offline_backend_groups_are_served_by_their_alt_backend() {
    let world = World::new(3000, fast()).await;
    world.set_status(&world.host(1), "offline").await;
    world.ticks(10, Duration::from_secs(1)).await;
    let traffic = world.sim().traffic_over(Duration::from_secs(300));
    assert!(traffic.get(&world.host(1)).is_none_or(|t| t.logins() == 0.0), "no sessions to an offline backend");
    assert!(traffic.get(&world.host(2)).is_some_and(|t| t.logins() > 0.0));
    assert!(traffic.get(&world.host(3)).is_some_and(|t| t.logins() > 0.0));
}

#[tokio::test]
async fn the_users_of_a_site_that_is_offline_are_served_by_its_failover_site() {
    let world = World::with_sites(2, 3000, SimSettings { cross_site_percent: 50.0, ..fast() }).await;
    let sites = world.store.list_sites(PageRequest::first(10)).await.unwrap().items;
    let mut down = sites.into_iter().find(|s| s.id != world.site.id).unwrap();
    down.status = domain::SiteStatus::Offline;
    world.store.put_site(&down).await.unwrap();
    world.ticks(10, Duration::from_secs(1)).await;
    let traffic = world.sim().traffic_over(Duration::from_secs(300));
    let logins = |host: &str| traffic.get(host).map_or(0.0, |t| t.logins());
    let down_hosts: Vec<String> =
        world.sim().backends().into_iter().filter(|b| b.site == down.name).map(|b| b.host).collect();
    assert!(down_hosts.iter().all(|h| logins(h) == 0.0), "no sessions to the offline site's backends");
    assert_eq!(logins(&down.load_balancer), 0.0, "no proxy sends a user to the offline site");
    // Its own proxies send its users to the other site's load balancer; that site's
    // backends serve them along with their own.
    assert!(logins(&world.site.load_balancer) > 0.0, "{traffic:?}");
    assert!((1..=3).all(|n| logins(&world.host(n)) > 0.0));
}

#[tokio::test]
async fn the_doveadm_client_maps_every_error_shape() {
    let world = World::new(100, fast()).await;
    let host = world.host(1);
    // A command that fails: exit code 68 (not found).
    let err =
        world.run(&host, "clusterGroupStatus", json!({"site": world.site.name, "group": "nope"})).await.unwrap_err();
    assert!(matches!(err, DoveadmError::Failed { exit_code: 68, .. }), "{err:?}");
    // Unknown command and unknown parameter.
    let err = world.run(&host, "noSuchCommand", json!({})).await.unwrap_err();
    assert!(matches!(err, DoveadmError::Refused { ref kind, .. } if kind == "unknownMethod"), "{err:?}");
    let err = world.run(&host, "clusterKick", json!({"bogusParam": 1})).await.unwrap_err();
    assert!(matches!(err, DoveadmError::Refused { ref kind, .. } if kind == "invalidRequest"), "{err:?}");
    // A boolean parameter that is not a boolean: the whole request is refused with 400.
    let err = world
        .run(&host, "clusterGroupMove", json!({"site": "x", "group": "y", "host": "z", "direct": "yes"}))
        .await
        .unwrap_err();
    assert!(matches!(err, DoveadmError::Http { status: 400, .. }), "{err:?}");
    // Wrong password.
    let endpoints: BTreeMap<String, String> =
        world.running.topology.backends.iter().map(|b| (b.host.clone(), format!("http://{}", b.doveadm))).collect();
    let wrong = DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password("wrong".into())), endpoints.clone()).unwrap();
    assert!(matches!(wrong.run_named(&host, "clusterKick", Map::new()).await, Err(DoveadmError::Unauthorized { .. })));
    // The API key works too.
    let keyed = DoveadmHttp::new("http", 8080, Some(DoveadmAuth::ApiKey(API_KEY.into())), endpoints).unwrap();
    let mut kick = Map::new();
    kick.insert("user".into(), json!("u"));
    assert_eq!(keyed.run_named(&host, "clusterKick", kick.clone()).await.unwrap(), vec![]);
    // Erroring and unreachable backends.
    world.sim().set_faults(&host, Faults { doveadm: DoveadmMode::Error, ..Faults::default() }).unwrap();
    assert!(matches!(
        world.doveadm.run_named(&host, "clusterKick", kick.clone()).await,
        Err(DoveadmError::Failed { exit_code: 75, .. })
    ));
    world.sim().set_faults(&host, Faults { doveadm: DoveadmMode::Unreachable, ..Faults::default() }).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = world.doveadm.run_named(&host, "clusterKick", kick.clone()).await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    world.sim().set_faults(&host, Faults::default()).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(world.doveadm.run_named(&host, "clusterKick", kick).await.unwrap(), vec![], "reachable again");
    // A host that resolves nowhere.
    let err = world.doveadm.run_named("no-such-backend.invalid", "clusterKick", Map::new()).await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
}

/// Raw HTTP exchanges with a simulated backend, compared with the shapes of the CE captures.
#[tokio::test]
async fn the_doveadm_api_speaks_dovecots_wire_format() {
    let world = World::new(100, fast()).await;
    let backend = &world.running.topology.backends[0];
    let url = format!("http://{}/doveadm/v1", backend.doveadm);
    let client = reqwest::Client::new();
    let basic = |r: reqwest::RequestBuilder| r.basic_auth("doveadm", Some(PASSWORD));
    struct Case {
        name: &'static str,
        request: reqwest::RequestBuilder,
        status: u16,
        body: &'static str,
    }
    let cases = [
        Case { name: "no credentials", request: client.get(&url), status: 401, body: "" },
        Case {
            name: "wrong password",
            request: client.post(&url).basic_auth("doveadm", Some("wrong")).body("[]"),
            status: 401,
            body: "",
        },
        Case {
            name: "not an array",
            request: basic(client.post(&url)).body(r#"{"not":"an array"}"#),
            status: 400,
            body: "Request must be a JSON array\r\n",
        },
        Case {
            name: "truncated JSON",
            request: basic(client.post(&url)).body(r#"[["who",{},"t4""#),
            status: 400,
            body: "JSON parse error",
        },
        Case {
            name: "unknown command",
            request: basic(client.post(&url)).body(r#"[["noSuchCommand",{},"t2"]]"#),
            status: 200,
            body: r#"[["error",{"type":"unknownMethod", "exitCode":0},"t2"]]"#,
        },
        Case {
            name: "bogus parameter",
            request: basic(client.post(&url)).body(r#"[["clusterKick",{"bogusParam":1},"t3"]]"#),
            status: 200,
            body: r#"[["error",{"type":"invalidRequest", "exitCode":0},"t3"]]"#,
        },
        Case {
            name: "command failure",
            request: basic(client.post(&url)).body(r#"[["clusterBackendStatus",{"host":"nope"},"t5"]]"#),
            status: 200,
            body: r#"[["error",{"type":"exitCode", "exitCode":68},"t5"]]"#,
        },
        Case {
            name: "success",
            request: basic(client.post(&url)).body(r#"[["clusterKick",{"user":"u"},"t6"]]"#),
            status: 200,
            body: r#"[["doveadmResponse",[],"t6"]]"#,
        },
        Case {
            name: "API key",
            request: client
                .post(&url)
                .header("Authorization", "X-Dovecot-API YXBpa2V5")
                .body(r#"[["clusterKick",{"user":"u"},"t7"]]"#),
            status: 200,
            body: r#"[["doveadmResponse",[],"t7"]]"#,
        },
        Case {
            name: "unknown path",
            request: basic(client.get(format!("http://{}/nope", backend.doveadm))),
            status: 404,
            body: "Path Not Found\r\n",
        },
        Case {
            name: "mounts",
            request: basic(client.get(format!("http://{}/", backend.doveadm))),
            status: 200,
            body: "{\"method\":\"POST\",\"path\":\"/doveadm/v1\"}",
        },
        Case {
            name: "command list",
            request: basic(client.get(&url)),
            status: 200,
            body: "{\"command\":\"clusterGroupMove\"",
        },
    ];
    for case in cases {
        let response = case.request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), case.status, "{}", case.name);
        let headers = response.headers().clone();
        assert_eq!(headers.get("connection").and_then(|v| v.to_str().ok()), Some("close"), "{}", case.name);
        if case.status == 401 {
            let challenges: Vec<&str> =
                headers.get_all("www-authenticate").iter().filter_map(|v| v.to_str().ok()).collect();
            assert_eq!(challenges, ["X-Dovecot-API", "Basic Realm=\"doveadm\""], "{}", case.name);
        }
        let body = response.text().await.unwrap();
        assert!(body.contains(case.body), "{}: {body}", case.name);
    }
    let list: Value = basic(client.get(&url)).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().filter_map(|c| c["command"].as_str()).collect();
    for required in [
        "clusterGroupMove",
        "clusterGroupAccess",
        "clusterGroupStatus",
        "clusterGroupList",
        "clusterUserMove",
        "clusterUserAccess",
        "clusterUserStatus",
        "clusterBackendStatus",
        "clusterBackendList",
        "clusterBackendUpdate",
        "clusterKick",
    ] {
        assert!(names.contains(&required), "{required} is served");
    }
}

#[tokio::test]
async fn backend_list_update_and_group_list() {
    let world = World::new(100, fast()).await;
    let host = world.host(1);
    let list = world.run(&host, "clusterBackendList", json!({"site": world.site.name})).await.unwrap();
    assert_eq!(list.len(), 3);
    world
        .run(&host, "clusterBackendUpdate", json!({"host": world.host(2), "status": "standby", "loadFactor": 50}))
        .await
        .unwrap();
    let status = world.run(&host, "clusterBackendStatus", json!({"host": world.host(2)})).await.unwrap();
    assert_eq!(status[0].get("status"), Some(&json!("standby")));
    assert_eq!(status[0].get("load_factor"), Some(&json!("50")));
    let err = world
        .run(&host, "clusterBackendUpdate", json!({"host": world.host(2), "status": "maintenance"}))
        .await
        .unwrap_err();
    assert!(matches!(err, DoveadmError::Failed { exit_code: 64, .. }));
    let groups = world.run(&host, "clusterGroupList", json!({"mask": "default-1*"})).await.unwrap();
    let names: Vec<&Value> = groups.iter().filter_map(|g| g.get("group")).collect();
    assert_eq!(names, [&json!("default-1"), &json!("default-10")]);
}

#[tokio::test]
async fn proxies_serve_dovecot_openmetrics() {
    let world = World::new(600, fast()).await;
    world.sim().set_faults(&world.host(1), Faults { login_fail_percent: 50.0, ..Faults::default() }).unwrap();
    world.ticks(3, Duration::from_secs(1)).await;
    let proxy = &world.running.topology.proxies[0];
    let response = reqwest::get(format!("http://{}/metrics", proxy.metrics)).await.unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    assert!(text.contains(&format!("dovecot_proxy_session_failure_total{{dest_host=\"{}\"}}", world.host(1))));
    assert!(text.contains("dovecot_proxy_session_success_count "));
    assert!(text.contains("dovecot_lmtp_rcpt_finished_success_duration_seconds_sum "));
    assert!(text.ends_with("# EOF\n"));
    let backend = &world.running.topology.backends[0];
    let node = reqwest::get(format!("http://{}/metrics", backend.metrics)).await.unwrap().text().await.unwrap();
    assert!(node.contains("node_memory_MemAvailable_bytes "));
    assert!(node.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} "));
}

#[tokio::test]
async fn a_backend_that_never_answers_times_out_as_unreachable() {
    // Accepts connections and reads, but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let endpoints = BTreeMap::from([("silent.example.net".to_string(), format!("http://{addr}"))]);
    let client = DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password(PASSWORD.into())), endpoints)
        .unwrap()
        .with_timeouts(Duration::from_millis(300), Duration::from_millis(600));
    let started = std::time::Instant::now();
    let err = client.run_named("silent.example.net", "clusterKick", Map::new()).await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "gave up after its timeout");
    silent.abort();
}
