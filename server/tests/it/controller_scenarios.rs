//! Scripted controller scenarios on the embedded adapters with a manual clock: one per loop
//! and mode. The simulator serves the doveadm HTTP API over real HTTP and makes the traffic;
//! timings come from the settings, so nothing sleeps for the real durations.

use crate::common;
use domain::loops::LoopKind;
use domain::loops::RunKey;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use palomar_core::{
    controller::{Census, Controller, ControllerSettings},
    ports::{
        BackendTable, BalancePlanStore, GroupTable, LeaderLease, ManualClock, Metrics, Ports, RecordStore,
        SettingTable, UserTable,
    },
    services::Services,
};

use chrono::{TimeZone, Utc};
use domain::{
    decisions::{DecisionRecord, Outcome},
    feature::{Feature, FeatureState, FEATURE_SECTION},
    geodb::{Backend, ClusterSetting, UserGroup},
    loops::LoopResult,
    moves::{EndMove, Initiator, MoveRecord, MoveState},
    planning::{Action, DecisionInputs, Reason},
    PageRequest, Site, SiteStatus,
};
use futures::TryStreamExt;
use palomar_server::{
    adapters::{
        doveadm_http::{DoveadmAuth, DoveadmHttp},
        embedded::EmbeddedStore,
        prometheus::PrometheusMetrics,
        sim_metrics::SimulatorMetrics,
    },
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, RunningSimulator, ServeOptions},
    Faults, SimSettings, Simulator,
};

#[path = "controller_scenarios/world.rs"]
mod world;
use world::*;

#[path = "controller_scenarios/password_guessing.rs"]
mod password_guessing;

mod decision_log;
mod moves;
mod replay;
mod site_health;

#[tokio::test]
async fn host_failure_sets_a_failing_backend_offline_and_brings_it_back() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.failing(1).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let be1 = world.backend(1).await;
    assert_eq!(be1.status.as_str(), "offline");
    assert!(be1.status_reason.starts_with("controller:"), "{}", be1.status_reason);
    let decisions = world.decisions().await;
    let offline = of_feature(&decisions, "host_failure");
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].outcome, Outcome::Applied);
    assert!(matches!(offline[0].decision.action, Some(Action::SetOffline { .. })));
    let DecisionInputs::HostFailure(inputs) = &offline[0].decision.inputs else { panic!("{offline:?}") };
    assert!(inputs.failure_ratio > 0.9 && inputs.logins_5m >= 10.0);

    // Healed; an offline backend gets no logins, so it is tried again after the cool time.
    world.fault(1, Faults::default()).await;
    world.ticks(300).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "offline", "not before the cool time");
    world.ticks(301).await;
    c.run(LoopKind::Leader).await;
    c.run(LoopKind::Reachability).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online");
}

#[tokio::test]
async fn a_moderately_failing_backend_loses_a_group_and_the_move_is_supervised() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.fault(2, Faults { login_fail_percent: 30.0, ..Faults::default() }).await;
    world.ticks(30).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let be2 = world.backend(2).await;
    assert_eq!(be2.status.as_str(), "online");
    let moving: Vec<UserGroup> = world.groups().await.into_iter().filter(|g| !g.moving.is_empty()).collect();
    assert_eq!(moving.len(), 1, "one group moves away");
    assert_eq!(moving[0].backend_id, Some(be2.id));
    assert_ne!(moving[0].alt_backend_id, Some(be2.id));
    let moves = world.moves().await;
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0].initiated_by, Initiator::Controller(Feature::HostFailure));
    assert!(moves[0].decision_id.is_some());
    assert!(!be2.last_moved_from.is_empty(), "the source's cool time starts");
    // The cool time holds the next pass back.
    world.ticks(5).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.moves().await.len(), 1, "no second move inside the cool time");
}

#[tokio::test]
async fn dryrun_records_the_same_decision_and_writes_nothing() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::Dryrun).await;
    world.failing(1).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online", "nothing written");
    let decisions = world.decisions().await;
    let dry = of_feature(&decisions, "host_failure");
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].outcome, Outcome::Dry);
    assert_eq!(dry[0].mode, FeatureState::Dryrun);
    assert!(matches!(dry[0].decision.action, Some(Action::SetOffline { .. })));
    // The same dry decision is not stored again within ten minutes.
    c.run(LoopKind::Pass).await;
    assert_eq!(of_feature(&world.decisions().await, "host_failure").len(), 1);
}

#[tokio::test]
async fn global_dry_run_makes_every_feature_dry() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.failing(1).await;
    let c = world.controller_with("a", true, Arc::new(SimulatorMetrics::new(world.running.sim.clone())));
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online");
    let decisions = world.decisions().await;
    let dry = of_feature(&decisions, "host_failure");
    assert_eq!((dry.len(), dry[0].outcome, dry[0].mode), (1, Outcome::Dry, FeatureState::Dryrun));
    assert!(c.status().await.modes.iter().any(|(f, m)| *f == Feature::HostFailure && *m == FeatureState::Dryrun));
}

#[tokio::test]
async fn an_off_feature_decides_nothing() {
    let world = World::new(600).await;
    world.failing(1).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online");
    assert!(world.decisions().await.is_empty());
    let status = c.status().await;
    assert_eq!(status.loops[&RunKey::Feature(Feature::HostFailure)].detail, "feature off");
}

#[tokio::test]
async fn a_hot_backend_loses_one_group_to_the_coolest() {
    let world = World::new(600).await;
    world.set_feature("load_balance", FeatureState::On).await;
    world.fault(3, Faults::hot()).await;
    world.ticks(10).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let moves = world.moves().await;
    assert_eq!(moves.len(), 1, "{:?}", world.decisions().await);
    let be3 = world.backend(3).await;
    assert_eq!(moves[0].source, Some(be3.id));
    assert_eq!(moves[0].initiated_by, Initiator::Controller(Feature::LoadBalance));
    let decision = world.decisions().await.into_iter().find(|d| Some(d.id) == moves[0].decision_id).unwrap();
    let DecisionInputs::LoadBalance(inputs) = &decision.decision.inputs else { panic!("{decision:?}") };
    assert!(inputs.delta.is_some_and(|delta| delta > 0.5));
    assert!(inputs.scores.contains_key(&world.host(3)));
    // One group per cool time: the next pass holds back.
    world.ticks(120).await;
    c.run(LoopKind::Supervision).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.moves().await.len(), 1);
}

#[tokio::test]
async fn two_controllers_on_one_site_exactly_one_acts() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.failing(1).await;
    let (a, b) = (world.controller("a"), world.controller("b"));
    for c in [&a, &b] {
        lead(c).await;
    }
    assert!(a.held_lease().is_some() ^ b.held_lease().is_some(), "exactly one leads");
    for c in [&a, &b] {
        c.run(LoopKind::Pass).await;
    }
    let decisions = world.decisions().await;
    let acted = of_feature(&decisions, "host_failure");
    assert_eq!(acted.len(), 1, "one decision, by the leader");
    let leader = if a.held_lease().is_some() { &a } else { &b };
    assert_eq!(acted[0].holder, leader.settings().instance);
    assert_eq!(world.backend(1).await.status.as_str(), "offline");
    let status = b.status().await;
    assert_eq!(status.leader.map(|(h, _)| h), Some(leader.settings().instance.clone()), "the UI shows who leads");
}

#[tokio::test]
async fn a_deposed_leader_writes_nothing() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.failing(1).await;
    let old = world.leading("old").await;
    let old_token = old.held_lease().unwrap().token;
    // The lease is taken over (as after a long pause of the old leader).
    world.store.release(&world.site.name, "old").await.unwrap();
    let new = world.store.acquire_or_renew(&world.site.name, "new", Duration::from_secs(30)).await.unwrap().unwrap();
    assert!(new.token > old_token);
    old.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online", "the deposed leader's write was refused");
    let refused = of_feature(&world.decisions().await, "host_failure").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].outcome, Outcome::Refused);
    assert!(refused[0].detail.contains("deposed"), "{}", refused[0].detail);
}

#[tokio::test]
async fn a_restarted_controller_resumes_supervising_a_move() {
    let world = World::new(600).await;
    world.set_feature("group_move_timeouts", FeatureState::On).await;
    world.fault(1, Faults { stall_moves: true, ..Faults::default() }).await;
    world.move_externally("restart-move").await;
    let short_lease = |instance: &str| {
        let base = common::controller_settings(&world.site.name, instance);
        let intervals = palomar_core::controller::Intervals { lease_ttl: Duration::from_millis(600), ..base.intervals };
        world.controller_from(
            ControllerSettings { intervals, ..base },
            Arc::new(SimulatorMetrics::new(world.running.sim.clone())),
        )
    };
    let first = short_lease("first");
    lead(&first).await;
    first.run(LoopKind::Pass).await;
    first.run(LoopKind::Supervision).await;
    let id = world.moves().await[0].id;
    // The process is killed mid-move: it releases nothing, and its lease runs out.
    drop(first);
    world.ticks(61).await;
    let second = short_lease("second");
    lead(&second).await;
    assert!(second.held_lease().is_none(), "standby while the dead leader's lease lasts");
    tokio::time::sleep(Duration::from_millis(700)).await;
    lead(&second).await;
    assert!(second.held_lease().is_some(), "takes over once it lapsed");
    second.run(LoopKind::Supervision).await;
    let m = world.moves().await.into_iter().find(|m| m.id == id).unwrap();
    assert_eq!(m.state, MoveState::Forced, "the same move, forced by the new process");
    assert_eq!(world.moves().await.len(), 1, "not adopted twice");
}

#[tokio::test]
async fn without_metrics_the_controller_makes_no_move_and_says_why() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.set_feature("load_balance", FeatureState::On).await;
    world.failing(1).await;
    // The real Prometheus adapter, pointed at a port where nothing listens.
    let down = Arc::new(PrometheusMetrics::new("http://127.0.0.1:9/", "").unwrap());
    let c = world.controller_with("a", false, down);
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online");
    assert!(world.moves().await.is_empty());
    let status = c.status().await;
    assert_eq!(status.loops[&RunKey::Feature(Feature::HostFailure)].result, LoopResult::Failed);
    assert!(status.problems.iter().any(|p| p.contains("host_failure")), "{:?}", status.problems);
}

#[tokio::test]
async fn an_unreachable_doveadm_api_is_never_a_destination() {
    let world = World::new(600).await;
    world.set_feature("evacuation", FeatureState::On).await;
    let mut be1 = world.backend(1).await;
    be1.load_factor = 0;
    world.store.put_backend(&be1).await.unwrap();
    world.fault(2, Faults { doveadm: palomar_sim::DoveadmMode::Unreachable, ..Faults::default() }).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let be3 = world.backend(3).await;
    let moves = world.moves().await;
    assert!(!moves.is_empty());
    assert!(moves.iter().all(|m| m.destination == be3.id), "be2's API is down: only be3 may receive");
    let status = c.status().await;
    assert!(status.reachability.iter().any(|r| r.host == world.host(2) && !r.reachable));
}

#[tokio::test]
async fn the_dry_evaluation_shows_what_would_happen_and_writes_nothing() {
    let world = World::new(600).await;
    world.failing(1).await;
    let c = world.controller("a");
    let decisions = c.evaluate().await.unwrap();
    assert!(decisions.iter().any(|d| matches!(d.action, Some(Action::SetOffline { .. }))), "{decisions:?}");
    assert_eq!(world.backend(1).await.status.as_str(), "online");
    assert!(world.decisions().await.is_empty());
}

#[tokio::test]
async fn the_controller_serves_its_own_metrics() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::Dryrun).await;
    world.failing(1).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let text = c.telemetry().render();
    for needle in [
        "palomar_controller_loop_runs_total{loop=\"pass\",result=\"ran\"} 1",
        "palomar_controller_decisions_total{feature=\"host_failure\",mode=\"dryrun\",outcome=\"dry\"} 1",
        "palomar_controller_leader{site=",
        "palomar_controller_loop_duration_seconds_count{loop=\"reachability\"} 1",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn dryrun_load_balancing_drain_and_group_balance_write_nothing() {
    let world = World::new(1200).await;
    for feature in ["load_balance", "evacuation", "group_balance"] {
        world.set_feature(feature, FeatureState::Dryrun).await;
    }
    world.fault(3, Faults::hot()).await;
    let mut be1 = world.backend(1).await;
    be1.load_factor = 0;
    world.store.put_backend(&be1).await.unwrap();
    // An oversized group on be2 for the group balancer.
    let be2 = world.backend(2).await;
    let mine: Vec<String> =
        world.groups().await.into_iter().filter(|g| g.backend_id == Some(be2.id)).map(|g| g.name).collect();
    for (name, _) in world.all_users().await.iter().filter(|(_, g)| mine[1..].contains(g)).take(60) {
        let mut u = world.store.get_user(name).await.unwrap().unwrap();
        u.group_name = mine[0].clone();
        world.store.put_user(&u).await.unwrap();
    }
    world.take_census().await;
    world.ticks(10).await;
    let groups_before = world.groups().await;
    let users_before = world.all_users().await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    c.run(LoopKind::GroupBalancePlan).await;
    c.run(LoopKind::GroupBalancePass).await;
    assert_eq!(world.groups().await, groups_before, "no group moved");
    assert_eq!(world.all_users().await, users_before, "no user moved");
    assert!(world.moves().await.is_empty());
    assert_eq!(world.store.plan_summary(&world.site.name).await.unwrap(), None, "no plan stored");
    let decisions = world.decisions().await;
    for feature in ["load_balance", "evacuation", "group_balance"] {
        let mine = of_feature(&decisions, feature);
        assert!(!mine.is_empty(), "{feature} decided: {decisions:?}");
        assert!(mine.iter().all(|d| d.outcome == Outcome::Dry && d.mode == FeatureState::Dryrun), "{feature}");
    }
}

#[tokio::test]
async fn operators_force_or_cancel_a_move() {
    let world = World::new(600).await;
    world.fault(1, Faults { stall_moves: true, ..Faults::default() }).await;
    let (be1, be2) = (world.backend(1).await, world.backend(2).await);
    let mut on_be1 = world.groups().await.into_iter().filter(|g| g.backend_id == Some(be1.id));
    let (first, second) = (on_be1.next().unwrap(), on_be1.next().unwrap());
    let c = world.leading("a").await;
    for g in [&first, &second] {
        assert!(world.store.start_group_move(world.site.id, &g.name, be2.id, &format!("op-{}", g.name)).await.unwrap());
    }
    c.run(LoopKind::Pass).await;
    let moves = world.moves().await;
    let id_of = |name: &str| moves.iter().find(|m| m.group == name).unwrap().id;

    let cancelled = end_by_operator(&c, world.site.id, id_of(&first.name), EndMove::Cancel).await.unwrap();
    assert_eq!(cancelled.state, MoveState::Cancelled);
    assert!(cancelled.note.contains("alice"));
    let row = world.store.get_group(world.site.id, &first.name).await.unwrap().unwrap();
    assert_eq!((row.backend_id, row.moving.as_str()), (Some(be1.id), ""), "the group stays on its source");

    let forced = end_by_operator(&c, world.site.id, id_of(&second.name), EndMove::Force).await.unwrap();
    assert_eq!(forced.state, MoveState::Forced);
    let row = world.store.get_group(world.site.id, &second.name).await.unwrap().unwrap();
    assert_eq!((row.backend_id, row.moving.as_str()), (Some(be2.id), ""));
    assert!(
        end_by_operator(&c, world.site.id, id_of(&second.name), EndMove::Force).await.is_err(),
        "an ended move cannot be forced again"
    );

    // A started move cannot be cancelled: its users are split between the backends.
    world.fault(1, Faults::default()).await;
    let third = world
        .groups()
        .await
        .into_iter()
        .find(|g| g.backend_id == Some(be1.id) && g.moving.is_empty() && g.name != first.name)
        .unwrap();
    assert!(world.store.start_group_move(world.site.id, &third.name, be2.id, "op-third").await.unwrap());
    c.run(LoopKind::Pass).await;
    world.ticks(2).await;
    c.run(LoopKind::Supervision).await;
    let started = world.moves().await.into_iter().find(|m| m.moving_token == "op-third").unwrap();
    assert_eq!(started.state, MoveState::Started);
    let refused = end_by_operator(&c, world.site.id, started.id, EndMove::Cancel).await.unwrap_err();
    assert!(matches!(refused, domain::WriteError::Refused(_)), "{refused}");
    assert!(refused.to_string().contains("Force it instead"), "{refused}");
}

/// What the operators' force and cancel buttons run: the one path that ends moves.
async fn end_by_operator(
    c: &Controller,
    site_id: uuid::Uuid,
    move_id: uuid::Uuid,
    how: EndMove,
) -> Result<MoveRecord, domain::WriteError> {
    let active = c.moves().active(site_id, move_id).await?;
    c.moves().end(&active, how, &format!("{} by operator alice", how.state().as_str())).await
}

#[tokio::test]
async fn an_operators_move_from_the_ui_is_supervised_at_once() {
    let world = World::new(600).await;
    let c = world.leading("a").await;
    let metrics = Arc::new(SimulatorMetrics::new(world.running.sim.clone()));
    let services = Services::new(world.ports(metrics), c.clone());
    let (be1, be2) = (world.backend(1).await, world.backend(2).await);
    let group = world.groups().await.into_iter().find(|g| g.backend_id == Some(be1.id)).unwrap();
    let ops = services.group_ops(&palomar_core::services::Caller::trusted_cli()).unwrap();
    ops.start_move(world.site.id, &group.name, be2.id).await.unwrap();
    let active = world.store.list_active_moves(world.site.id).await.unwrap();
    assert_eq!(active.len(), 1, "recorded before any pass");
    assert_eq!(
        (&active[0].initiated_by, active[0].source_host.as_str()),
        (&Initiator::Operator("cli".into()), world.host(1).as_str())
    );
    c.run(LoopKind::Pass).await;
    assert_eq!(world.moves().await.len(), 1, "the pass does not adopt it a second time");
    world.ticks(30).await;
    c.run(LoopKind::Supervision).await;
    assert_eq!(world.moves().await[0].state, MoveState::Finished);
}

/// A pass that finds a move between its GeoDB write and its record adopts it; the record that
/// follows is then refused, so the move is recorded and supervised once.
#[tokio::test]
async fn a_move_adopted_before_it_is_recorded_is_recorded_once() {
    let world = World::new(600).await;
    let c = world.leading("a").await;
    let (group, be1, be2) = world.move_externally("3f0c1d4e-9b6a-4c2e-8f4d-2a7b9c1e5d60").await;
    c.run(LoopKind::Pass).await;
    let late = MoveRecord::initiated(domain::moves::NewMove {
        site_id: world.site.id,
        group: &group.name,
        token: "3f0c1d4e-9b6a-4c2e-8f4d-2a7b9c1e5d60",
        source: Some(domain::moves::MoveEnd { id: be1.id, host: be1.host.clone() }),
        destination: domain::moves::MoveEnd { id: be2.id, host: be2.host.clone() },
        initiator: Initiator::Operator("cli".into()),
        decision_id: None,
        users_total: 0,
        now: world.clock_now(),
    });
    assert!(!world.store.insert_move(&late).await.unwrap(), "already recorded by the pass");
    assert_eq!(world.moves().await.len(), 1);
    assert_eq!(world.store.list_active_moves(world.site.id).await.unwrap().len(), 1);
}
