//! The controller end to end on the real parts: the GeoDB and the controller's tables in
//! Cassandra, the lease and plans in Redis, metrics through Prometheus (with the shipped
//! recording rules) scraping the simulator, and the doveadm HTTP API of the simulated backends.
//! Each fault is injected in turn and the controller, running its own loops in real time,
//! must deal with it.

use crate::common;

use std::{future::Future, sync::Arc, time::Duration};

use palomar_core::{
    controller::{Controller, ControllerSettings, Intervals},
    ports::{BackendTable, GroupTable, Metrics, RecordStore, SettingTable, SiteTable},
};

use domain::{
    feature::{Feature, FeatureState, FEATURE_SECTION},
    geodb::{Backend, ClusterSetting, UserGroup},
    moves::Initiator,
    moves::MoveState,
    planning::{group_move_timeouts::SupervisionSettings, host_failure::HostFailureSettings},
    PageRequest,
};
use palomar_server::{
    adapters::prometheus::PrometheusMetrics,
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{Faults, SimSettings};

/// Polls `check` every half second for up to `seconds`; panics with `what` and the last state.
async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut last = String::new();
    for _ in 0..seconds * 2 {
        match check().await {
            Ok(()) => return,
            Err(state) => last = state,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what} did not happen within {seconds} s; last state: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_handles_each_fault_on_the_real_parts() {
    let Some(prometheus_bin) = common::prometheus::binary() else { return };
    let Some(redis_url) = common::redis_url() else { return };
    let Some(store) = common::cassandra_store("controller_e2e").await else { return };
    let store = Arc::new(store);
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 12, users: 1200 };
    let report = seed_sample_cluster(store.clone(), size, 8).await.unwrap();
    let site = report.sites[0].clone();
    // A site name of its own in Redis, so a lease or plan left by another run cannot interfere.
    let mut renamed = site.clone();
    renamed.name = format!("e2e{}", std::process::id() % 100_000);
    store.put_site(&renamed).await.unwrap();
    let site = renamed;

    let sim_settings = SimSettings {
        logins_per_second: 40.0,
        deliveries_per_second: 20.0,
        user_move_rate: 40.0,
        score_interval: Duration::from_secs(1),
        ..SimSettings::default()
    };
    let live =
        common::live::start_live_site(store.clone(), &redis_url, &prometheus_bin, sim_settings, "controller").await;
    let (sim, prometheus) = (live.sim.clone(), &live.prometheus);

    let base = common::controller_settings(&site.name, "e2e-controller");
    let settings = ControllerSettings {
        group_balance_enabled: false,
        host_failure: HostFailureSettings {
            cool_time: Duration::from_secs(8),
            window: Duration::from_secs(15),
            ..base.host_failure
        },
        supervision: SupervisionSettings {
            start_timeout: Duration::from_secs(4),
            finish_timeout: Duration::from_secs(120),
        },
        dns_failure_allowed: Duration::from_secs(5),
        score_window: Duration::from_secs(120),
        intervals: Intervals {
            reachability: Duration::from_secs(1),
            pass: Duration::from_secs(1),
            supervision: Duration::from_secs(1),
            group_balance_pass: Duration::from_secs(3600),
            lease_ttl: Duration::from_secs(6),
        },
        ..base
    };
    let controller = Controller::new(live.ports.clone(), live.census.clone(), settings);
    let task = palomar_core::controller::spawn(controller.clone());

    let host = |n: usize| format!("be{n}.{}.example.net", report.sites[0].name);
    let backend = |n: usize| {
        let store = store.clone();
        let (site_id, host) = (site.id, host(n));
        async move {
            let all: Vec<Backend> = store.list_backends(site_id, PageRequest::first(100)).await.unwrap().items;
            all.into_iter().find(|b| b.host == host).unwrap()
        }
    };
    let groups = || {
        let store = store.clone();
        let site_id = site.id;
        async move { store.list_groups(site_id, PageRequest::first(1000)).await.unwrap().items }
    };
    let set_feature = |feature: &'static str, state: FeatureState| {
        let store = store.clone();
        let site_id = site.id;
        async move {
            let row = ClusterSetting {
                section: FEATURE_SECTION.into(),
                site_id,
                backend_id: uuid::Uuid::nil(),
                setting_name: feature.into(),
                setting_value: state.as_str().into(),
            };
            store.put_setting(&row).await.unwrap();
        }
    };
    let status_text = || {
        let controller = controller.clone();
        async move { format!("{:?}", controller.status().await.loops) }
    };

    eventually(30, "leadership", || async {
        if controller.held_lease().is_some() {
            Ok(())
        } else {
            Err(status_text().await)
        }
    })
    .await;

    // 1. A failing backend is set offline, then comes back once healed (after the cool time).
    set_feature("host_failure", FeatureState::On).await;
    sim.set_faults(&host(1), Faults::down()).unwrap();
    eventually(90, "be1 set offline", || async {
        let b = backend(1).await;
        if b.status.as_str() == "offline" {
            Ok(())
        } else {
            Err(format!("{} {}", b.status, status_text().await))
        }
    })
    .await;
    sim.set_faults(&host(1), Faults::default()).unwrap();
    eventually(60, "be1 back online", || async {
        let b = backend(1).await;
        if b.status.as_str() == "online" {
            Ok(())
        } else {
            Err(format!("{} {}", b.status, status_text().await))
        }
    })
    .await;
    set_feature("host_failure", FeatureState::Off).await;

    // 2. A hot backend loses one group to the coolest.
    sim.set_faults(&host(2), Faults::hot()).unwrap();
    // Scores are averaged over a window: wait until Prometheus ranks be2 hottest, as an
    // operator would, before enabling load balancing.
    let scores = PrometheusMetrics::new(&prometheus.url, "palomar-sim").unwrap();
    eventually(90, "be2 hottest in Prometheus", || async {
        let all = scores.host_scores(&site.name, Duration::from_secs(120)).await.map_err(|e| e.to_string())?;
        let mut sums = std::collections::BTreeMap::<String, f64>::new();
        for s in &all {
            *sums.entry(s.host.clone()).or_default() += s.average;
        }
        let hottest = sums.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(h, _)| h.clone());
        let gap = sums.get(&host(2)).copied().unwrap_or(0.0)
            - sums.iter().filter(|(h, _)| **h != host(2)).map(|(_, v)| *v).fold(f64::MIN, f64::max);
        if hottest == Some(host(2)) && gap > 1.0 {
            Ok(())
        } else {
            Err(format!("{sums:?}"))
        }
    })
    .await;
    set_feature("load_balance", FeatureState::On).await;
    let be2 = backend(2).await;
    eventually(90, "a load-balancing move away from the hot be2", || async {
        let moves = store.list_moves(site.id, PageRequest::first(100)).await.unwrap().items;
        if moves
            .iter()
            .any(|m| m.initiated_by == Initiator::Controller(Feature::LoadBalance) && m.source == Some(be2.id))
        {
            Ok(())
        } else {
            Err(format!(
                "{:?} {}",
                moves.iter().map(|m| (&m.initiated_by, &m.source_host)).collect::<Vec<_>>(),
                status_text().await
            ))
        }
    })
    .await;
    set_feature("load_balance", FeatureState::Off).await;
    sim.set_faults(&host(2), Faults::default()).unwrap();
    let lb_moves = store.list_moves(site.id, PageRequest::first(100)).await.unwrap().items;
    assert_eq!(
        lb_moves.iter().filter(|m| m.initiated_by == Initiator::Controller(Feature::LoadBalance)).count(),
        1,
        "one group, not more"
    );

    // 3. A stalled move is forced once its start timeout passes.
    set_feature("group_move_timeouts", FeatureState::On).await;
    sim.set_faults(&host(3), Faults { stall_moves: true, ..Faults::default() }).unwrap();
    let (be1, be3) = (backend(1).await, backend(3).await);
    let stalled: UserGroup =
        groups().await.into_iter().find(|g| g.backend_id == Some(be3.id) && g.moving.is_empty()).unwrap();
    assert!(store.start_group_move(site.id, &stalled.name, be1.id, "operator-stalled-move").await.unwrap());
    eventually(60, "the stalled move forced", || async {
        let moves = store.list_moves(site.id, PageRequest::first(100)).await.unwrap().items;
        match moves.iter().find(|m| m.moving_token == "operator-stalled-move") {
            Some(m) if m.state == MoveState::Forced => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let row = store.get_group(site.id, &stalled.name).await.unwrap().unwrap();
    assert_eq!((row.backend_id, row.moving.as_str()), (Some(be1.id), ""));
    sim.set_faults(&host(3), Faults::default()).unwrap();

    // 4. A drained backend (load factor 0) empties, one group at a time.
    let mut drained = backend(3).await;
    drained.load_factor = 0;
    store.put_backend(&drained).await.unwrap();
    set_feature("evacuation", FeatureState::On).await;
    eventually(120, "be3 drained", || async {
        let left = groups().await.iter().filter(|g| g.backend_id == Some(drained.id)).count();
        if left == 0 {
            Ok(())
        } else {
            Err(format!("{left} groups left; {}", status_text().await))
        }
    })
    .await;

    let text = controller.telemetry().render();
    assert!(
        text.contains("palomar_controller_decisions_total{feature=\"host_failure\",mode=\"on\",outcome=\"applied\"}"),
        "{text}"
    );
    assert!(text.contains("palomar_controller_group_moves_total{outcome=\"forced\"}"), "{text}");
    task.abort();
    drop(live);
}
