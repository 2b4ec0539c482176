//! Two writers, one row: the controller and an operator change the same backend and the same
//! group at the same time, many times, on the real Cassandra. Every write is conditional on
//! what its writer read and changes only its own columns, so afterwards every accepted write
//! is either what the row shows or was replaced by a write made knowing it: none was undone
//! silently.

use crate::common;

use std::{collections::BTreeMap, sync::Arc};

use palomar_core::{
    controller::MoveRequest,
    ports::{BackendTable, GroupTable, OperatorStore, Ports, SettingTable, SiteTable, TagTable},
    services::Caller,
};

use domain::{
    feature::Feature,
    geodb::{BackendStatus, FlagWrite, StickyWrite},
    moves::{EndMove, Initiator},
    PageRequest,
};
use palomar_server::{
    adapters::{embedded::EmbeddedStore, NoMetrics},
    seed::{seed_sample_cluster, SampleSize},
};

const ROUNDS: i32 = 40;

/// Follows the accepted `(seen, new)` writes from `initial`: each must start where the one
/// before it ended, and together they must end at `last`.
fn follow_chain(initial: i32, accepted: &[(i32, i32)], last: i32) {
    let by_seen: BTreeMap<i32, i32> = accepted.iter().copied().collect();
    assert_eq!(by_seen.len(), accepted.len(), "two accepted writes started from the same value: {accepted:?}");
    let (mut at, mut steps) = (initial, 0);
    while let Some(next) = by_seen.get(&at) {
        at = *next;
        steps += 1;
    }
    assert_eq!(steps, accepted.len(), "an accepted write is not in the chain from {initial}: {accepted:?}");
    assert_eq!(at, last, "the row does not show the last write of the chain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_and_an_operator_never_undo_each_other() {
    let Some(store) = common::cassandra_store("write_races").await else { return };
    let store = Arc::new(store);
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 3, users: 30 };
    let site = seed_sample_cluster(store.clone(), size, 6).await.unwrap().sites[0].id;
    let ports = Ports {
        geodb: store.clone(),
        records: store.clone(),
        members: store.clone(),
        ..common::embedded_ports(Arc::new(EmbeddedStore::new()), Arc::new(NoMetrics))
    };
    let services = common::services_with(ports);
    let backends = store.list_backends(site, PageRequest::first(10)).await.unwrap().items;
    let target = backends[0].clone();
    let group = store.list_groups(site, PageRequest::first(10)).await.unwrap().items[0].clone();

    // The backend: both write its load factor (unique values: odd for the controller, even
    // for the operator); only the controller flips its status.
    let controller_backend = {
        let store = store.clone();
        tokio::spawn(async move {
            let (mut load_factors, mut statuses) = (Vec::new(), Vec::new());
            for round in 0..ROUNDS {
                let seen = store.get_backend(site, target.id).await.unwrap().unwrap();
                let load_factor = 1 + 2 * round;
                if store.set_backend_load_factor(site, target.id, seen.load_factor, load_factor).await.unwrap() {
                    load_factors.push((seen.load_factor, load_factor));
                }
                let seen = store.get_backend(site, target.id).await.unwrap().unwrap();
                let status =
                    if seen.status == BackendStatus::Online { BackendStatus::Offline } else { BackendStatus::Online };
                let reason = format!("controller round {round}");
                if store.set_backend_status(site, target.id, &seen.status, &status, &reason).await.unwrap() {
                    statuses.push((status, reason));
                }
            }
            (load_factors, statuses)
        })
    };
    let operator_backend = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut load_factors = Vec::new();
            for round in 0..ROUNDS {
                let seen = store.get_backend(site, target.id).await.unwrap().unwrap();
                let load_factor = 2 + 2 * round;
                if store.set_backend_load_factor(site, target.id, seen.load_factor, load_factor).await.unwrap() {
                    load_factors.push((seen.load_factor, load_factor));
                }
            }
            load_factors
        })
    };

    // The group: the controller moves it back and forth through the one move path; the
    // operator toggles its sticky flags through the service, as the UI does.
    let moves = services.controller_runtime().moves().clone();
    let controller_group = {
        let (store, group) = (store.clone(), group.clone());
        // Not the backend whose status the controller flips: a move needs an online destination.
        let (a, b) = (backends[1].id, backends[2].id);
        tokio::spawn(async move {
            let mut last_backend = group.backend_id;
            for _ in 0..ROUNDS / 2 {
                let row = store.get_group(site, &group.name).await.unwrap().unwrap();
                let from = row.backend_id.unwrap();
                let to = if from == a { b } else { a };
                let request = MoveRequest {
                    site_id: site,
                    group: group.name.clone(),
                    destination: to,
                    initiator: Initiator::Controller(Feature::LoadBalance),
                    decision_id: None,
                };
                let started = moves.start(request).await.unwrap();
                let forced = moves.end(&started, EndMove::Force, "race test").await.unwrap();
                last_backend = Some(forced.destination);
            }
            last_backend
        })
    };
    let operator_group = {
        let (services, store, name) = (services.clone(), store.clone(), group.name.clone());
        tokio::spawn(async move {
            let ops = services.group_ops(&Caller::trusted_cli()).unwrap();
            let mut accepted = Vec::new();
            for round in 0..ROUNDS {
                let flags = (round % 2 == 0, round % 3 == 0);
                let seen = store.get_group(site, &name).await.unwrap().unwrap();
                let write = StickyWrite {
                    sticky_users: Some(FlagWrite { seen: seen.has_sticky_users(), wanted: flags.0 }),
                    sticky_backend: Some(FlagWrite { seen: seen.has_sticky_backend(), wanted: flags.1 }),
                };
                match ops.set_sticky(site, &name, write).await {
                    Ok(_) => accepted.push(flags),
                    Err(domain::AppError::Conflict(why)) => assert!(why.contains("changed meanwhile"), "{why}"),
                    Err(other) => panic!("unexpected refusal: {other:?}"),
                }
            }
            accepted
        })
    };

    let (controller_lf, statuses) = controller_backend.await.unwrap();
    let operator_lf = operator_backend.await.unwrap();
    let last_backend = controller_group.await.unwrap();
    let sticky = operator_group.await.unwrap();

    let row = store.get_backend(site, target.id).await.unwrap().unwrap();
    let accepted: Vec<(i32, i32)> = controller_lf.iter().chain(operator_lf.iter()).copied().collect();
    assert!(!controller_lf.is_empty() && !operator_lf.is_empty(), "both writers got writes in");
    follow_chain(target.load_factor, &accepted, row.load_factor);
    let (status, reason) = statuses.last().expect("the controller's status writes were accepted");
    assert_eq!((&row.status, &row.status_reason), (status, reason), "the operator never undid a status change");
    assert_eq!(row.host, target.host);

    let row = store.get_group(site, &group.name).await.unwrap().unwrap();
    assert_eq!((row.backend_id, row.is_moving()), (last_backend, false), "no sticky save undid a move");
    let flags = sticky.last().expect("the operator's flag writes were accepted");
    assert_eq!((row.has_sticky_users(), row.has_sticky_backend()), *flags, "no move undid a flag change");
    let active = palomar_core::ports::RecordStore::list_active_moves(store.as_ref(), site).await.unwrap();
    assert!(active.is_empty(), "every forced move stays ended: {active:?}");
}

/// Two admins disabling each other at the same moment: the last-admin check and the change are
/// one step (the operators lock), so one of them stays, whatever the timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_disabling_each_other_leave_one() {
    let Some(store) = common::cassandra_store("admin_races").await else { return };
    let store = Arc::new(store);
    let ports = Ports {
        operators: store.clone(),
        audit: store.clone(),
        ..common::embedded_ports(Arc::new(EmbeddedStore::new()), Arc::new(NoMetrics))
    };
    let services = common::services_with(ports);
    let admin = services.operator_admin(&Caller::trusted_cli()).unwrap();
    for round in 0..10 {
        let (a, b) = (format!("alice{round}"), format!("bob{round}"));
        for name in [&a, &b] {
            admin.add(name, domain::Role::Admin, "a long enough password").await.unwrap();
        }
        // Everyone else is disabled: these two are the only enabled admins.
        let disable = |name: String| {
            let services = services.clone();
            tokio::spawn(async move {
                services.operator_admin(&Caller::trusted_cli()).unwrap().set_disabled(&name, true).await
            })
        };
        let (first, second) = (disable(a.clone()), disable(b.clone()));
        let results = [first.await.unwrap(), second.await.unwrap()];
        let done = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(done, 1, "round {round}: exactly one may go: {results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(refused.to_string().contains("last enabled admin"), "{refused}");
        let mut enabled = 0;
        for name in [&a, &b] {
            enabled += usize::from(store.get_operator(name).await.unwrap().is_some_and(|o| !o.disabled));
        }
        assert_eq!(enabled, 1, "round {round}: one admin is left");
        // Out of the way for the next round, so that its two are again the only enabled admins.
        for name in [&a, &b] {
            let mut record = store.get_operator(name).await.unwrap().unwrap();
            record.disabled = true;
            store.put_operator(&record).await.unwrap();
        }
    }
}

/// Two writers race [`ROUNDS`] times to change one row, each from the value it has just read;
/// afterwards the accepted writes form one chain from `initial` to what the row shows.
async fn two_writers_chain<R, RF, W, WF>(initial: &str, read: R, write: W)
where
    R: Fn() -> RF + Clone + Send + 'static,
    RF: std::future::Future<Output = String> + Send,
    W: Fn(String, String) -> WF + Clone + Send + 'static,
    WF: std::future::Future<Output = bool> + Send,
{
    let writer = |name: &'static str| {
        let (read, write) = (read.clone(), write.clone());
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            for round in 0..ROUNDS {
                let seen = read().await;
                let new = format!("{name}{round}");
                if write(seen.clone(), new.clone()).await {
                    accepted.push((seen, new));
                }
            }
            accepted
        })
    };
    let (a, b) = (writer("a"), writer("b"));
    let accepted: Vec<(String, String)> = [a.await.unwrap(), b.await.unwrap()].concat();
    let by_seen: BTreeMap<&str, &str> = accepted.iter().map(|(s, n)| (s.as_str(), n.as_str())).collect();
    assert_eq!(by_seen.len(), accepted.len(), "two accepted writes started from the same value: {accepted:?}");
    let (mut at, mut steps) = (initial, 0);
    while let Some(next) = by_seen.get(at) {
        at = next;
        steps += 1;
    }
    assert_eq!(steps, accepted.len(), "an accepted write is not in the chain from {initial}: {accepted:?}");
    assert_eq!(read().await, at, "the row does not show the last write of the chain");
}

/// Two operators editing the same site, tag and setting at once, and adding the same backend
/// and site twice, on the real Cassandra: every operator write is conditional on the row as
/// its writer read it, so neither undoes the other in silence, and an add happens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_editing_one_row_never_undo_each_other() {
    use domain::{geodb::ClusterSetting, Site, SiteStatus, Tag};
    let Some(store) = common::cassandra_store("operator_races").await else { return };
    let store = Arc::new(store);

    let site = Site {
        id: uuid::Uuid::new_v4(),
        name: "dc1a".into(),
        tag: None,
        load_balancer: "lb0".into(),
        status: SiteStatus::Online,
    };
    let adds = [store.write_site(None, &site), store.write_site(None, &site)];
    let added = futures::future::join_all(adds).await;
    assert_eq!(added.iter().filter(|r| *r.as_ref().unwrap()).count(), 1, "a site is added once");
    let (db, id) = (store.clone(), site.id);
    let read = move || {
        let db = db.clone();
        async move { db.get_site(id).await.unwrap().unwrap().load_balancer }
    };
    let db = store.clone();
    let write = move |seen: String, new: String| {
        let db = db.clone();
        async move {
            let before = Site { load_balancer: seen, ..db.get_site(id).await.unwrap().unwrap() };
            db.write_site(Some(&before), &Site { load_balancer: new, ..before.clone() }).await.unwrap()
        }
    };
    two_writers_chain("lb0", read, write).await;

    let tag = Tag { id: uuid::Uuid::new_v4(), tag: "t0".into() };
    assert!(store.write_tag(None, &tag).await.unwrap());
    let (db, id) = (store.clone(), tag.id);
    let read = move || {
        let db = db.clone();
        async move { db.get_tag(id).await.unwrap().unwrap().tag }
    };
    let db = store.clone();
    let write = move |seen: String, new: String| {
        let db = db.clone();
        async move { db.write_tag(Some(&Tag { id, tag: seen }), &Tag { id, tag: new }).await.unwrap() }
    };
    two_writers_chain("t0", read, write).await;

    let setting = ClusterSetting {
        section: "races".into(),
        site_id: uuid::Uuid::new_v4(),
        backend_id: uuid::Uuid::nil(),
        setting_name: "value".into(),
        setting_value: "v0".into(),
    };
    assert!(store.write_setting(None, &setting).await.unwrap());
    let (db, key) = (store.clone(), setting.clone());
    let read = move || {
        let (db, key) = (db.clone(), key.clone());
        async move { db.get_setting(&key).await.unwrap().unwrap().setting_value }
    };
    let (db, key) = (store.clone(), setting.clone());
    let write = move |seen: String, new: String| {
        let (db, key) = (db.clone(), key.clone());
        async move {
            let before = ClusterSetting { setting_value: seen, ..key.clone() };
            db.write_setting(Some(&before), &ClusterSetting { setting_value: new, ..key }).await.unwrap()
        }
    };
    two_writers_chain("v0", read, write).await;

    let backend = domain::geodb::Backend {
        site_id: site.id,
        id: uuid::Uuid::new_v4(),
        load_factor: 100,
        host: "be1.dc1a.example.net".into(),
        status: BackendStatus::Standby,
        status_reason: "added".into(),
        last_moved_from: String::new(),
        last_moved_to: String::new(),
    };
    let other = domain::geodb::Backend { host: "be2.dc1a.example.net".into(), ..backend.clone() };
    let added = futures::future::join_all([store.add_backend(&backend), store.add_backend(&other)]).await;
    assert_eq!(added.iter().filter(|r| *r.as_ref().unwrap()).count(), 1, "a backend id is added once");
}
