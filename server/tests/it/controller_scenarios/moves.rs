//! Move supervision (timeouts, progress), drains and group-size balancing.

use super::*;

#[tokio::test]
async fn a_move_that_never_starts_is_forced_after_the_start_timeout() {
    let world = World::new(600).await;
    world.set_feature("group_move_timeouts", FeatureState::On).await;
    world.fault(1, Faults { stall_moves: true, ..Faults::default() }).await;
    let (group, _, be2) = world.move_externally("doveadm-move-1").await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let adopted = world.moves().await;
    assert_eq!((adopted.len(), &adopted[0].initiated_by), (1, &Initiator::External));
    world.ticks(30).await;
    c.run(LoopKind::Supervision).await;
    assert_eq!(world.moves().await[0].state, MoveState::Initiated, "inside the start timeout");
    world.ticks(31).await;
    c.run(LoopKind::Supervision).await;
    let m = &world.moves().await[0];
    assert_eq!(m.state, MoveState::Forced, "{m:?}");
    assert!(m.note.contains("not started"), "{}", m.note);
    let row = world.store.get_group(world.site.id, &group.name).await.unwrap().unwrap();
    assert_eq!((row.backend_id, row.moving.as_str()), (Some(be2.id), ""));
    let forced = of_feature(&world.decisions().await, "group_move_timeouts").len();
    assert_eq!(forced, 1);
}

#[tokio::test]
async fn in_dryrun_a_timed_out_move_is_only_reported() {
    let world = World::new(600).await;
    world.set_feature("group_move_timeouts", FeatureState::Dryrun).await;
    world.fault(1, Faults { stall_moves: true, ..Faults::default() }).await;
    let (group, ..) = world.move_externally("doveadm-move-2").await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    world.ticks(61).await;
    c.run(LoopKind::Supervision).await;
    assert!(world.moves().await[0].state.is_active());
    let dry = of_feature(&world.decisions().await, "group_move_timeouts").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!((dry.len(), dry[0].outcome), (1, Outcome::Dry));
    let row = world.store.get_group(world.site.id, &group.name).await.unwrap().unwrap();
    assert_eq!(row.moving, "doveadm-move-2", "nothing written");
}

#[tokio::test]
async fn a_slow_move_is_forced_when_its_trend_misses_the_finish_timeout() {
    let world = World::new(3000).await;
    world.set_feature("group_move_timeouts", FeatureState::On).await;
    world.fault(1, Faults { move_rate_factor: 0.05, ..Faults::default() }).await;
    world.move_externally("slow-move").await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    world.ticks(20).await;
    c.run(LoopKind::Supervision).await;
    world.ticks(20).await;
    c.run(LoopKind::Supervision).await;
    let m = world.moves().await.into_iter().next().unwrap();
    assert_eq!(m.state, MoveState::Forced, "{m:?}");
    assert!(m.note.contains("past the finish timeout"), "{}", m.note);
    assert!(m.users_moved > 0 && m.users_moved < m.users_total);
}

#[tokio::test]
async fn a_normal_move_finishes_with_its_progress_recorded() {
    let world = World::new(600).await;
    world.set_feature("group_move_timeouts", FeatureState::On).await;
    world.move_externally("ok-move").await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    world.ticks(3).await;
    c.run(LoopKind::Supervision).await;
    let running = world.moves().await.into_iter().next().unwrap();
    assert_eq!(running.state, MoveState::Started);
    assert!(running.users_moved > 0 && running.rate > 0.0 && running.eta.is_some(), "{running:?}");
    world.ticks(60).await;
    c.run(LoopKind::Supervision).await;
    let done = world.moves().await.into_iter().next().unwrap();
    assert_eq!(done.state, MoveState::Finished, "{done:?}");
    assert_eq!(done.percent(), 100.0);
    assert!(world.store.list_active_moves(world.site.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_drained_backend_empties_group_by_group() {
    let world = World::new(600).await;
    world.set_feature("evacuation", FeatureState::On).await;
    world.set_feature("group_move_timeouts", FeatureState::On).await;
    let mut be1 = world.backend(1).await;
    be1.load_factor = 0;
    world.store.put_backend(&be1).await.unwrap();
    let owned = world.groups().await.iter().filter(|g| g.backend_id == Some(be1.id)).count();
    assert!(owned >= 2);
    let c = world.leading("a").await;
    for _ in 0..(owned * 4) {
        c.run(LoopKind::Pass).await;
        let moving = world.groups().await.iter().filter(|g| !g.moving.is_empty()).count();
        assert!(moving <= 1, "one group at a time");
        world.ticks(30).await;
        c.run(LoopKind::Supervision).await;
    }
    let left = world.groups().await.iter().filter(|g| g.backend_id == Some(be1.id)).count();
    assert_eq!(left, 0, "{:?}", world.decisions().await.iter().map(|d| &d.decision.summary).collect::<Vec<_>>());
    let decisions = world.decisions().await;
    let drains = of_feature(&decisions, "evacuation")
        .into_iter()
        .filter(|d| matches!(d.decision.action, Some(Action::MoveGroup { .. })))
        .count();
    assert_eq!(drains, owned);
}

#[tokio::test]
async fn group_balance_plans_once_a_day_and_moves_within_the_caps() {
    let world = World::new(1200).await;
    world.set_feature("group_balance", FeatureState::On).await;
    // Make one group big: move users of its neighbours on the same backend into it.
    let be1 = world.backend(1).await;
    let mine: Vec<String> =
        world.groups().await.into_iter().filter(|g| g.backend_id == Some(be1.id)).map(|g| g.name).collect();
    assert!(mine.len() >= 2);
    let users = world.all_users().await;
    let mut shifted = 0;
    for (name, _) in users.iter().filter(|(_, g)| mine[1..].contains(g)).take(60) {
        let mut u = world.store.get_user(name).await.unwrap().unwrap();
        u.group_name = mine[0].clone();
        world.store.put_user(&u).await.unwrap();
        shifted += 1;
    }
    assert!(shifted > 30);
    world.take_census().await;
    let c = world.leading("a").await;
    c.run(LoopKind::GroupBalancePlan).await;
    let plan = world.store.plan_summary(&world.site.name).await.unwrap().unwrap();
    assert!(plan.total > 0 && plan.total <= 20 * (mine.len() as u64 / 2), "{plan:?}");
    let decisions = world.decisions().await;
    let planned = of_feature(&decisions, "group_balance");
    assert!(!planned.is_empty());
    // One decision per backend, counting its transfers and users.
    let mut backends = std::collections::BTreeSet::new();
    let mut decided = 0;
    for d in &planned {
        let Some(Action::BalanceGroups { backend, transfers, users }) = d.decision.action else { panic!("{d:?}") };
        assert!(backends.insert(backend), "one decision per backend: {planned:?}");
        assert!(users <= 20 * transfers, "never above GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS");
        decided += users;
    }
    assert!(decided >= plan.total, "the decisions count every planned user move: {decided} < {}", plan.total);
    // Planned once a day.
    c.run(LoopKind::GroupBalancePlan).await;
    assert_eq!(world.store.plan_summary(&world.site.name).await.unwrap().unwrap().created_at, plan.created_at);

    let before = world.all_users().await;
    c.run(LoopKind::GroupBalancePass).await;
    let after = world.all_users().await;
    let changed = before.iter().filter(|(name, group)| after.get(*name) != Some(group)).count();
    assert!(changed > 0 && changed <= 15, "at most GROUP_BALANCE_MAX_USER_MOVES_PER_PASS: {changed}");
    let remaining = world.store.plan_summary(&world.site.name).await.unwrap().unwrap().remaining;
    assert_eq!(remaining, plan.total - plan.total.min(15), "a pass takes at most 15 entries");
    let pass = world.decisions().await.into_iter().find(|d| d.decision.summary.starts_with("pass:")).unwrap();
    let DecisionInputs::GroupBalancePass(inputs) = &pass.decision.inputs else { panic!("{pass:?}") };
    assert_eq!(inputs.moved as usize, changed, "{pass:?}");
    assert_eq!(pass.decision.reason, Reason::PlannedUsersMoved);
}

#[tokio::test]
async fn groups_whose_alternative_cannot_take_users_get_another() {
    let world = World::new(600).await;
    world.set_feature("evacuation", FeatureState::On).await;
    let be2 = world.backend(2).await;
    let pointing = |groups: &[UserGroup]| groups.iter().filter(|g| g.alt_backend_id == Some(be2.id)).count();
    assert!(pointing(&world.groups().await) > 0, "the seeding gives be2 as some groups' alternative");
    assert!(world
        .store
        .set_backend_status(world.site.id, be2.id, &be2.status, &domain::geodb::BackendStatus::Offline, "test")
        .await
        .unwrap());
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let groups = world.groups().await;
    assert_eq!(pointing(&groups), 0, "{:?}", world.decisions().await);
    assert!(groups.iter().all(|g| g.alt_backend_id.is_some() && g.alt_backend_id != g.backend_id));
    let decisions = world.decisions().await;
    let repairs: Vec<_> = decisions.iter().filter(|d| d.decision.reason == Reason::AltBackendUnusable).collect();
    assert!(!repairs.is_empty() && repairs.iter().all(|d| d.outcome == Outcome::Applied), "{repairs:?}");
}
