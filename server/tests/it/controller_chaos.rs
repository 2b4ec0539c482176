//! Never harmful on missing data: a chaos proxy cuts the controller off from the real Cassandra,
//! then from the real Redis. While cut, the controller makes no move and no status change and
//! says why; once restored it resumes by itself.

use crate::common;
use domain::loops::LoopKind;
use domain::loops::RunKey;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use palomar_core::{
    controller::{Census, Controller, ControllerSettings},
    ports::{BackendTable, GroupTable, ManualClock, Ports, RecordStore, SettingTable, SiteTable},
    services::Caller,
};

use chrono::Utc;
use common::chaos::ChaosProxy;
use domain::{
    decisions::Outcome,
    feature::{FeatureState, FEATURE_SECTION},
    geodb::{Backend, ClusterSetting},
    loops::LoopResult,
    moves::{EndMove, MoveState},
    PageRequest, WriteError,
};
use palomar_server::{
    adapters::{
        doveadm_http::{DoveadmAuth, DoveadmHttp},
        embedded::EmbeddedStore,
        redis_lease::RedisLease,
        sim_metrics::SimulatorMetrics,
    },
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, ServeOptions},
    Faults, SimSettings, Simulator,
};

/// Runs the loops a few times until `done` holds (the driver reconnects in the background).
async fn until(controller: &Controller, what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..60 {
        for kind in [LoopKind::Leader, LoopKind::Reachability, LoopKind::Pass] {
            controller.run(kind).await;
        }
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what} did not happen; controller: {:?}", controller.status().await.loops);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_database_stops_every_action_until_it_returns() {
    let Some(cassandra) = common::cassandra_address() else { return };
    let Some(redis_url) = common::redis_url() else { return };
    let Some(direct) = common::cassandra_store("controller_chaos").await else { return };
    let direct = Arc::new(direct);
    let report = seed_sample_cluster(
        direct.clone(),
        SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 6, users: 600 },
        8,
    )
    .await
    .unwrap();
    let site = report.sites[0].clone();
    // Lease keys of a site name of our own, so no other run's lease is in the way.
    let mut renamed = site.clone();
    renamed.name = format!("chaos{}", std::process::id() % 100_000);
    direct.put_site(&renamed).await.unwrap();

    let cassandra_proxy = ChaosProxy::start(cassandra.parse::<SocketAddr>().unwrap()).await;
    let redis_target: SocketAddr = redis_url.trim_start_matches("redis://").split('/').next().unwrap().parse().unwrap();
    let redis_proxy = ChaosProxy::start(redis_target).await;
    let redis_db =
        redis_url.rsplit_once('/').map(|(_, db)| db).filter(|db| db.chars().all(|c| c.is_ascii_digit())).unwrap_or("0");
    let proxied = Arc::new(common::cassandra_store_at("controller_chaos", &cassandra_proxy.addr.to_string()).await);

    let clock = Arc::new(ManualClock::new(Utc::now()));
    let sim_settings = SimSettings { logins_per_second: 40.0, deliveries_per_second: 20.0, ..SimSettings::default() };
    let sim = Simulator::load(direct.clone(), clock.clone(), sim_settings, 3).await.unwrap();
    let options = ServeOptions {
        ip: [127, 0, 0, 1].into(),
        control: "127.0.0.1:0".parse().unwrap(),
        credentials: DoveadmCredentials { password: Some("chaos".into()), api_key: None },
        line: domain::doveadm::DovecotLine::Ce23,
        tick: None,
    };
    let running = start(sim.clone(), options).await.unwrap();
    let endpoints: BTreeMap<String, String> =
        running.topology.backends.iter().map(|b| (b.host.clone(), format!("http://{}", b.doveadm))).collect();
    let ports = Ports {
        geodb: proxied.clone(),
        operators: proxied.clone(),
        audit: proxied.clone(),
        members: proxied.clone(),
        records: proxied.clone(),
        plans: Arc::new(EmbeddedStore::new()),
        lease: Arc::new(RedisLease::connect(&format!("redis://{}/{redis_db}", redis_proxy.addr)).await.unwrap()),
        metrics: Arc::new(SimulatorMetrics::new(sim.clone())),
        doveadm: Arc::new(
            DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password("chaos".into())), endpoints).unwrap(),
        ),
        resolver: Arc::new(palomar_server::adapters::SyntaxOnlyResolver),
        clock: clock.clone(),
    };
    let instance = format!("chaos-{}", std::process::id());
    let settings =
        ControllerSettings { group_balance_enabled: false, ..common::controller_settings(&renamed.name, &instance) };
    let controller = Controller::new(ports, Arc::new(Census::default()), settings);
    let feature = ClusterSetting {
        section: FEATURE_SECTION.into(),
        site_id: site.id,
        backend_id: uuid::Uuid::nil(),
        setting_name: "host_failure".into(),
        setting_value: FeatureState::On.as_str().into(),
    };
    direct.put_setting(&feature).await.unwrap();
    let host = |n: usize| format!("be{n}.{}.example.net", site.name);
    let backend = |n: usize| {
        let direct = direct.clone();
        let (site_id, host) = (site.id, host(n));
        async move {
            let all: Vec<Backend> = direct.list_backends(site_id, PageRequest::first(100)).await.unwrap().items;
            all.into_iter().find(|b| b.host == host).unwrap()
        }
    };
    let decisions = || {
        let direct = direct.clone();
        let site_id = site.id;
        async move { direct.list_decisions(site_id, Utc::now().date_naive(), PageRequest::first(100)).await.unwrap().items }
    };
    let traffic = |seconds: u64| {
        let (sim, clock) = (sim.clone(), clock.clone());
        async move {
            for _ in 0..seconds {
                clock.advance(Duration::from_secs(1));
                sim.tick(Duration::from_secs(1)).await.unwrap();
            }
        }
    };
    until(&controller, "leading", async || controller.held_lease().is_some()).await;

    // Cassandra cut: be1 fails hard, yet nothing is decided; the controller says why.
    sim.set_faults(&host(1), Faults::down()).unwrap();
    traffic(30).await;
    cassandra_proxy.cut();
    for kind in [LoopKind::Leader, LoopKind::Reachability, LoopKind::Pass, LoopKind::Supervision] {
        controller.run(kind).await;
    }
    let status = controller.status().await;
    assert_eq!(status.loops[&RunKey::Loop(LoopKind::Pass)].result, LoopResult::Failed, "{:?}", status.loops);
    assert!(status.problems.iter().any(|p| p.contains("cannot read")), "{:?}", status.problems);
    assert_eq!(backend(1).await.status.as_str(), "online", "no status change while Cassandra is cut");
    assert!(decisions().await.is_empty(), "no decision while Cassandra is cut");

    // Restored: it acts again by itself.
    cassandra_proxy.restore();
    until(&controller, "be1 offline after Cassandra returned", async || backend(1).await.status.as_str() == "offline")
        .await;
    assert_eq!(decisions().await.len(), 1);

    // Redis cut: the lease cannot be renewed, so this instance stops leading and acting.
    sim.set_faults(&host(2), Faults::down()).unwrap();
    traffic(30).await;
    redis_proxy.cut();
    controller.run(LoopKind::Leader).await;
    controller.run(LoopKind::Pass).await;
    assert!(controller.held_lease().is_none(), "no lease without Redis");
    let status = controller.status().await;
    assert!(status.problems.iter().any(|p| p.contains("Redis") || p.contains("lease")), "{:?}", status.problems);
    assert_eq!(backend(2).await.status.as_str(), "online", "no status change without the lease");
    assert_eq!(decisions().await.len(), 1, "no new decision without the lease");

    redis_proxy.restore();
    until(&controller, "a decision about be2 after Redis returned", async || {
        decisions().await.iter().any(|d| d.decision.summary.contains(&host(2)) && d.outcome == Outcome::Applied)
    })
    .await;
    drop(running);
}

/// A write error says whether the store was down or the write was refused: an operator's
/// force while Cassandra is cut answers 503, not 409, and works once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_force_while_cassandra_is_down_answers_503() {
    let Some(cassandra) = common::cassandra_address() else { return };
    let Some(direct) = common::cassandra_store("force_outage").await else { return };
    let direct = Arc::new(direct);
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 6, users: 60 };
    let report = seed_sample_cluster(direct.clone(), size, 4).await.unwrap();
    let site = report.sites[0].id;
    let proxy = ChaosProxy::start(cassandra.parse::<SocketAddr>().unwrap()).await;
    let proxied = Arc::new(common::cassandra_store_at("force_outage", &proxy.addr.to_string()).await);
    // The audit log stays up (embedded), so the 503 comes from the force itself.
    let embedded = Arc::new(EmbeddedStore::new());
    let ports = Ports {
        geodb: proxied.clone(),
        records: proxied.clone(),
        members: proxied.clone(),
        ..common::embedded_ports(embedded, Arc::new(palomar_server::adapters::NoMetrics))
    };
    let services = common::services_with(ports);
    let operator = Caller::trusted_cli();
    let groups = direct.list_groups(site, PageRequest::first(10)).await.unwrap().items;
    let group = groups.first().unwrap();
    let backends = direct.list_backends(site, PageRequest::first(10)).await.unwrap().items;
    let destination = backends.iter().find(|b| Some(b.id) != group.backend_id).unwrap();
    let started = services.group_ops(&operator).unwrap().start_move(site, &group.name, destination.id).await.unwrap();

    proxy.cut();
    let ops = services.controller_ops(&operator).unwrap();
    let refused = ops.end_move(site, started.id, EndMove::Force).await.unwrap_err();
    assert_eq!(refused.status(), 503, "{refused:?}");
    let moves = services.controller_runtime().moves().clone();
    assert!(matches!(moves.end(&started, EndMove::Force, "test").await, Err(WriteError::Unavailable(_))));

    proxy.restore();
    let mut forced = None;
    for _ in 0..60 {
        match ops.end_move(site, started.id, EndMove::Force).await {
            Ok(done) => {
                forced = Some(done);
                break;
            }
            Err(err) => {
                assert_eq!(err.status(), 503, "only the outage may refuse it: {err:?}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let forced = forced.expect("the force works once Cassandra is back");
    assert_eq!(forced.state, MoveState::Forced);
    let row = direct.get_group(site, &group.name).await.unwrap().unwrap();
    assert_eq!((row.backend_id, row.is_moving()), (Some(destination.id), false));
}
