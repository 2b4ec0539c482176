//! One conformance suite for every GeoDB and operator-store adapter: the embedded store and
//! Cassandra must answer the same way, so they cannot drift apart.

use crate::common;

use std::collections::BTreeSet;

use domain::{
    geodb::{Backend, BackendStatus, MoveSide, User, UserGroup, UserMove},
    Page, PageRequest, Role, Site, SiteStatus, Tag,
};

use chrono::{DateTime, SubsecRound, Utc};
use futures::TryStreamExt;
use palomar_core::ports::{AuditLog, ControllerStore, GeoDb, GroupMembers, OperatorRecord, OperatorStore, StoreError};
use uuid::Uuid;

/// The ports of one adapter.
trait Store: GeoDb + OperatorStore + AuditLog + GroupMembers + ControllerStore {}
impl<T: GeoDb + OperatorStore + AuditLog + GroupMembers + ControllerStore> Store for T {}

fn site(name: &str, tag: Option<Uuid>, status: SiteStatus) -> Site {
    Site { id: Uuid::new_v4(), name: name.into(), tag, load_balancer: format!("lb.{name}.example.net"), status }
}

fn backend(site_id: Uuid, host: &str) -> Backend {
    Backend {
        site_id,
        id: Uuid::new_v4(),
        load_factor: 100,
        host: host.into(),
        status: "standby".into(),
        status_reason: "added".into(),
        last_moved_from: String::new(),
        last_moved_to: "2026-11-28T10:00:00Z".into(),
    }
}

fn group(site_id: Uuid, name: &str, backend_id: Uuid) -> UserGroup {
    UserGroup {
        site_id,
        name: name.into(),
        backend_id: Some(backend_id),
        alt_backend_id: None,
        sticky_users: 0,
        moving: String::new(),
        refresh_after: None,
        sticky_backend: 1,
    }
}

/// Cassandra keeps timestamps in milliseconds.
fn now_ms() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Reads every page with `limit`, checking each page's size.
async fn all_pages<T, F, Fut>(limit: u32, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let page = fetch(PageRequest::after(cursor, limit)).await.expect("page");
        assert!(page.items.len() <= limit as usize, "a page is never larger than asked");
        all.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
    panic!("paging did not end");
}

async fn tags_round_trip(db: &dyn Store) {
    let tag = Tag { id: Uuid::new_v4(), tag: "eu".into() };
    db.put_tag(&tag).await.unwrap();
    assert_eq!(db.get_tag(tag.id).await.unwrap(), Some(tag.clone()));
    let renamed = Tag { tag: "europe".into(), ..tag.clone() };
    db.put_tag(&renamed).await.unwrap();
    assert_eq!(db.list_tags(PageRequest::first(10)).await.unwrap().items, vec![renamed.clone()]);
    assert!(!db.remove_tag(&tag).await.unwrap(), "refused: renamed since");
    assert!(db.remove_tag(&renamed).await.unwrap());
    assert_eq!(db.get_tag(tag.id).await.unwrap(), None);
    assert!(db.list_tags(PageRequest::first(10)).await.unwrap().items.is_empty());
}

async fn tags_change_only_from_the_row_seen(db: &dyn Store) {
    let tag = Tag { id: Uuid::new_v4(), tag: "eu".into() };
    assert!(db.write_tag(None, &tag).await.unwrap());
    assert!(!db.write_tag(None, &Tag { tag: "us".into(), ..tag.clone() }).await.unwrap(), "refused: the id exists");
    let renamed = Tag { tag: "europe".into(), ..tag.clone() };
    assert!(db.write_tag(Some(&tag), &renamed).await.unwrap());
    assert!(!db.write_tag(Some(&tag), &Tag { tag: "emea".into(), ..tag.clone() }).await.unwrap(), "refused: renamed");
    assert_eq!(db.get_tag(tag.id).await.unwrap(), Some(renamed.clone()));
    assert!(db.remove_tag(&renamed).await.unwrap());
    assert!(!db.write_tag(Some(&renamed), &tag).await.unwrap(), "refused: gone, and not made up");
    assert_eq!(db.get_tag(tag.id).await.unwrap(), None);
}

async fn sites_round_trip(db: &dyn Store) {
    let tagged = site("dc1a", Some(Uuid::new_v4()), SiteStatus::Online);
    let untagged = Site { load_balancer: String::new(), ..site("dc2a", None, SiteStatus::Evacuate) };
    for s in [&tagged, &untagged] {
        db.put_site(s).await.unwrap();
        assert_eq!(db.get_site(s.id).await.unwrap().as_ref(), Some(s));
    }
    let edited = Site { status: SiteStatus::Standby, tag: None, ..tagged.clone() };
    db.put_site(&edited).await.unwrap();
    assert_eq!(db.get_site(edited.id).await.unwrap(), Some(edited.clone()));
    assert!(db.remove_site(&untagged).await.unwrap());
    assert_eq!(db.get_site(untagged.id).await.unwrap(), None);
    assert_eq!(db.list_sites(PageRequest::first(10)).await.unwrap().items, vec![edited]);
}

async fn sites_change_only_from_the_row_seen(db: &dyn Store) {
    // Every column takes part: a tag and a load balancer, and neither.
    let tagged = site("dc1a", Some(Uuid::new_v4()), SiteStatus::Online);
    let bare = Site { load_balancer: String::new(), ..site("dc2a", None, SiteStatus::Online) };
    for s in [&tagged, &bare] {
        assert!(db.write_site(None, s).await.unwrap());
        assert!(!db.write_site(None, s).await.unwrap(), "refused: the id exists");
        let edited = Site { status: SiteStatus::Standby, ..s.clone() };
        assert!(db.write_site(Some(s), &edited).await.unwrap());
        let other = Site { name: "dc9".into(), ..s.clone() };
        assert!(!db.write_site(Some(s), &other).await.unwrap(), "refused: edited since");
        assert!(!db.remove_site(s).await.unwrap(), "refused: edited since");
        assert_eq!(db.get_site(s.id).await.unwrap(), Some(edited.clone()));
        let retagged = Site { tag: Some(Uuid::new_v4()), load_balancer: "lb.example.net".into(), ..edited.clone() };
        assert!(db.write_site(Some(&edited), &retagged).await.unwrap());
        assert!(db.remove_site(&retagged).await.unwrap());
        assert!(!db.write_site(Some(&retagged), &edited).await.unwrap(), "refused: gone, and not made up");
        assert_eq!(db.get_site(s.id).await.unwrap(), None);
    }
}

async fn a_backend_is_added_once(db: &dyn Store) {
    let site = Uuid::new_v4();
    let b = backend(site, "be1.example.net");
    assert!(db.add_backend(&b).await.unwrap());
    assert!(!db.add_backend(&Backend { host: "be2.example.net".into(), ..b.clone() }).await.unwrap());
    assert_eq!(db.get_backend(site, b.id).await.unwrap().map(|r| r.host), Some(b.host));
}

async fn unknown_site_status_is_kept(db: &dyn Store) {
    let s = site("dc3a", None, SiteStatus::Other("draining".into()));
    db.put_site(&s).await.unwrap();
    assert_eq!(db.get_site(s.id).await.unwrap().map(|s| s.status), Some(SiteStatus::Other("draining".into())));
}

async fn paging_visits_every_row_once(db: &dyn Store) {
    let mut ids = BTreeSet::new();
    for i in 0..23 {
        let s = site(&format!("site{i}"), None, SiteStatus::Online);
        ids.insert(s.id);
        db.put_site(&s).await.unwrap();
    }
    let seen: Vec<Uuid> = all_pages(5, |page| db.list_sites(page)).await.into_iter().map(|s| s.id).collect();
    assert_eq!(seen.len(), 23, "no row twice");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), ids, "every row once");
}

async fn bad_cursor_is_refused(db: &dyn Store) {
    let result = db.list_sites(PageRequest::after(Some("not a cursor!".into()), 5)).await;
    assert_eq!(result.unwrap_err(), StoreError::BadCursor);
}

async fn backends_are_per_site(db: &dyn Store) {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut in_a = vec![backend(a, "be1.a.example.net"), backend(a, "be2.a.example.net")];
    for be in in_a.iter().chain([&backend(b, "be1.b.example.net")]) {
        db.put_backend(be).await.unwrap();
    }
    let mut listed = all_pages(1, |page| db.list_backends(a, page)).await;
    listed.sort_by_key(|be| be.id);
    in_a.sort_by_key(|be| be.id);
    assert_eq!(listed, in_a);
}

async fn groups_are_per_site_in_name_order(db: &dyn Store) {
    let (a, b, be) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for name in ["default-2", "default-10", "default-1"] {
        db.put_group(&group(a, name, be)).await.unwrap();
    }
    let moving = UserGroup {
        moving: "token".into(),
        refresh_after: Some(now_ms()),
        alt_backend_id: Some(be),
        ..group(b, "x", be)
    };
    db.put_group(&moving).await.unwrap();
    let names: Vec<String> = all_pages(2, |page| db.list_groups(a, page)).await.into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["default-1", "default-10", "default-2"]);
    assert_eq!(db.list_groups(b, PageRequest::first(10)).await.unwrap().items, vec![moving.clone()]);
    assert_eq!(db.get_group(b, "x").await.unwrap(), Some(moving));
    assert_eq!(db.get_group(a, "x").await.unwrap(), None);
}

async fn users_round_trip(db: &dyn Store) {
    let user = User {
        username: "alice@example.net".into(),
        preferred_site_id: Some(Uuid::new_v4()),
        group_name: "default-7".into(),
        failover_site_group_name: "default-7".into(),
        metacache_last_host: "be1.dc1a.example.net".into(),
        moving_preferred_site_id: None,
        moving_group_name: String::new(),
        moving_failover_site_group_name: String::new(),
        last_update: Some(now_ms()),
    };
    db.put_user(&user).await.unwrap();
    assert_eq!(db.get_user("alice@example.net").await.unwrap(), Some(user.clone()));
    assert_eq!(db.get_user("nobody@example.net").await.unwrap(), None);
    for i in 0..6 {
        db.put_user(&User { username: format!("u{i}@example.net"), ..user.clone() }).await.unwrap();
    }
    let all: Vec<_> = db.scan_memberships().try_collect::<Vec<_>>().await.unwrap().into_iter().flatten().collect();
    assert_eq!(all.len(), 7);
    assert_eq!(all.iter().map(|u| &u.username).collect::<BTreeSet<_>>().len(), 7);
}

async fn seeding_writes_many_and_leaves_empty_columns_as_they_were(db: &dyn Store) {
    let site = Uuid::new_v4();
    let (b1, b2) = (Uuid::new_v4(), Uuid::new_v4());
    let groups: Vec<UserGroup> =
        (1..=250).map(|n| common::rows::group(site, &format!("default-{n}"), b1, b2, "")).collect();
    db.put_groups(&groups).await.unwrap();
    assert_eq!(all_pages(100, |page| db.list_groups(site, page)).await.len(), 250);
    assert_eq!(db.get_group(site, "default-7").await.unwrap(), Some(groups[6].clone()));
    // Over an existing row, an empty `moving` keeps the row's own.
    db.put_group(&common::rows::group(site, "default-9", b1, b2, "token-9")).await.unwrap();
    db.put_groups(&groups[8..9]).await.unwrap();
    assert_eq!(db.get_group(site, "default-9").await.unwrap().map(|g| g.moving), Some("token-9".to_string()));

    let user = User {
        username: "seeded@example.net".into(),
        preferred_site_id: Some(site),
        group_name: "default-1".into(),
        failover_site_group_name: "default-1".into(),
        metacache_last_host: String::new(),
        moving_preferred_site_id: None,
        moving_group_name: String::new(),
        moving_failover_site_group_name: String::new(),
        last_update: Some(now_ms()),
    };
    db.put_users(std::slice::from_ref(&user)).await.unwrap();
    assert_eq!(db.get_user(&user.username).await.unwrap(), Some(user.clone()), "empty columns read back empty");
    db.put_user(&User { metacache_last_host: "be1.dc1a.example.net".into(), ..user.clone() }).await.unwrap();
    db.put_users(std::slice::from_ref(&user)).await.unwrap();
    let kept = db.get_user(&user.username).await.unwrap().map(|u| u.metacache_last_host);
    assert_eq!(kept.as_deref(), Some("be1.dc1a.example.net"), "an empty column is not written");
}

async fn operators_round_trip(db: &dyn Store) {
    let op = OperatorRecord {
        username: "ops".into(),
        role: Role::Operator,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        created_at: now_ms(),
    };
    db.put_operator(&op).await.unwrap();
    assert_eq!(db.get_operator("ops").await.unwrap(), Some(op.clone()));
    let disabled = OperatorRecord { disabled: true, role: Role::Admin, ..op };
    db.put_operator(&disabled).await.unwrap();
    assert_eq!(db.list_operators(PageRequest::first(10)).await.unwrap().items, vec![disabled]);
    assert_eq!(db.get_operator("nobody").await.unwrap(), None);
}

/// Revocation: an operator's session epoch is unset, then the last one set.
async fn operator_session_epochs(db: &dyn Store) {
    assert_eq!(db.session_epoch("ops").await.unwrap(), None);
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    db.set_session_epoch("ops", first).await.unwrap();
    assert_eq!(db.session_epoch("ops").await.unwrap(), Some(first));
    db.set_session_epoch("ops", second).await.unwrap();
    assert_eq!(db.session_epoch("ops").await.unwrap(), Some(second));
    assert_eq!(db.session_epoch("other").await.unwrap(), None, "per operator");
}

async fn audit_log_pages_a_day_newest_first(db: &dyn Store) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let start = day.and_hms_opt(8, 0, 0).unwrap().and_utc();
    let record = |minutes: i64, action: &str| domain::audit::AuditRecord {
        id: Uuid::new_v4(),
        at: start + chrono::Duration::minutes(minutes),
        operator: "alice".into(),
        client_ip: "192.0.2.1".into(),
        user_agent: "test".into(),
        action: action.into(),
        target: "dc1a".into(),
        before: String::new(),
        after: r#"{"name":"dc1a"}"#.into(),
        token: (minutes == 6).then(|| Uuid::from_u128(6)),
    };
    for m in 0..7 {
        db.append(&record(m, &format!("site.update{m}"))).await.unwrap();
    }
    db.append(&record(24 * 60, "next.day")).await.unwrap();
    let all = all_pages(3, |page| db.list_day(day, page)).await;
    let actions: Vec<&str> = all.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "site.update6",
            "site.update5",
            "site.update4",
            "site.update3",
            "site.update2",
            "site.update1",
            "site.update0"
        ]
    );
    assert_eq!(all[0].after, r#"{"name":"dc1a"}"#);
    assert_eq!(all[0].at, start + chrono::Duration::minutes(6));
    assert_eq!((all[0].token, all[1].token), (Some(Uuid::from_u128(6)), None), "the API token, when one was used");
}

async fn api_tokens_round_trip_and_revoke(db: &dyn Store) {
    use domain::token::TokenRecord;
    let now = chrono::Utc::now().trunc_subsecs(3);
    let token = TokenRecord {
        id: Uuid::new_v4(),
        owner: "alice".into(),
        role: domain::Role::Operator,
        name: "ansible".into(),
        secret_hash: "ab".repeat(32),
        created_by: "root".into(),
        created_at: now,
        expires_at: now + chrono::Duration::days(90),
        revoked: false,
    };
    assert!(db.insert_token(&token).await.unwrap());
    assert!(
        !db.insert_token(&TokenRecord { name: "other".into(), ..token.clone() }).await.unwrap(),
        "ids are not reused"
    );
    assert_eq!(db.get_token(token.id).await.unwrap(), Some(token.clone()));
    let listed = all_pages(2, |page| db.list_tokens(page)).await;
    assert!(listed.contains(&token));
    assert!(db.revoke_token(token.id).await.unwrap());
    assert_eq!(db.get_token(token.id).await.unwrap().map(|t| t.revoked), Some(true));
    assert!(!db.revoke_token(Uuid::new_v4()).await.unwrap(), "no such token");
}

async fn backends_get_and_delete(db: &dyn Store) {
    let site = Uuid::new_v4();
    let be = backend(site, "be1.example.net");
    db.put_backend(&be).await.unwrap();
    assert_eq!(db.get_backend(site, be.id).await.unwrap(), Some(be.clone()));
    assert_eq!(db.get_backend(Uuid::new_v4(), be.id).await.unwrap(), None);
    db.delete_backend(site, be.id).await.unwrap();
    assert_eq!(db.get_backend(site, be.id).await.unwrap(), None);
}

async fn a_group_move_starts_only_once(db: &dyn Store) {
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

async fn a_backend_status_changes_only_from_the_status_seen(db: &dyn Store) {
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

async fn a_backends_move_times_change_only_from_the_value_seen(db: &dyn Store) {
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

async fn a_group_move_ends_only_if_it_is_still_the_same_move(db: &dyn Store) {
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

fn move_record(
    site: Uuid,
    group: &str,
    created: DateTime<Utc>,
    state: domain::controller::MoveState,
) -> domain::controller::MoveRecord {
    domain::controller::MoveRecord {
        id: Uuid::new_v4(),
        site_id: site,
        group: group.into(),
        source: Some(Uuid::new_v4()),
        source_host: "a".into(),
        destination: Uuid::new_v4(),
        destination_host: "b".into(),
        moving_token: "t".into(),
        initiated_by: domain::controller::Initiator::External,
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

async fn decisions_and_moves_round_trip(db: &dyn Store) {
    use domain::{
        controller::{DecisionRecord, MoveState, Outcome},
        feature::{Feature, FeatureState},
        planning::{Action, Decision},
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
            action: Some(Action::MoveGroup { group: format!("g{i}"), from: Uuid::nil(), to: Uuid::max() }),
            summary: format!("decision {i}"),
            inputs: [("delta".to_string(), 1.5)].into_iter().collect(),
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

async fn backend_columns_change_only_from_the_values_seen(db: &dyn Store) {
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

async fn group_sticky_flags_change_only_from_the_values_seen(db: &dyn Store) {
    let site = Uuid::new_v4();
    let (src, dst) = (Uuid::new_v4(), Uuid::new_v4());
    db.put_group(&group(site, "g", src)).await.unwrap();
    assert!(db.start_group_move(site, "g", dst, "move-1").await.unwrap());
    assert!(!db.set_group_sticky(site, "g", (1, 0), (0, 1)).await.unwrap(), "refused: users were not sticky");
    assert!(db.set_group_sticky(site, "g", (0, 1), (1, 1)).await.unwrap());
    let g = db.get_group(site, "g").await.unwrap().unwrap();
    assert_eq!((g.sticky_users, g.sticky_backend), (1, 1));
    assert_eq!((g.backend_id, g.alt_backend_id, g.moving.as_str()), (Some(src), Some(dst), "move-1"), "the move stays");
    assert!(!db.set_group_sticky(site, "missing", (0, 0), (1, 1)).await.unwrap(), "no such group");
    assert!(db.get_group(site, "missing").await.unwrap().is_none(), "no row made up");
    assert!(!db.create_group(&group(site, "g", dst)).await.unwrap(), "an existing group is kept");
    assert_eq!(db.get_group(site, "g").await.unwrap().unwrap().backend_id, Some(src));
    assert!(db.create_group(&group(site, "h", dst)).await.unwrap());
}

async fn a_user_move_starts_only_from_the_values_seen(db: &dyn Store) {
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

async fn users_delete(db: &dyn Store) {
    let user = common::rows::user("gone@example.net", None, "g");
    db.put_user(&user).await.unwrap();
    db.delete_user("gone@example.net").await.unwrap();
    assert_eq!(db.get_user("gone@example.net").await.unwrap(), None);
}

async fn settings_by_section(db: &dyn Store) {
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

async fn settings_change_only_from_the_value_seen(db: &dyn Store) {
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

async fn reachability_group_sites_and_stats(db: &dyn Store) {
    use domain::geodb::{BackendStat, GroupSite, ProxyDestStat, Reachability};
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    db.put_reachability(&Reachability { src_site_id: a, dest_site_id: b, reachable: 1 }).await.unwrap();
    db.put_reachability(&Reachability { src_site_id: b, dest_site_id: a, reachable: 0 }).await.unwrap();
    assert_eq!(all_pages(1, |page| db.list_reachability(page)).await.len(), 2);
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

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = palomar_server::adapters::embedded::EmbeddedStore::new();
                    super::$case(&store).await;
                }
            )*
        }
        mod cassandra {
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(store) = crate::common::cassandra_store(stringify!($case)).await {
                        super::$case(&store).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    tags_round_trip,
    tags_change_only_from_the_row_seen,
    sites_round_trip,
    sites_change_only_from_the_row_seen,
    a_backend_is_added_once,
    settings_change_only_from_the_value_seen,
    unknown_site_status_is_kept,
    paging_visits_every_row_once,
    bad_cursor_is_refused,
    backends_are_per_site,
    groups_are_per_site_in_name_order,
    users_round_trip,
    operators_round_trip,
    operator_session_epochs,
    audit_log_pages_a_day_newest_first,
    seeding_writes_many_and_leaves_empty_columns_as_they_were,
    api_tokens_round_trip_and_revoke,
    backends_get_and_delete,
    a_group_move_starts_only_once,
    a_group_move_ends_only_if_it_is_still_the_same_move,
    a_backend_status_changes_only_from_the_status_seen,
    a_backends_move_times_change_only_from_the_value_seen,
    backend_columns_change_only_from_the_values_seen,
    group_sticky_flags_change_only_from_the_values_seen,
    a_user_move_starts_only_from_the_values_seen,
    decisions_and_moves_round_trip,
    users_delete,
    settings_by_section,
    reachability_group_sites_and_stats,
);
