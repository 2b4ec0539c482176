//! Replays of the controller's own record (docs/replay.md): the controller runs its loops over
//! scripted histories on the simulator; a replay of the window with the settings in force
//! pairs with every decision it recorded, and changed settings change what they should.

use super::*;
use domain::replay::{ReplayResult, SettingOverride, Side};
use palomar_core::services::{Caller, ReplayAsk};

/// Runs the loops as the scheduler does over `seconds` of simulated time: the lease, the
/// reachability probe and supervision every 10 s, a pass every minute.
async fn live(world: &World, c: &Controller, seconds: u64) {
    for _ in 0..seconds {
        world.ticks(1).await;
        let now = world.clock_now().timestamp();
        if now % 10 == 0 {
            c.run(LoopKind::Leader).await;
            c.run(LoopKind::Reachability).await;
            c.run(LoopKind::Supervision).await;
        }
        if now % 60 == 0 {
            c.run(LoopKind::Pass).await;
        }
    }
}

/// Replays the site from `from` to now with the controller's settings, `change`d.
async fn replay(
    world: &World,
    c: &Arc<Controller>,
    from: chrono::DateTime<Utc>,
    change: impl FnOnce(&mut ReplayAsk),
) -> ReplayResult {
    let metrics: Arc<dyn Metrics> = Arc::new(SimulatorMetrics::new(world.running.sim.clone()));
    let services = Services::new(world.ports(metrics), c.clone());
    let replays = services.replays(&Caller::trusted_cli()).unwrap();
    let mut ask = ReplayAsk {
        from,
        to: world.clock_now(),
        settings: replays.live_settings().clone(),
        modes: BTreeMap::new(),
        overrides: Vec::new(),
    };
    change(&mut ask);
    replays.prepare(&world.site, ask).await.unwrap().run_to_end().await.unwrap()
}

fn set(name: &str, value: &str) -> SettingOverride {
    SettingOverride::new(name, value).unwrap()
}

fn acting(decisions: &[DecisionRecord], pick: impl Fn(&Action) -> bool) -> Vec<&DecisionRecord> {
    decisions.iter().filter(|d| d.decision.action.as_ref().is_some_and(&pick)).collect()
}

/// A fidelity replay pairs every acting decision of the record, and decides nothing else.
fn agrees_in_full(result: &ReplayResult) {
    assert!(result.agreement.matched > 0, "nothing to compare: {result:#?}");
    assert_eq!(result.agreement.percent(), 100.0, "{:#?}", result.agreement.disagreements);
}

#[tokio::test]
async fn a_backend_failing_for_20_minutes_replays_exactly_and_a_raised_ratio_keeps_it_online() {
    let world = World::new(600).await;
    world.set_feature("host_failure", FeatureState::On).await;
    let c = world.leading("a").await;
    let from = world.clock_now();
    live(&world, &c, 300).await;
    let failing = Faults {
        login_fail_percent: 40.0,
        delivery_fail_percent: 40.0,
        doveadm: palomar_sim::DoveadmMode::Unreachable,
        ..Faults::default()
    };
    world.fault(1, failing).await;
    live(&world, &c, 20 * 60).await;
    world.fault(1, Faults::default()).await;
    live(&world, &c, 15 * 60).await;
    let recorded = world.decisions().await;
    let be1 = world.backend(1).await.id;
    assert_eq!(acting(&recorded, |a| *a == Action::SetOffline { backend: be1 }).len(), 1, "{recorded:#?}");
    assert_eq!(acting(&recorded, |a| *a == Action::SetOnline { backend: be1 }).len(), 1, "{recorded:#?}");

    let result = replay(&world, &c, from, |_| {}).await;
    agrees_in_full(&result);
    assert_eq!(result.summary.recorded.set_offline, 1);
    assert_eq!(result.summary.replayed.offline_secs, result.summary.recorded.offline_secs);

    let raised = replay(&world, &c, from, |ask| {
        ask.settings.host_failure.ratio = 0.7;
        ask.overrides = vec![set("HOST_FAILURE_RATIO", "0.7")];
    })
    .await;
    let offline: Vec<_> =
        raised.decisions.iter().filter(|d| matches!(d.decision.action, Some(Action::SetOffline { .. }))).collect();
    assert!(offline.is_empty(), "{offline:#?}");
    assert!(raised
        .agreement
        .disagreements
        .iter()
        .any(|d| d.side == Side::Recorded && d.feature == Feature::HostFailure));
    assert_eq!(raised.summary.replayed.offline_secs, 0);
}

#[tokio::test]
async fn a_slowly_heating_backend_replays_exactly_and_a_shorter_cool_time_adds_a_move() {
    let world = World::new(600).await;
    world.set_feature("load_balance", FeatureState::On).await;
    let c = world.leading("a").await;
    let from = world.clock_now();
    live(&world, &c, 120).await;
    for step in 0..6 {
        let level = 0.6 + 0.07 * f64::from(step);
        let heat = Faults { cpu: Some(level), memused: Some(level), metacache: Some(level), ..Faults::default() };
        world.fault(1, heat).await;
        live(&world, &c, 5 * 60).await;
    }
    let recorded = world.decisions().await;
    let moves = acting(&recorded, |a| matches!(a, Action::MoveGroup { .. }));
    assert!(!moves.is_empty(), "the hot backend sheds a group: {recorded:#?}");

    let result = replay(&world, &c, from, |_| {}).await;
    agrees_in_full(&result);

    let shorter = replay(&world, &c, from, |ask| {
        ask.settings.load_balance.host_cool_time = Duration::from_secs(120);
        ask.settings.load_balance.group_cool_time = Duration::from_secs(120);
        ask.overrides = vec![
            set("HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS", "120"),
            set("HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS", "120"),
        ];
    })
    .await;
    let replayed =
        shorter.decisions.iter().filter(|d| matches!(d.decision.action, Some(Action::MoveGroup { .. }))).count();
    assert!(replayed > moves.len(), "{} recorded moves, {replayed} with shorter cool times", moves.len());
    assert!(shorter.agreement.disagreements.iter().any(|d| d.side == Side::Replayed));
}

#[tokio::test]
async fn a_stalled_move_replays_exactly_and_a_longer_start_timeout_forces_it_later() {
    let world = World::new(600).await;
    world.set_feature("group_move_timeouts", FeatureState::On).await;
    let c = world.leading("a").await;
    let from = world.clock_now();
    live(&world, &c, 60).await;
    world.fault(1, Faults { stall_moves: true, ..Faults::default() }).await;
    world.move_externally("operator-move").await;
    live(&world, &c, 10 * 60).await;
    let recorded = world.decisions().await;
    let forced = acting(&recorded, |a| matches!(a, Action::MoveGroup { .. }));
    assert_eq!(forced.len(), 1, "forced at the start timeout: {recorded:#?}");

    let result = replay(&world, &c, from, |_| {}).await;
    agrees_in_full(&result);
    assert_eq!(result.summary.replayed.forced, 1);

    let longer = replay(&world, &c, from, |ask| {
        ask.settings.supervision.start_timeout = Duration::from_secs(300);
        ask.overrides = vec![set("GROUP_MOVE_START_TIMEOUT_SECS", "300")];
    })
    .await;
    let later: Vec<_> = longer.decisions.iter().filter(|d| d.decision.feature == Feature::GroupMoveTimeouts).collect();
    assert_eq!(later.len(), 1, "{later:#?}");
    assert!(later[0].at - forced[0].at >= chrono::Duration::seconds(200), "{} then {}", forced[0].at, later[0].at);
}

#[tokio::test]
async fn with_the_settings_in_force_a_replay_never_decides_what_the_record_lacks() {
    // Seeded schedules of faults with every replayed feature on: failing backends with their
    // doveadm API down or up, hot ones, stalled moves. The history is complete (the
    // simulator's), so nothing may stand on the replayed side alone.
    let mut paired = 0;
    for seed in [3_u64, 17, 101] {
        let world = World::new(600).await;
        for feature in ["host_failure", "load_balance", "evacuation", "group_move_timeouts"] {
            world.set_feature(feature, FeatureState::On).await;
        }
        let c = world.leading("a").await;
        let from = world.clock_now();
        let mut state = seed;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        for _ in 0..6 {
            let backend = 1 + next(3) as usize;
            let faults = match next(4) {
                0 => Faults::default(),
                1 => Faults {
                    login_fail_percent: 50.0,
                    doveadm: palomar_sim::DoveadmMode::Unreachable,
                    ..Faults::default()
                },
                2 => Faults::hot(),
                _ => Faults { stall_moves: true, login_fail_percent: 30.0, ..Faults::default() },
            };
            world.fault(backend, faults).await;
            live(&world, &c, 5 * 60).await;
        }
        let result = replay(&world, &c, from, |_| {}).await;
        let alone: Vec<_> = result.agreement.disagreements.iter().filter(|d| d.side == Side::Replayed).collect();
        assert!(alone.is_empty(), "seed {seed}: {alone:#?}");
        println!("seed {seed}: agreement {:.1} % ({} paired)", result.agreement.percent(), result.agreement.matched);
        paired += result.agreement.matched;
    }
    assert!(paired > 0, "the schedules made the controller decide something");
}
