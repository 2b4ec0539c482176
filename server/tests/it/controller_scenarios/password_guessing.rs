//! Password guessing never counts against a healthy backend: wherever the password is checked,
//! the controller with `host_failure` on takes nothing offline and moves nothing, and its
//! decision says why. Should a proxy count wrong passwords anyway (a filter of every error),
//! the backend still answers its reachability probe, so it stays online.

use domain::{loops::LoopKind, planning::DecisionInputs};
use palomar_sim::{FailureFilter, PasswordCheck};

use super::*;

/// Half of every login to be1's users brings a wrong password, for a minute of traffic.
async fn guessed(password_check: PasswordCheck, failure_filter: FailureFilter) -> World {
    let world = World::with_traffic(600, |s| {
        s.password_check = password_check;
        s.failure_filter = failure_filter;
    })
    .await;
    world.set_feature("host_failure", FeatureState::On).await;
    world.fault(1, Faults { bad_password_percent: 50.0, ..Faults::default() }).await;
    world.ticks(60).await;
    world
}

async fn nothing_offline_nothing_moved(world: &World) {
    for n in 1..=3 {
        assert_eq!(world.backend(n).await.status.as_str(), "online", "be{n}");
    }
    assert!(world.moves().await.is_empty(), "{:?}", world.moves().await);
}

#[tokio::test]
async fn wrong_passwords_refused_by_the_proxy_are_never_counted() {
    let world = guessed(PasswordCheck::Proxy, FailureFilter::BackendTrouble).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    nothing_offline_nothing_moved(&world).await;
    let decisions = world.decisions().await;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    let d = &decisions[0].decision;
    assert_eq!((d.feature, &d.action), (Feature::HostFailure, &None));
    assert!(d.summary.starts_with("no backend is failing: 3 of 3 online judged"), "{}", d.summary);
    let DecisionInputs::HostFailureOverview(inputs) = &d.inputs else { panic!("{d:?}") };
    assert_eq!(inputs.worst_failure_ratio, 0.0);
}

#[tokio::test]
async fn wrong_passwords_refused_by_the_backend_are_filtered_at_the_proxy() {
    let world = guessed(PasswordCheck::Backend, FailureFilter::BackendTrouble).await;
    let traffic = world.running.sim.settings().clone();
    assert_eq!(traffic.password_check, PasswordCheck::Backend);
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    nothing_offline_nothing_moved(&world).await;
    let decisions = world.decisions().await;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert!(decisions[0].decision.summary.starts_with("no backend is failing"), "{decisions:?}");

    // A backend that then goes down is still set offline, with the signals it rests on.
    world.fault(1, Faults { bad_password_percent: 50.0, ..Faults::down() }).await;
    world.ticks(30).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "offline", "{:#?}", world.decisions().await);
    let decisions = world.decisions().await;
    let offline = of_feature(&decisions, "host_failure");
    assert_eq!(offline.len(), 1, "{decisions:?}");
    assert!(matches!(offline[0].decision.action, Some(Action::SetOffline { .. })));
    let DecisionInputs::HostFailure(inputs) = &offline[0].decision.inputs else { panic!("{offline:?}") };
    assert!(!inputs.doveadm_reachable);
    assert!(offline[0].decision.summary.contains("its doveadm API does not answer"), "{:?}", offline[0].decision);
}

#[tokio::test]
async fn a_filter_that_counts_wrong_passwords_cannot_take_a_reachable_backend_offline() {
    let world = guessed(PasswordCheck::Backend, FailureFilter::AnyError).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online", "its doveadm API answers");
    let decisions = world.decisions().await;
    let acted = of_feature(&decisions, "host_failure");
    assert_eq!(acted.len(), 1, "{decisions:?}");
    let d = &acted[0].decision;
    let DecisionInputs::HostFailure(inputs) = &d.inputs else { panic!("{d:?}") };
    assert!(inputs.failure_ratio > 0.3, "the guesses were counted: {d:?}");
    assert!(inputs.doveadm_reachable);
    assert!(matches!(d.action, Some(Action::MoveGroup { .. })), "at most one group per cool time: {d:?}");
    world.ticks(60).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(world.backend(1).await.status.as_str(), "online");
    assert_eq!(world.moves().await.len(), 1, "the cool time holds the next move back");
}
