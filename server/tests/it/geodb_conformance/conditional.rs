//! Writes conditional on what was read, moves and the controller's records, settings and statistics.

use super::*;
use domain::geodb::{FlagWrite, StickyWrite};

pub(super) async fn backends_get_and_delete(db: &dyn Store) {
    let site = Uuid::new_v4();
    let be = backend(site, "be1.example.net");
    db.put_backend(&be).await.unwrap();
    assert_eq!(db.get_backend(site, be.id).await.unwrap(), Some(be.clone()));
    assert_eq!(db.get_backend(Uuid::new_v4(), be.id).await.unwrap(), None);
    db.delete_backend(site, be.id).await.unwrap();
    assert_eq!(db.get_backend(site, be.id).await.unwrap(), None);
}

pub(super) async fn a_group_move_starts_only_once(db: &dyn Store) {
    let (site, src, dst) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    db.put_group(&group(site, "g", src)).await.unwrap();
    assert!(db.start_group_move(site, "g", dst, "token-1").await.unwrap(), "applied");
    assert!(!db.start_group_move(site, "g", Uuid::new_v4(), "token-2").await.unwrap(), "refused while moving");
    let g = db.get_group(site, "g").await.unwrap().unwrap();
    assert_eq!((g.moving.as_str(), g.alt_backend_id, g.backend_id), ("token-1", Some(dst), Some(src)));
    assert!(!db.start_group_move(site, "missing", dst, "t").await.unwrap(), "no such group");
    db.put_group(&UserGroup { moving: String::new(), backend_id: Some(dst), ..g }).await.unwrap();
    assert!(db.start_group_move(site, "g", src, "token-3").await.unwrap(), "a finished move clears the way");
}

pub(super) async fn a_backend_status_changes_only_from_the_status_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let b = backend(site, "be1.example.net");
    db.put_backend(&b).await.unwrap();
    let (online, offline) = (BackendStatus::Online, BackendStatus::Offline);
    assert!(!db.set_backend_status(site, b.id, &online, &offline, "why").await.unwrap(), "refused: it is not online");
    assert!(db.set_backend_status(site, b.id, &b.status, &offline, "controller: failing").await.unwrap());
    let row = db.get_backend(site, b.id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.status_reason.as_str()), ("offline", "controller: failing"));
    assert!(!db.set_backend_status(site, Uuid::new_v4(), &online, &offline, "").await.unwrap(), "no such backend");
    let unknown = Backend { id: Uuid::new_v4(), status: BackendStatus::Other("maintenance".into()), ..b.clone() };
    db.put_backend(&unknown).await.unwrap();
    let row = db.get_backend(site, unknown.id).await.unwrap().unwrap();
    assert_eq!(row.status, BackendStatus::Other("maintenance".into()), "a status written by someone else is kept");
}

pub(super) async fn a_backends_move_times_change_only_from_the_value_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let b =
        Backend { last_moved_from: String::new(), last_moved_to: String::new(), ..backend(site, "be1.example.net") };
    db.put_backend(&b).await.unwrap();
    let (t1, t2) = ("2026-11-29T10:00:00+00:00", "2026-11-29T11:00:00+00:00");
    assert!(db.note_backend_move(site, b.id, MoveSide::From, "", t1).await.unwrap(), "empty (or null) matches empty");
    assert!(!db.note_backend_move(site, b.id, MoveSide::From, "", t2).await.unwrap(), "refused: it changed meanwhile");
    assert!(db.note_backend_move(site, b.id, MoveSide::To, "", t2).await.unwrap(), "the other column is apart");
    let row = db.get_backend(site, b.id).await.unwrap().unwrap();
    assert_eq!((row.last_moved_from.as_str(), row.last_moved_to.as_str()), (t1, t2));
    assert_eq!(
        (row.status, row.load_factor, row.host.as_str()),
        (b.status, b.load_factor, "be1.example.net"),
        "nothing else"
    );
    assert!(db.note_backend_move(site, b.id, MoveSide::From, t1, t2).await.unwrap());
    assert!(!db.note_backend_move(site, Uuid::new_v4(), MoveSide::From, "", t1).await.unwrap(), "no such backend");
    assert!(db.get_backend(site, Uuid::new_v4()).await.unwrap().is_none());
}

pub(super) async fn a_group_move_ends_only_if_it_is_still_the_same_move(db: &dyn Store) {
    let (site, src, dst) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    db.put_group(&group(site, "g", src)).await.unwrap();
    assert!(db.start_group_move(site, "g", dst, "move-1").await.unwrap());
    let at = now_ms();
    assert!(
        !db.end_group_move(site, "g", "move-0", dst, Some(src), at).await.unwrap(),
        "another move's token is refused"
    );
    assert!(db.end_group_move(site, "g", "move-1", dst, Some(src), at).await.unwrap(), "forced");
    let g = db.get_group(site, "g").await.unwrap().unwrap();
    assert_eq!(
        (g.backend_id, g.alt_backend_id, g.moving.as_str(), g.refresh_after),
        (Some(dst), Some(src), "", Some(at))
    );
    assert!(!db.end_group_move(site, "g", "move-1", src, None, at).await.unwrap(), "only once");
}

pub(super) fn move_record(
    site: Uuid,
    group: &str,
    created: DateTime<Utc>,
    state: domain::moves::MoveState,
) -> domain::moves::MoveRecord {
    domain::moves::MoveRecord {
        id: Uuid::new_v4(),
        site_id: site,
        group: group.into(),
        source: Some(Uuid::new_v4()),
        source_host: "a".into(),
        destination: Uuid::new_v4(),
        destination_host: "b".into(),
        moving_token: "t".into(),
        initiated_by: domain::moves::Initiator::External,
        decision_id: None,
        state,
        created_at: created,
        started_at: None,
        finished_at: None,
        users_total: 10,
        users_moved: 0,
        rate: 0.0,
        eta: None,
        observed_at: None,
        note: String::new(),
    }
}

pub(super) async fn decisions_and_moves_round_trip(db: &dyn Store) {
    use domain::{
        decisions::{DecisionRecord, Outcome},
        feature::{Feature, FeatureState},
        moves::MoveState,
        planning::{Action, Decision, DecisionInputs, LoadBalanceInputs, Reason},
    };
    let site = Uuid::new_v4();
    let t0 = now_ms();
    let decision = |i: i64| DecisionRecord {
        id: Uuid::new_v4(),
        site_id: site,
        at: t0 + chrono::Duration::seconds(i),
        mode: FeatureState::Dryrun,
        outcome: Outcome::Dry,
        detail: String::new(),
        holder: "a".into(),
        token: 7,
        decision: Decision {
            feature: Feature::LoadBalance,
            reason: Reason::Unbalanced,
            action: Some(Action::MoveGroup { group: format!("g{i}"), from: Uuid::nil(), to: Uuid::max() }),
            summary: format!("decision {i}"),
            inputs: DecisionInputs::LoadBalance(LoadBalanceInputs {
                scores: [("be1".to_string(), 2.0), ("be2".to_string(), 0.5)].into(),
                threshold: Some(0.5),
                delta: Some(1.5),
            }),
            rejected: vec![("be9".into(), "load factor 0".into())],
        },
    };
    let all: Vec<DecisionRecord> = (0..5).map(decision).collect();
    for d in &all {
        db.record_decision(d).await.unwrap();
    }
    // Rewriting a decision (its outcome after the write) replaces it.
    let mut refused = all[4].clone();
    refused.outcome = Outcome::Refused;
    db.record_decision(&refused).await.unwrap();
    let day = t0.date_naive();
    let read: Vec<DecisionRecord> = all_pages(2, |p| db.list_decisions(site, day, p)).await;
    let mut expected = all.clone();
    expected[4] = refused;
    expected.reverse();
    assert_eq!(read, expected, "newest first, with inputs and rejections intact");
    assert!(db.list_decisions(Uuid::new_v4(), day, PageRequest::first(10)).await.unwrap().items.is_empty());

    let mut active = move_record(site, "g1", t0, MoveState::Initiated);
    let done = move_record(site, "g2", t0 + chrono::Duration::seconds(1), MoveState::Finished);
    assert!(db.insert_move(&active).await.unwrap());
    assert!(db.insert_move(&done).await.unwrap());
    assert!(!db.insert_move(&active).await.unwrap(), "a move is recorded once, whoever records it second");
    assert_eq!(db.list_active_moves(site).await.unwrap(), vec![active.clone()]);
    let listed: Vec<_> = all_pages(1, |p| db.list_moves(site, p)).await;
    assert_eq!(listed, vec![done.clone(), active.clone()], "newest first");
    active.users_moved = 3;
    assert!(db.update_move(&active).await.unwrap(), "progress of an active move is saved");
    assert_eq!(db.list_active_moves(site).await.unwrap()[0].users_moved, 3);
    let running = active.clone();
    active.state = MoveState::Forced;
    assert!(db.update_move(&active).await.unwrap());
    assert!(db.list_active_moves(site).await.unwrap().is_empty(), "an ended move leaves the active index");
    assert_eq!(db.list_moves(site, PageRequest::first(10)).await.unwrap().items[1].state, MoveState::Forced);
    assert!(!db.update_move(&running).await.unwrap(), "a late progress update is refused");
    let mut cancelled = active.clone();
    cancelled.state = MoveState::Cancelled;
    assert!(!db.update_move(&cancelled).await.unwrap(), "a move ends once");
    assert!(db.list_active_moves(site).await.unwrap().is_empty(), "an ended move is never brought back");
    assert_eq!(db.list_moves(site, PageRequest::first(10)).await.unwrap().items[1].state, MoveState::Forced);
}

pub(super) async fn backend_columns_change_only_from_the_values_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let b = backend(site, "be1.example.net");
    db.put_backend(&b).await.unwrap();
    assert!(!db.set_backend_load_factor(site, b.id, 50, 10).await.unwrap(), "refused: it is not 50");
    assert!(db.set_backend_load_factor(site, b.id, b.load_factor, 10).await.unwrap());
    let row = db.get_backend(site, b.id).await.unwrap().unwrap();
    assert_eq!((row.load_factor, &row.status, row.status_reason.as_str()), (10, &b.status, "added"), "one column");
    let wanted =
        Backend { status: BackendStatus::Standby, load_factor: 0, status_reason: "evacuated".into(), ..row.clone() };
    let not_online = Backend { status: BackendStatus::Online, ..row.clone() };
    assert!(!db.set_backend_state(&not_online, &wanted).await.unwrap(), "refused: not online");
    let not_100 = Backend { load_factor: 100, ..row.clone() };
    assert!(!db.set_backend_state(&not_100, &wanted).await.unwrap(), "refused: not 100");
    assert!(db.set_backend_state(&row, &wanted).await.unwrap());
    let row = db.get_backend(site, b.id).await.unwrap().unwrap();
    assert_eq!((&row.status, row.load_factor, row.status_reason.as_str()), (&BackendStatus::Standby, 0, "evacuated"));
    assert_eq!(row.last_moved_to, b.last_moved_to, "nothing else");
    let gone = Uuid::new_v4();
    assert!(!db.set_backend_load_factor(site, gone, 0, 10).await.unwrap(), "no such backend");
    let gone_row = Backend { id: gone, status: BackendStatus::Other(String::new()), load_factor: 0, ..row.clone() };
    assert!(!db.set_backend_state(&gone_row, &wanted).await.unwrap());
    assert!(db.get_backend(site, gone).await.unwrap().is_none(), "no row made up");
}

pub(super) async fn group_sticky_flags_change_only_from_the_values_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let (src, dst) = (Uuid::new_v4(), Uuid::new_v4());
    db.put_group(&group(site, "g", src)).await.unwrap();
    assert!(db.start_group_move(site, "g", dst, "move-1").await.unwrap());
    let flag = |seen, wanted| Some(FlagWrite { seen, wanted });
    let both = |users, backend| StickyWrite { sticky_users: users, sticky_backend: backend };
    let refused = both(flag(true, false), flag(false, true));
    assert!(!db.set_group_sticky(site, "g", refused).await.unwrap(), "refused: users were not sticky");
    assert!(!db.set_group_sticky(site, "g", both(None, None)).await.unwrap(), "no flag: nothing applied");
    // The row starts with sticky users off and sticky backend on.
    assert!(db.set_group_sticky(site, "g", both(None, flag(true, false))).await.unwrap(), "one flag");
    assert!(!db.set_group_sticky(site, "g", both(None, flag(true, false))).await.unwrap(), "as read no more");
    // A writer of the other flag read its value only: the first writer's change stays.
    assert!(db.set_group_sticky(site, "g", both(flag(false, true), None)).await.unwrap());
    let g = db.get_group(site, "g").await.unwrap().unwrap();
    assert_eq!((g.sticky_users, g.sticky_backend), (1, 0));
    assert!(db.set_group_sticky(site, "g", both(flag(true, false), flag(false, true))).await.unwrap(), "both");
    let g = db.get_group(site, "g").await.unwrap().unwrap();
    assert_eq!((g.sticky_users, g.sticky_backend), (0, 1));
    assert_eq!((g.backend_id, g.alt_backend_id, g.moving.as_str()), (Some(src), Some(dst), "move-1"), "the move stays");
    let missing = both(flag(false, true), flag(false, true));
    assert!(!db.set_group_sticky(site, "missing", missing).await.unwrap(), "no such group");
    assert!(db.get_group(site, "missing").await.unwrap().is_none(), "no row made up");
    assert!(!db.create_group(&group(site, "g", dst)).await.unwrap(), "an existing group is kept");
    assert_eq!(db.get_group(site, "g").await.unwrap().unwrap().backend_id, Some(src));
    assert!(db.create_group(&group(site, "h", dst)).await.unwrap());
}

pub(super) async fn a_groups_alternative_changes_only_from_the_value_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let (own, first, second) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut row = group(site, "g", own);
    row.alt_backend_id = None;
    db.put_group(&row).await.unwrap();
    assert!(db.set_group_alt(site, "g", None, first).await.unwrap());
    assert!(!db.set_group_alt(site, "g", None, second).await.unwrap(), "refused: it has one now");
    assert!(db.set_group_alt(site, "g", Some(first), second).await.unwrap());
    assert_eq!(db.get_group(site, "g").await.unwrap().unwrap().alt_backend_id, Some(second));
    assert!(db.start_group_move(site, "g", first, "move-1").await.unwrap());
    assert!(!db.set_group_alt(site, "g", Some(first), second).await.unwrap(), "refused: a moving group's");
    assert!(!db.set_group_alt(site, "missing", None, first).await.unwrap(), "no such group");
    assert!(db.get_group(site, "missing").await.unwrap().is_none(), "no row made up");
}

pub(super) async fn a_user_move_starts_only_from_the_values_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let user = User {
        username: "racer@example.net".into(),
        preferred_site_id: Some(site),
        group_name: "g1".into(),
        failover_site_group_name: String::new(),
        metacache_last_host: "be1".into(),
        moving_preferred_site_id: None,
        moving_group_name: String::new(),
        moving_failover_site_group_name: String::new(),
        last_update: None,
    };
    db.put_user(&user).await.unwrap();
    let at = now_ms();
    let to = |group: &str| UserMove { site_id: site, group: group.into(), failover_group: group.into(), at };
    assert!(db.start_user_move(&user, &to("g2")).await.unwrap());
    assert!(!db.start_user_move(&user, &to("g3")).await.unwrap(), "refused: a move is pending since");
    let row = db.get_user(&user.username).await.unwrap().unwrap();
    assert_eq!((row.moving_group_name.as_str(), row.moving_preferred_site_id), ("g2", Some(site)));
    assert_eq!((row.group_name.as_str(), row.metacache_last_host.as_str(), row.last_update), ("g1", "be1", Some(at)));
    let ghost = User { username: "ghost@example.net".into(), ..user.clone() };
    assert!(!db.start_user_move(&ghost, &to("g2")).await.unwrap(), "no such user");
    assert!(db.get_user(&ghost.username).await.unwrap().is_none(), "no row made up");
}

pub(super) async fn a_user_is_relocated_only_from_the_values_seen(db: &dyn Store) {
    let (home, away) = (Uuid::new_v4(), Uuid::new_v4());
    let mut user = common::rows::user("relocated@example.net", Some(home), "g1");
    user.failover_site_group_name = "f1".into();
    user.metacache_last_host = "be1".into();
    db.put_user(&user).await.unwrap();
    let at = now_ms();
    let to = UserMove { site_id: away, group: "f1".into(), failover_group: "g1".into(), at };
    assert!(db.relocate_user(&user, &to).await.unwrap());
    let row = db.get_user(&user.username).await.unwrap().unwrap();
    assert_eq!((row.preferred_site_id, row.group_name.as_str()), (Some(away), "f1"));
    assert_eq!((row.failover_site_group_name.as_str(), row.metacache_last_host.as_str()), ("g1", "be1"));
    assert_eq!(row.last_update, Some(at));
    assert!(!db.relocate_user(&user, &to).await.unwrap(), "refused: the user moved since it was read");
    let pending = UserMove { site_id: home, group: "g9".into(), failover_group: String::new(), at };
    assert!(db.start_user_move(&row, &pending).await.unwrap());
    let back = UserMove { site_id: home, group: "g1".into(), failover_group: "f1".into(), at };
    assert!(!db.relocate_user(&row, &back).await.unwrap(), "refused: a user move is pending");
    let ghost = User { username: "ghost-relocated@example.net".into(), ..user.clone() };
    assert!(!db.relocate_user(&ghost, &to).await.unwrap(), "no such user");
    assert!(db.get_user(&ghost.username).await.unwrap().is_none(), "no row made up");
}

pub(super) async fn users_delete(db: &dyn Store) {
    let user = common::rows::user("gone@example.net", None, "g");
    db.put_user(&user).await.unwrap();
    db.delete_user("gone@example.net").await.unwrap();
    assert_eq!(db.get_user("gone@example.net").await.unwrap(), None);
}

pub(super) async fn settings_by_section(db: &dyn Store) {
    use domain::geodb::ClusterSetting;
    let (site, nil) = (Uuid::new_v4(), Uuid::nil());
    let setting = |section: &str, site_id: Uuid, name: &str, value: &str| ClusterSetting {
        section: section.into(),
        site_id,
        backend_id: nil,
        setting_name: name.into(),
        setting_value: value.into(),
    };
    for s in [
        setting("controller_features", site, "load_balance", "dryrun"),
        setting("controller_features", site, "host_failure", "on"),
        setting("controller_features", nil, "load_balance", "off"),
        setting("other", site, "x", "1"),
    ] {
        db.put_setting(&s).await.unwrap();
    }
    let features = all_pages(2, |page| db.list_settings("controller_features", page)).await;
    assert_eq!(features.len(), 3);
    assert!(features.iter().all(|s| s.section == "controller_features"));
    let on = setting("controller_features", site, "host_failure", "on");
    assert_eq!(
        db.get_setting(&setting("controller_features", site, "host_failure", "")).await.unwrap(),
        Some(on.clone())
    );
    assert!(!db.remove_setting(&setting("controller_features", site, "host_failure", "off")).await.unwrap());
    assert!(db.remove_setting(&on).await.unwrap());
    assert_eq!(db.get_setting(&on).await.unwrap(), None);
    assert_eq!(db.list_settings("controller_features", PageRequest::first(10)).await.unwrap().items.len(), 2);
}

pub(super) async fn settings_change_only_from_the_value_seen(db: &dyn Store) {
    use domain::geodb::ClusterSetting;
    let row = |value: &str| ClusterSetting {
        section: "controller_features".into(),
        site_id: Uuid::new_v4(),
        backend_id: Uuid::nil(),
        setting_name: "load_balance".into(),
        setting_value: value.into(),
    };
    let on = row("on");
    let off = ClusterSetting { setting_value: "off".into(), ..on.clone() };
    let dry = ClusterSetting { setting_value: "dryrun".into(), ..on.clone() };
    assert!(db.write_setting(None, &on).await.unwrap());
    assert!(!db.write_setting(None, &off).await.unwrap(), "refused: it exists");
    assert!(db.write_setting(Some(&on), &off).await.unwrap());
    assert!(!db.write_setting(Some(&on), &dry).await.unwrap(), "refused: changed since");
    assert_eq!(db.get_setting(&on).await.unwrap(), Some(off.clone()));
    assert!(db.remove_setting(&off).await.unwrap());
    assert!(!db.write_setting(Some(&off), &dry).await.unwrap(), "refused: gone, and not made up");
    assert_eq!(db.get_setting(&on).await.unwrap(), None);
}

pub(super) async fn reachability_group_sites_and_stats(db: &dyn Store) {
    use domain::geodb::{BackendStat, GroupSite, ProxyDestStat, Reachability};
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    db.put_reachability(&Reachability { src_site_id: a, dest_site_id: b, reachable: 1 }).await.unwrap();
    db.put_reachability(&Reachability { src_site_id: b, dest_site_id: a, reachable: 0 }).await.unwrap();
    assert_eq!(all_pages(1, |page| db.list_reachability(page)).await.len(), 2);
    // A controller's write is conditional on the row it read: absent, or with its value.
    let seen = Reachability { src_site_id: a, dest_site_id: b, reachable: 1 };
    let cut = Reachability { reachable: 0, ..seen };
    assert!(db.write_reachability(Some(&seen), &cut).await.unwrap());
    assert!(!db.write_reachability(Some(&seen), &cut).await.unwrap(), "refused: the row changed meanwhile");
    assert!(!db.write_reachability(None, &seen).await.unwrap(), "refused: a row exists");
    let c = Uuid::new_v4();
    let fresh = Reachability { src_site_id: a, dest_site_id: c, reachable: 1 };
    assert!(db.write_reachability(None, &fresh).await.unwrap());
    let rows = all_pages(1, |page| db.list_reachability(page)).await;
    assert!(rows.contains(&cut) && rows.contains(&fresh) && rows.len() == 3, "{rows:?}");
    // Each row's value has a write time, for the matrix's "since".
    let times = db.reachability_times().await.unwrap();
    let mine: Vec<_> = times.iter().filter(|t| [a, b].contains(&t.src_site_id)).collect();
    assert_eq!(mine.len(), 3, "{times:?}");
    let now = chrono::Utc::now();
    assert!(mine.iter().all(|t| (now - t.written_at).num_seconds().abs() < 120), "{mine:?}");
    let gs = GroupSite {
        group_name: "default-1".into(),
        site_id: a,
        status: "online".into(),
        failover_site_id: Some(b),
        last_update: Some(now_ms()),
    };
    db.put_group_site(&gs).await.unwrap();
    assert_eq!(db.list_group_sites("default-1").await.unwrap(), vec![gs]);
    let stat = BackendStat { site_id: a, id: Uuid::new_v4(), key: "users".into(), value: 42.0, kind: "gauge".into() };
    db.put_backend_stat(&stat).await.unwrap();
    assert_eq!(db.list_backend_stats(a, PageRequest::first(10)).await.unwrap().items, vec![stat]);
    for (proxy, key) in
        [("proxy1", "proxy_session_success"), ("proxy1", "proxy_session_failure"), ("proxy2", "proxy_session_success")]
    {
        let row = ProxyDestStat {
            proxy_site_id: a,
            dest_host: "be1".into(),
            proxy_host: proxy.into(),
            key: key.into(),
            value: 1.0,
            kind: "counter".into(),
        };
        db.put_proxy_dest_stat(&row).await.unwrap();
    }
    assert_eq!(all_pages(2, |page| db.list_proxy_dest_stats(a, page)).await.len(), 3);
    db.delete_proxy_dest_stats(a, "be1", "proxy1").await.unwrap();
    let left = all_pages(2, |page| db.list_proxy_dest_stats(a, page)).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].proxy_host, "proxy2");
}
