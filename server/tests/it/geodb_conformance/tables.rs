//! Rows read back as written, page by page: topology, users, operators, the audit log, tokens.

use super::*;

pub(super) async fn tags_round_trip(db: &dyn Store) {
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

pub(super) async fn tags_change_only_from_the_row_seen(db: &dyn Store) {
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

pub(super) async fn sites_round_trip(db: &dyn Store) {
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

pub(super) async fn sites_change_only_from_the_row_seen(db: &dyn Store) {
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

pub(super) async fn a_backend_is_added_once(db: &dyn Store) {
    let site = Uuid::new_v4();
    let b = backend(site, "be1.example.net");
    assert!(db.add_backend(&b).await.unwrap());
    assert!(!db.add_backend(&Backend { host: "be2.example.net".into(), ..b.clone() }).await.unwrap());
    assert_eq!(db.get_backend(site, b.id).await.unwrap().map(|r| r.host), Some(b.host));
}

pub(super) async fn unknown_site_status_is_kept(db: &dyn Store) {
    let s = site("dc3a", None, SiteStatus::Other("draining".into()));
    db.put_site(&s).await.unwrap();
    assert_eq!(db.get_site(s.id).await.unwrap().map(|s| s.status), Some(SiteStatus::Other("draining".into())));
}

pub(super) async fn paging_visits_every_row_once(db: &dyn Store) {
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

pub(super) async fn bad_cursor_is_refused(db: &dyn Store) {
    let result = db.list_sites(PageRequest::after(Some("not a cursor!".into()), 5)).await;
    assert_eq!(result.unwrap_err(), StoreError::BadCursor);
}

pub(super) async fn backends_are_per_site(db: &dyn Store) {
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

pub(super) async fn groups_are_per_site_in_name_order(db: &dyn Store) {
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

pub(super) async fn users_round_trip(db: &dyn Store) {
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

pub(super) async fn seeding_writes_many_and_leaves_empty_columns_as_they_were(db: &dyn Store) {
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

pub(super) async fn operators_round_trip(db: &dyn Store) {
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
pub(super) async fn operator_session_epochs(db: &dyn Store) {
    assert_eq!(db.session_epoch("ops").await.unwrap(), None);
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    db.set_session_epoch("ops", first).await.unwrap();
    assert_eq!(db.session_epoch("ops").await.unwrap(), Some(first));
    db.set_session_epoch("ops", second).await.unwrap();
    assert_eq!(db.session_epoch("ops").await.unwrap(), Some(second));
    assert_eq!(db.session_epoch("other").await.unwrap(), None, "per operator");
}

pub(super) async fn audit_log_pages_a_day_newest_first(db: &dyn Store) {
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

pub(super) async fn api_tokens_round_trip_and_revoke(db: &dyn Store) {
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
