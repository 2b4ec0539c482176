//! Site health: the controller marks how its proxies reach the other sites, and takes its own
//! site offline when none of its backends can take users, and back when one can.

use super::*;
use palomar_core::{
    controller::site_health::SITE_STATE_SECTION,
    ports::{SettingTable, SiteTable, StatTables},
};

async fn site_status(world: &World) -> SiteStatus {
    world.store.get_site(world.site.id).await.unwrap().unwrap().status
}

fn of_site_health(decisions: &[DecisionRecord]) -> Vec<&DecisionRecord> {
    decisions.iter().filter(|d| d.decision.feature == Feature::SiteHealth).collect()
}

/// A site with site health on whose backends all went down, after the controller's pass.
async fn site_taken_offline() -> (World, Arc<Controller>) {
    let world = World::new(600).await;
    world.set_feature("site_health", FeatureState::On).await;
    for n in 1..=3 {
        world.fault(n, Faults::down()).await;
    }
    world.ticks(30).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    (world, c)
}

#[tokio::test]
async fn a_site_none_of_whose_backends_takes_users_goes_offline_and_comes_back_after_the_cool_time() {
    let (world, c) = site_taken_offline().await;
    assert_eq!(site_status(&world).await, SiteStatus::Offline, "{:?}", world.decisions().await);
    let decisions = world.decisions().await;
    let down = of_site_health(&decisions);
    assert_eq!(down.len(), 1, "{decisions:?}");
    assert_eq!((down[0].decision.reason, down[0].outcome), (Reason::NoBackendTakesUsers, Outcome::Applied));
    let notes = world.store.list_settings(SITE_STATE_SECTION, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(notes.len(), 1, "the controller notes that it took its site offline");

    // Healed: within the cool time the site stays offline and says why; after it, online.
    for n in 1..=3 {
        world.fault(n, Faults::default()).await;
    }
    world.ticks(60).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(site_status(&world).await, SiteStatus::Offline);
    assert!(world.decisions().await.iter().any(|d| d.decision.reason == Reason::SiteCooling));
    world.ticks(600).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(site_status(&world).await, SiteStatus::Online, "{:?}", world.decisions().await);
    assert!(world.store.list_settings(SITE_STATE_SECTION, PageRequest::first(10)).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn an_operators_offline_or_standby_site_is_left_alone() {
    let world = World::new(600).await;
    world.set_feature("site_health", FeatureState::On).await;
    for status in [SiteStatus::Offline, SiteStatus::Standby] {
        let site = Site { status: status.clone(), ..world.site.clone() };
        world.store.put_site(&site).await.unwrap();
        let c = world.leading("a").await;
        c.run(LoopKind::Pass).await;
        assert_eq!(site_status(&world).await, status, "only the controller's own offline is undone");
    }
}

#[tokio::test]
async fn a_cut_link_marks_the_other_site_unreachable_and_a_restored_one_reachable_again() {
    let world = World::with_sites(2, 1200, |s| s.cross_site_percent = 50.0).await;
    world.set_feature("site_health", FeatureState::On).await;
    let sites = world.store.list_sites(PageRequest::first(10)).await.unwrap().items;
    let other = sites.into_iter().find(|s| s.id != world.site.id).unwrap();
    let reachable = || async {
        let rows = world.store.list_reachability(PageRequest::first(10)).await.unwrap().items;
        rows.into_iter().find(|r| r.src_site_id == world.site.id && r.dest_site_id == other.id).map(|r| r.reachable)
    };
    let c = world.leading("a").await;
    world.ticks(30).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(reachable().await, Some(1), "written once there are sessions: {:?}", world.decisions().await);

    world.running.sim.set_link(&world.site.name, &other.name, true).unwrap();
    world.ticks(60).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(reachable().await, Some(0), "{:?}", world.decisions().await);
    let decisions = world.decisions().await;
    assert!(of_site_health(&decisions).iter().any(|d| d.decision.reason == Reason::SiteUnreachable));

    // The proxies now route around it, so no session tells that the link is back: after the
    // cool time it is tried again.
    world.running.sim.set_link(&world.site.name, &other.name, false).unwrap();
    world.ticks(660).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(reachable().await, Some(1), "{:?}", world.decisions().await);
    // The other site's own row is never written by this controller.
    let rows = world.store.list_reachability(PageRequest::first(10)).await.unwrap().items;
    assert!(rows.iter().all(|r| r.src_site_id == world.site.id), "{rows:?}");
}

#[tokio::test]
async fn an_offline_the_operators_set_after_the_controllers_is_theirs() {
    let (world, c) = site_taken_offline().await;
    assert_eq!(site_status(&world).await, SiteStatus::Offline);
    // Healed, an operator brings the site back by hand before the controller does, then later
    // takes it offline for maintenance.
    for n in 1..=3 {
        world.fault(n, Faults::default()).await;
    }
    for status in [SiteStatus::Online, SiteStatus::Offline] {
        let site = Site { status: status.clone(), ..world.site.clone() };
        world.store.put_site(&site).await.unwrap();
        world.ticks(5).await;
        lead(&c).await;
        c.run(LoopKind::Pass).await;
        assert_eq!(site_status(&world).await, status);
    }
    world.ticks(700).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(site_status(&world).await, SiteStatus::Offline, "the operators' offline stays");
}

#[tokio::test]
async fn the_controller_taking_its_site_offline_ends_the_sites_force_move() {
    use domain::force_move::{ForceMove, ForceMoveKind, ForceMoveScope, FORCE_MOVE_SECTION};
    let world = World::new(600).await;
    world.set_feature("site_health", FeatureState::On).await;
    let at = chrono::DateTime::UNIX_EPOCH;
    let op = ForceMove {
        kind: ForceMoveKind::ForceMove,
        scope: ForceMoveScope::Site,
        site_id: world.site.id,
        backend_id: None,
        id: "before-the-outage".into(),
        percent: 30,
        destinations: vec![uuid::Uuid::from_u128(99)],
        destination_groups: vec![],
        source_status: "online".into(),
        users_at_start: None,
        started_at: at,
        updated_at: at,
        started_by: "admin".into(),
    };
    world.store.put_setting(&op.to_setting()).await.unwrap();
    for n in 1..=3 {
        world.fault(n, Faults::down()).await;
    }
    world.ticks(30).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    assert_eq!(site_status(&world).await, SiteStatus::Offline);
    let left = world.store.list_settings(FORCE_MOVE_SECTION, PageRequest::first(10)).await.unwrap().items;
    assert!(left.is_empty(), "a status change ends the force-move, so it stays ended once back online: {left:?}");
}
