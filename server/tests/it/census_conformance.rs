//! The census's ports on every adapter: the scans of `users` and `user_groups`, bulk user
//! writes, the group member records with their mark, a census that records only the
//! memberships that changed, and the users-per-backend history it keeps hourly. The embedded
//! store and Cassandra must answer alike.

use crate::common;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use palomar_core::{
    controller::Census,
    ports::{
        AuditLog, Clock, GeoDb, GroupMembers, ManualClock, MemberRecord, OperatorStore, Ports, RecordStore, StoreError,
        SystemClock, MAX_HISTORY_BACKENDS,
    },
    services::Caller,
};

use chrono::{DateTime, SubsecRound, Utc};
use common::rows::{backend, group, user};
use domain::{
    geodb::{GroupBackend, Membership, User, UserMove},
    Page, PageRequest, Site, SiteStatus,
};
use futures::TryStreamExt;
use palomar_server::adapters::embedded::EmbeddedStore;
use uuid::Uuid;

/// The ports of one adapter.
trait Store: GeoDb + OperatorStore + AuditLog + GroupMembers + RecordStore {}
impl<T: GeoDb + OperatorStore + AuditLog + GroupMembers + RecordStore> Store for T {}

/// Write times on the two clocks of a test (the store's, in ms, and Cassandra's µs) may
/// differ by this much.
const SLACK: chrono::Duration = chrono::Duration::seconds(1);

async fn all_memberships(db: &dyn Store) -> Vec<Membership> {
    let batches: Vec<Vec<Membership>> = db.scan_memberships().try_collect().await.expect("scan");
    batches.into_iter().flatten().collect()
}

async fn all_group_backends(db: &dyn Store) -> Vec<GroupBackend> {
    let batches: Vec<Vec<GroupBackend>> = db.scan_group_backends().try_collect().await.expect("scan");
    batches.into_iter().flatten().collect()
}

fn named(prefix: &str, n: usize, site: Option<Uuid>, group: &str) -> User {
    User { last_update: Some(Utc::now().trunc_subsecs(3)), ..user(&format!("{prefix}{n:05}@example.net"), site, group) }
}

async fn the_scan_gives_every_user_once_with_membership_and_write_time(db: Arc<impl Store>) {
    let db: &dyn Store = db.as_ref();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let before = db.store_time().await.unwrap();
    // More users than a batch of either adapter holds, so the scan spans several.
    let users: Vec<User> =
        (0..2_500).map(|n| named("u", n, Some(if n % 2 == 0 { a } else { b }), &format!("g{}", n % 7))).collect();
    for chunk in users.chunks(500) {
        db.put_users(chunk).await.unwrap();
    }
    db.put_user(&user("nosite@example.net", None, "")).await.unwrap();
    let after = db.store_time().await.unwrap();

    let scanned = all_memberships(db).await;
    assert_eq!(scanned.len(), 2_501, "every user");
    let by_name: BTreeMap<&str, &Membership> = scanned.iter().map(|m| (m.username.as_str(), m)).collect();
    assert_eq!(by_name.len(), 2_501, "each once");
    for u in &users {
        let m = by_name[u.username.as_str()];
        assert_eq!((m.preferred_site_id, &m.group_name), (u.preferred_site_id, &u.group_name));
        let at = m.written_at.expect("a write time");
        assert!(at >= before - SLACK && at <= after + SLACK, "{at} within {before}..{after}");
    }
    assert_eq!(by_name["nosite@example.net"].group_key(), None);

    // A user move writes other columns: the membership's write time stays.
    let first = users[0].clone();
    let was = by_name[first.username.as_str()].written_at;
    let to =
        UserMove { site_id: a, group: "g9".into(), failover_group: String::new(), at: Utc::now().trunc_subsecs(3) };
    assert!(db.start_user_move(&first, &to).await.unwrap());
    // A new group moves it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = User { group_name: "g8".into(), ..users[1].clone() };
    db.put_user(&second).await.unwrap();
    let names = vec![first.username.clone(), second.username.clone(), "nobody@example.net".to_string()];
    let found = db.get_memberships(&names).await.unwrap();
    assert_eq!(found.len(), 2, "only the users that exist");
    let found: BTreeMap<&str, &Membership> = found.iter().map(|m| (m.username.as_str(), m)).collect();
    assert_eq!(found[first.username.as_str()].written_at, was);
    assert_eq!(found[second.username.as_str()].group_name, "g8");
    assert!(found[second.username.as_str()].written_at > by_name[second.username.as_str()].written_at);
}

async fn the_group_scan_gives_every_group_once_with_its_backend(db: Arc<impl Store>) {
    let db: &dyn Store = db.as_ref();
    let (a, b, backend) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut expected = BTreeSet::new();
    for n in 0..1_200 {
        let site = if n % 3 == 0 { b } else { a };
        let mut g = group(site, &format!("default-{n}"), backend, backend, "");
        if n == 5 {
            g.backend_id = None;
        }
        expected.insert((site, g.name.clone(), g.backend_id));
        db.put_group(&g).await.unwrap();
    }
    let scanned = all_group_backends(db).await;
    assert_eq!(scanned.len(), 1_200, "no group twice");
    let scanned: BTreeSet<_> = scanned.into_iter().map(|g| (g.site_id, g.name, g.backend_id)).collect();
    assert_eq!(scanned, expected);
}

async fn put_users_writes_rows_and_leaves_none_columns_as_they_were(db: Arc<impl Store>) {
    let db: &dyn Store = db.as_ref();
    let site = Uuid::new_v4();
    let users: Vec<User> = (0..40).map(|n| named("p", n, Some(site), "default-1")).collect();
    db.put_users(&users).await.unwrap();
    for u in &users {
        assert_eq!(db.get_user(&u.username).await.unwrap().as_ref(), Some(u));
    }
    let moved = User { group_name: "default-2".into(), preferred_site_id: None, last_update: None, ..users[0].clone() };
    db.put_users(std::slice::from_ref(&moved)).await.unwrap();
    let stored = db.get_user(&moved.username).await.unwrap().expect("still there");
    assert_eq!(stored.group_name, "default-2");
    assert_eq!((stored.preferred_site_id, stored.last_update), (Some(site), users[0].last_update));
}

fn record(site: Uuid, group: &str, username: &str) -> MemberRecord {
    MemberRecord { site_id: site, group: group.into(), username: username.into() }
}

async fn members(db: &dyn Store, site: Uuid, group: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page: Page<String> = db.list_members(site, group, PageRequest::after(cursor, 2)).await.unwrap();
        assert!(page.items.len() <= 2);
        all.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

async fn member_records_page_in_order_and_removals_spare_later_records(db: Arc<impl Store>) {
    let db: &dyn Store = db.as_ref();
    let (site, other) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(db.synced_at().await.unwrap(), None);
    let before = db.store_time().await.unwrap() - SLACK;
    let mut records: Vec<MemberRecord> =
        ["c@x", "a@x", "b@x", "d@x", "e@x"].iter().map(|u| record(site, "default-1", u)).collect();
    records.push(record(site, "default-10", "z@x"));
    records.push(record(other, "default-1", "y@x"));
    db.put_members(&records).await.unwrap();
    assert_eq!(
        members(db, site, "default-1").await,
        ["a@x", "b@x", "c@x", "d@x", "e@x"],
        "in name order, groups apart"
    );

    // Superseded before the record was written: the record is newer and stays.
    db.remove_member(site, "default-1", "a@x", before).await.unwrap();
    // Superseded since: it goes.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let now = db.store_time().await.unwrap();
    db.remove_member(site, "default-1", "b@x", now).await.unwrap();
    assert_eq!(members(db, site, "default-1").await, ["a@x", "c@x", "d@x", "e@x"]);
    // A removal hides what is written up to its time, even afterwards (a writer's clock ahead).
    let ahead = Utc::now() + chrono::Duration::hours(1);
    db.remove_member(site, "default-1", "c@x", ahead).await.unwrap();
    db.put_members(&[record(site, "default-1", "c@x")]).await.unwrap();
    assert_eq!(members(db, site, "default-1").await, ["a@x", "d@x", "e@x"]);
    // A record removed in the past comes back when written again.
    tokio::time::sleep(Duration::from_millis(5)).await;
    db.put_members(&[record(site, "default-1", "b@x")]).await.unwrap();
    assert_eq!(members(db, site, "default-1").await, ["a@x", "b@x", "d@x", "e@x"]);

    let mark: DateTime<Utc> = Utc::now().trunc_subsecs(3);
    db.set_synced_at(mark).await.unwrap();
    assert_eq!(db.synced_at().await.unwrap(), Some(mark));
}

/// Ports on `store`, with an idle embedded store for the plans and the lease.
fn ports_on<S: Store>(store: Arc<S>) -> Ports {
    let idle = Arc::new(EmbeddedStore::new());
    Ports {
        geodb: store.clone(),
        operators: store.clone(),
        audit: store.clone(),
        members: store.clone(),
        records: store,
        plans: idle.clone(),
        lease: idle,
        metrics: Arc::new(palomar_server::adapters::NoMetrics),
        doveadm: Arc::new(palomar_server::adapters::NoDoveadm),
        resolver: Arc::new(palomar_server::adapters::SyntaxOnlyResolver),
        clock: Arc::new(SystemClock),
    }
}

async fn a_census_records_only_changed_memberships_and_listings_hide_stale_ones<S: Store>(store: Arc<S>) {
    let db: &dyn Store = store.as_ref();
    let (site, backend) = (Uuid::new_v4(), Uuid::new_v4());
    for g in ["g1", "g2"] {
        db.put_group(&group(site, g, backend, backend, "")).await.unwrap();
    }
    let users: Vec<User> = (0..30).map(|n| named("c", n, Some(site), if n < 20 { "g1" } else { "g2" })).collect();
    db.put_users(&users).await.unwrap();
    db.put_user(&user("nosite@example.net", None, "g1")).await.unwrap();
    // Write times must fall before the census starts, on a millisecond clock.
    tokio::time::sleep(Duration::from_millis(20)).await;

    let census = Census::default();
    let refresh = |margin| census.refresh(db, db, db, margin, &SystemClock);
    let first = refresh(Duration::ZERO).await.unwrap();
    assert!(first.full);
    assert_eq!((first.users, first.members_written), (31, 30), "every user with a site, the first time");
    assert_eq!(census.latest().users_in(site, "g1"), 20);
    assert_eq!(census.latest().users_per_backend.get(&backend), Some(&30));
    assert_eq!(census.latest().groups_per_backend.get(&backend), Some(&2));
    assert_eq!(members(db, site, "g1").await.len(), 20);

    let second = refresh(Duration::ZERO).await.unwrap();
    assert!(!second.full);
    assert_eq!((second.users, second.members_written), (31, 0), "nothing changed");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let mover = User { group_name: "g2".into(), ..users[0].clone() };
    db.put_user(&mover).await.unwrap();
    db.delete_user(&users[1].username).await.unwrap();
    let third = refresh(Duration::ZERO).await.unwrap();
    assert_eq!((third.users, third.members_written), (30, 1), "only the user who moved");
    assert_eq!(census.latest().users_in(site, "g1"), 18);
    assert!(members(db, site, "g2").await.contains(&mover.username));
    // The old records stay until a listing finds them stale: it hides and removes them.
    assert_eq!(members(db, site, "g1").await.len(), 20);
    let services = common::services_with(ports_on(store.clone()));
    let reader = services.groups(&Caller::trusted_cli());
    let listed = reader.members(site, "g1", PageRequest::first(100)).await.unwrap();
    assert_eq!(listed.items.len(), 18);
    assert!(!listed.items.contains(&mover.username) && !listed.items.contains(&users[1].username));
    assert_eq!(members(db, site, "g1").await, listed.items, "the stale records are gone");

    // A margin reaching back past the users' writes records them all again.
    let wide = refresh(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(wide.members_written, 29);
}

/// The users-per-backend history of `site` for `backends` since the epoch, as (at, users).
async fn users_history(db: &dyn Store, site: Uuid, backends: &[Uuid]) -> BTreeMap<Uuid, Vec<(DateTime<Utc>, u64)>> {
    db.backend_users_history(site, backends, DateTime::<Utc>::UNIX_EPOCH).await.expect("history")
}

async fn backend_users_are_kept_per_site_and_backend_oldest_first(db: Arc<impl Store>) {
    let db: &dyn Store = db.as_ref();
    let (site, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (b1, b2, b3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let hour = chrono::Duration::hours(1);
    let t0 = Utc::now().trunc_subsecs(3) - hour * 3;
    db.record_backend_users(site, t0 + hour, &[(b1, 11), (b2, 21)]).await.unwrap();
    db.record_backend_users(site, t0, &[(b1, 10), (b2, 20)]).await.unwrap();
    db.record_backend_users(site, t0 + hour * 2, &[(b1, 12)]).await.unwrap();
    // The same time again replaces; another site's point of the same backend stays apart.
    db.record_backend_users(site, t0 + hour * 2, &[(b1, 13)]).await.unwrap();
    db.record_backend_users(other, t0, &[(b1, 99)]).await.unwrap();
    db.record_backend_users(site, t0, &[]).await.unwrap();

    let since = db.backend_users_history(site, &[b1, b2, b3, b1], t0 + hour).await.unwrap();
    let expected =
        BTreeMap::from([(b1, vec![(t0 + hour, 11), (t0 + hour * 2, 13)]), (b2, vec![(t0 + hour, 21)]), (b3, vec![])]);
    assert_eq!(since, expected, "from `since` on, oldest first, every backend asked once");
    assert_eq!(users_history(db, site, &[b1]).await[&b1].len(), 3);
    assert_eq!(users_history(db, other, &[b1]).await[&b1], [(t0, 99)]);
    assert!(db.backend_users_history(site, &[], t0).await.unwrap().is_empty());

    let too_many: Vec<Uuid> = (0..=MAX_HISTORY_BACKENDS as u128).map(Uuid::from_u128).collect();
    match db.backend_users_history(site, &too_many, t0).await {
        Err(StoreError::TooMany { asked, most, .. }) => assert_eq!((asked, most), (21, MAX_HISTORY_BACKENDS)),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn a_census_records_users_per_backend_at_most_once_an_hour(store: Arc<impl Store>) {
    let db: &dyn Store = store.as_ref();
    let site = Site {
        id: Uuid::new_v4(),
        name: "hist".into(),
        tag: None,
        load_balancer: String::new(),
        status: SiteStatus::Online,
    };
    db.put_site(&site).await.unwrap();
    let (b1, b2, idle) = (backend(site.id, 1, "be1"), backend(site.id, 2, "be2"), backend(site.id, 3, "be3"));
    for b in [&b1, &b2, &idle] {
        db.put_backend(b).await.unwrap();
    }
    db.put_group(&group(site.id, "g1", b1.id, b2.id, "")).await.unwrap();
    db.put_group(&group(site.id, "g2", b2.id, b1.id, "")).await.unwrap();
    let users: Vec<User> = (0..5).map(|n| named("h", n, Some(site.id), if n < 3 { "g1" } else { "g2" })).collect();
    db.put_users(&users).await.unwrap();

    let clock = ManualClock::new(Utc::now().trunc_subsecs(3));
    let census = Census::default();
    let ids = [b1.id, b2.id, idle.id];
    census.refresh(db, db, db, Duration::ZERO, &clock).await.unwrap();
    let first = clock.now();
    let expected = BTreeMap::from([(b1.id, vec![(first, 3)]), (b2.id, vec![(first, 2)]), (idle.id, vec![(first, 0)])]);
    assert_eq!(users_history(db, site.id, &ids).await, expected, "the first census records, an idle backend as 0");

    db.put_user(&named("h", 5, Some(site.id), "g1")).await.unwrap();
    clock.advance(Duration::from_secs(59 * 60));
    census.refresh(db, db, db, Duration::ZERO, &clock).await.unwrap();
    assert_eq!(census.latest().users_per_backend.get(&b1.id), Some(&4), "the census itself ran");
    assert_eq!(users_history(db, site.id, &ids).await, expected, "nothing recorded within the hour");

    clock.advance(Duration::from_secs(60));
    census.refresh(db, db, db, Duration::ZERO, &clock).await.unwrap();
    let history = users_history(db, site.id, &ids).await;
    assert_eq!(history[&b1.id], [(first, 3), (clock.now(), 4)], "an hour after the last point, another");
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(std::sync::Arc::new(palomar_server::adapters::embedded::EmbeddedStore::new())).await;
                }
            )*
        }
        mod cassandra {
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(store) = crate::common::cassandra_store(stringify!($case)).await {
                        super::$case(std::sync::Arc::new(store)).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    the_scan_gives_every_user_once_with_membership_and_write_time,
    the_group_scan_gives_every_group_once_with_its_backend,
    put_users_writes_rows_and_leaves_none_columns_as_they_were,
    member_records_page_in_order_and_removals_spare_later_records,
    a_census_records_only_changed_memberships_and_listings_hide_stale_ones,
    backend_users_are_kept_per_site_and_backend_oldest_first,
    a_census_records_users_per_backend_at_most_once_an_hour,
);
