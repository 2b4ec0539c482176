//! Group and user moves as the simulated backends run them.

use super::*;

/// A group's backend, that backend's host and another backend's host, to move the group to.
async fn move_hosts(world: &World, group: &str) -> (uuid::Uuid, String, String) {
    let source = world.group(group).await.backend_id.unwrap();
    let source_host = world.sim().backends().into_iter().find(|b| b.id == source).unwrap().host;
    let destination_host = (1..=3).map(|n| world.host(n)).find(|h| *h != source_host).unwrap();
    (source, source_host, destination_host)
}

/// Starts moving `group` as doveadm does: `clusterGroupMove`, then an access on the source.
async fn start_move(world: &World, group: &str, source_host: &str, destination_host: &str) {
    world
        .run(
            source_host,
            "clusterGroupMove",
            json!({"site": world.site.name, "group": group, "host": destination_host}),
        )
        .await
        .unwrap();
    world.run(source_host, "clusterGroupAccess", json!({"group": group})).await.unwrap();
}

#[tokio::test]
async fn a_group_move_runs_on_access_and_finishes() {
    let world = World::new(1000, fast()).await;
    let before = world.group("default-1").await;
    let source = before.backend_id.unwrap();
    let destination_host = world.host(3);
    let destination = world.backend_id(&destination_host).await;
    assert_ne!(source, destination);
    world
        .run(
            &world.host(1),
            "clusterGroupMove",
            json!({"site": world.site.name, "group": "default-1", "host": destination_host}),
        )
        .await
        .unwrap();
    let moving = world.group("default-1").await;
    assert!(!moving.moving.is_empty());
    assert_eq!(moving.alt_backend_id, Some(destination));
    assert_eq!(moving.backend_id, Some(source), "users still go to the source");

    let source_host = world.sim().backends().into_iter().find(|b| b.id == source).unwrap().host;
    world.run(&source_host, "clusterGroupAccess", json!({"group": "default-1"})).await.unwrap();
    let progress = world.sim().move_progress("default-1").expect("the source started moving");
    assert_eq!(progress.users_total, 100, "1000 users over 10 groups");
    world.ticks(2, Duration::from_secs(1)).await;
    let status = world
        .run(&source_host, "clusterGroupStatus", json!({"site": world.site.name, "group": "default-1"}))
        .await
        .unwrap();
    assert_eq!(status[0].get("users_moved"), Some(&json!("40")), "20 users per second for 2 s");
    assert_eq!(status[0].get("users_total"), Some(&json!("100")));

    world.ticks(4, Duration::from_secs(1)).await;
    let after = world.group("default-1").await;
    assert_eq!(after.backend_id, Some(destination));
    assert!(after.moving.is_empty());
    assert!(after.alt_backend_id.is_some_and(|alt| alt != destination), "a new alternative backend");
    assert!(world.sim().move_progress("default-1").is_none());
}

// Found by the fault tests: a move the controller forced (the group written to its
// destination, `moving` cleared) while the source was still moving users was later "finished"
// by the simulator, which moved the group once more, to its new alternative.
#[tokio::test]
async fn a_move_ended_by_someone_else_is_dropped_not_finished() {
    let world = World::new(1000, fast()).await;
    let (source, source_host, destination_host) = move_hosts(&world, "default-4").await;
    let destination = world.backend_id(&destination_host).await;
    start_move(&world, "default-4", &source_host, &destination_host).await;
    assert!(world.sim().move_progress("default-4").is_some(), "the source is moving users");
    // A force, as the controller writes it: the destination, `moving` cleared, the source as
    // the alternative.
    let moving = world.group("default-4").await;
    let forced =
        UserGroup { backend_id: Some(destination), alt_backend_id: Some(source), moving: String::new(), ..moving };
    world.store.put_group(&forced).await.unwrap();
    world.ticks(6, Duration::from_secs(1)).await;
    let after = world.group("default-4").await;
    assert_eq!(after.backend_id, Some(destination), "the group stays where the force put it");
    assert_eq!(after.alt_backend_id, Some(source));
    assert!(world.sim().move_progress("default-4").is_none(), "the move is dropped");
}

#[tokio::test]
async fn a_stalled_backend_never_starts_a_move() {
    let world = World::new(1000, fast()).await;
    let (source, source_host, destination_host) = move_hosts(&world, "default-2").await;
    world.sim().set_faults(&source_host, Faults { stall_moves: true, ..Faults::default() }).unwrap();
    start_move(&world, "default-2", &source_host, &destination_host).await;
    world.ticks(20, Duration::from_secs(1)).await;
    assert!(world.sim().move_progress("default-2").is_none(), "never started");
    let group = world.group("default-2").await;
    assert!(!group.moving.is_empty(), "still moving");
    assert_eq!(group.backend_id, Some(source));
}

#[tokio::test]
async fn a_move_whose_source_goes_offline_finishes_at_once() {
    let world = World::new(1000, SimSettings { user_move_rate: 0.001, ..fast() }).await;
    let (_, source_host, destination_host) = move_hosts(&world, "default-3").await;
    let destination = world.backend_id(&destination_host).await;
    start_move(&world, "default-3", &source_host, &destination_host).await;
    world.ticks(1, Duration::from_secs(1)).await;
    assert!(!world.group("default-3").await.moving.is_empty(), "slow move still running");
    world.set_status(&source_host, "offline").await;
    world.sim().refresh_topology().await.unwrap();
    world.run(&destination_host, "clusterGroupAccess", json!({"group": "default-3"})).await.unwrap();
    let group = world.group("default-3").await;
    assert!(group.moving.is_empty(), "finished at the next access");
    assert_eq!(group.backend_id, Some(destination));
}

#[tokio::test]
async fn direct_moves_and_user_moves() {
    let world = World::new(100, fast()).await;
    let target = world.host(2);
    world
        .run(
            &target,
            "clusterGroupMove",
            json!({"site": world.site.name, "group": "default-4", "host": target, "direct": true}),
        )
        .await
        .unwrap();
    let group = world.group("default-4").await;
    assert_eq!(group.backend_id, Some(world.backend_id(&target).await));
    assert!(group.moving.is_empty());

    let user = "user0000007@example.net";
    world.run(&target, "clusterUserMove", json!({"user": user, "group": "default-9"})).await.unwrap();
    let row = world.store.get_user(user).await.unwrap().unwrap();
    assert_eq!(row.moving_group_name, "default-9");
    let access = world.run(&target, "clusterUserAccess", json!({"user": user})).await.unwrap();
    assert_eq!(access[0].get("group"), Some(&json!("default-9")));
    let row = world.store.get_user(user).await.unwrap().unwrap();
    assert_eq!((row.group_name.as_str(), row.moving_group_name.as_str()), ("default-9", ""));
    let status = world.run(&target, "clusterUserStatus", json!({"user": user})).await.unwrap();
    assert_eq!(status[0].get("group"), Some(&json!("default-9")));
}

#[tokio::test]
async fn the_simulated_proxies_move_the_users_a_force_move_chooses_at_their_login() {
    use domain::force_move::{ForceMove, ForceMoveKind, ForceMoveScope};
    use futures::TryStreamExt;
    use palomar_core::ports::SettingTable;

    let world = World::with_sites(2, 2000, fast()).await;
    let sites = world.store.list_sites(PageRequest::first(10)).await.unwrap().items;
    let other = sites.iter().find(|s| s.id != world.site.id).unwrap().clone();
    let count = |rows: &[domain::geodb::Membership], site: uuid::Uuid| {
        rows.iter().filter(|m| m.preferred_site_id == Some(site)).count()
    };
    let before: Vec<_> = world.store.scan_memberships().try_concat().await.unwrap();
    let now = palomar_core::ports::Clock::now(world.clock.as_ref());
    let op = ForceMove {
        kind: ForceMoveKind::ForceMove,
        scope: ForceMoveScope::Site,
        site_id: world.site.id,
        backend_id: None,
        id: "sim".into(),
        percent: 100,
        destinations: vec![other.id],
        destination_groups: vec![],
        source_status: "online".into(),
        users_at_start: None,
        started_at: now,
        updated_at: now,
        started_by: "test".into(),
    };
    world.store.put_setting(&op.to_setting()).await.unwrap();
    world.ticks(10, Duration::from_secs(1)).await;
    let after: Vec<_> = world.store.scan_memberships().try_concat().await.unwrap();
    assert_eq!(after.len(), before.len(), "no user row lost or made up");
    assert!(count(&after, world.site.id) < count(&before, world.site.id), "users left {}", world.site.name);
    assert_eq!(
        count(&after, world.site.id) + count(&after, other.id),
        count(&before, world.site.id) + count(&before, other.id)
    );
}
