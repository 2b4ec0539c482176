use super::*;
use crate::geodb::BackendStatus;

const HOME: Uuid = Uuid::from_u128(1);
const AWAY: Uuid = Uuid::from_u128(2);
const BACKEND: Uuid = Uuid::from_u128(10);

fn site(id: Uuid, status: SiteStatus) -> Site {
    Site { id, name: format!("s{}", id.as_u128()), tag: None, load_balancer: String::new(), status }
}

fn sites() -> Vec<Site> {
    vec![site(HOME, SiteStatus::Online), site(AWAY, SiteStatus::Online)]
}

fn user(name: &str, site: Uuid, group: &str) -> User {
    User {
        username: name.into(),
        preferred_site_id: Some(site),
        group_name: group.into(),
        failover_site_group_name: String::new(),
        metacache_last_host: String::new(),
        moving_preferred_site_id: None,
        moving_group_name: String::new(),
        moving_failover_site_group_name: String::new(),
        last_update: None,
    }
}

fn op(kind: ForceMoveKind, scope: ForceMoveScope, percent: u8) -> ForceMove {
    ForceMove {
        kind,
        scope,
        site_id: HOME,
        backend_id: (scope == ForceMoveScope::Backend).then_some(BACKEND),
        id: "op".into(),
        percent,
        destinations: if kind == ForceMoveKind::ForceMove { vec![AWAY] } else { vec![] },
        destination_groups: vec!["g-dest".into()],
        source_status: "online".into(),
        users_at_start: None,
        started_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        started_by: "admin".into(),
    }
}

fn now() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

#[test]
fn a_site_force_move_sends_chosen_users_to_a_destination_and_remembers_where_from() {
    let ops = [op(ForceMoveKind::ForceMove, ForceMoveScope::Site, 100)];
    let mut alice = user("alice", HOME, "g1");
    alice.failover_site_group_name = "g1-away".into();
    let Some(Relocation::LeaveSite { to, moved }) = relocation(&alice, &ops, &sites(), &[], None, None, now()) else {
        panic!("alice should leave");
    };
    assert_eq!((to.site_id, to.group.as_str(), to.failover_group.as_str()), (AWAY, "g1-away", "g1"));
    assert_eq!(
        (moved.from_site, moved.from_group.as_str(), moved.from_failover_group.as_str()),
        (HOME, "g1", "g1-away")
    );
    assert_eq!(
        relocation(&alice, &[op(ForceMoveKind::ForceMove, ForceMoveScope::Site, 0)], &sites(), &[], None, None, now()),
        None
    );
}

#[test]
fn nobody_moves_to_a_site_that_cannot_take_them_nor_after_the_status_changed() {
    let ops = [op(ForceMoveKind::ForceMove, ForceMoveScope::Site, 100)];
    let alice = user("alice", HOME, "g1");
    let away_down = vec![site(HOME, SiteStatus::Online), site(AWAY, SiteStatus::Standby)];
    assert_eq!(relocation(&alice, &ops, &away_down, &[], None, None, now()), None);
    let home_changed = vec![site(HOME, SiteStatus::Evacuate), site(AWAY, SiteStatus::Online)];
    assert_eq!(relocation(&alice, &ops, &home_changed, &[], None, None, now()), None);
}

#[test]
fn a_user_with_a_pending_move_or_in_another_site_is_left_alone() {
    let ops = [op(ForceMoveKind::ForceMove, ForceMoveScope::Site, 100)];
    let mut moving = user("alice", HOME, "g1");
    moving.moving_group_name = "g2".into();
    assert_eq!(relocation(&moving, &ops, &sites(), &[], None, None, now()), None);
    assert_eq!(relocation(&user("bob", AWAY, "g1"), &ops, &sites(), &[], None, None, now()), None);
}

#[test]
fn a_recover_brings_back_only_users_still_where_the_force_move_put_them() {
    let recover = [op(ForceMoveKind::Recover, ForceMoveScope::Site, 100)];
    let moved = MovedUser {
        username: "alice".into(),
        from_site: HOME,
        from_group: "g1".into(),
        from_failover_group: "f1".into(),
        to_site: AWAY,
        to_group: "g1".into(),
        force_move_id: "op".into(),
    };
    let alice = user("alice", AWAY, "g1");
    let back = relocation(&alice, &recover, &sites(), &[], None, Some(&moved), now());
    let Some(Relocation::Return { to }) = back else { panic!("alice should come back: {back:?}") };
    assert_eq!((to.site_id, to.group.as_str(), to.failover_group.as_str()), (HOME, "g1", "f1"));
    // Moved on since: the operator's later move stands.
    assert_eq!(relocation(&user("alice", AWAY, "g9"), &recover, &sites(), &[], None, Some(&moved), now()), None);
    // Not while the site is still being emptied.
    let both = [recover[0].clone(), op(ForceMoveKind::ForceMove, ForceMoveScope::Site, 100)];
    assert_eq!(relocation(&alice, &both, &sites(), &[], None, Some(&moved), now()), None);
}

#[test]
fn a_backend_force_move_changes_the_group_of_users_whose_group_is_on_that_backend() {
    let ops = [op(ForceMoveKind::ForceMove, ForceMoveScope::Backend, 100)];
    let backend = Backend {
        site_id: HOME,
        id: BACKEND,
        load_factor: 100,
        host: "b1".into(),
        status: BackendStatus::Online,
        status_reason: String::new(),
        last_moved_from: String::new(),
        last_moved_to: String::new(),
    };
    let group = |backend_id| UserGroup {
        site_id: HOME,
        name: "g1".into(),
        backend_id: Some(backend_id),
        alt_backend_id: None,
        sticky_users: 0,
        moving: String::new(),
        refresh_after: None,
        sticky_backend: 0,
    };
    let alice = user("alice", HOME, "g1");
    let backends = [backend.clone()];
    let moved = relocation(&alice, &ops, &sites(), &backends, Some(&group(BACKEND)), None, now());
    let Some(Relocation::ChangeGroup { to }) = moved else { panic!("alice should change group: {moved:?}") };
    assert_eq!((to.site_id, to.group.as_str()), (HOME, "g-dest"));
    let elsewhere = group(Uuid::from_u128(11));
    assert_eq!(relocation(&alice, &ops, &sites(), &backends, Some(&elsewhere), None, now()), None);
    let standby = [Backend { status: BackendStatus::Standby, ..backend }];
    assert_eq!(relocation(&alice, &ops, &sites(), &standby, Some(&group(BACKEND)), None, now()), None);
}
