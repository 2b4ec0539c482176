//! The sites-and-tags service's rules, on the embedded store.

use crate::common;

use std::sync::Arc;

use domain::{geodb::Backend, AppError, PageRequest, Role, SiteDraft, TagDraft};

use palomar_core::{
    ports::{BackendTable, SiteTable, TagTable},
    services::{Caller, Services},
};
use palomar_server::adapters::embedded::EmbeddedStore;
use uuid::Uuid;

fn setup() -> (Arc<EmbeddedStore>, Services) {
    let store = Arc::new(EmbeddedStore::new());
    let services = common::services_on(store.clone());
    (store, services)
}

fn draft(name: &str, tag: &str) -> SiteDraft {
    SiteDraft::parse(name, tag, "lb.example.net", "online").unwrap()
}

#[tokio::test]
async fn only_admins_get_the_topology_admin() {
    let (_, services) = setup();
    let admin = Caller::trusted_cli();
    assert!(services.topology_admin(&admin).is_ok());
    assert_eq!(admin.role(), Role::Admin);
}

#[tokio::test]
async fn site_names_are_unique() {
    let (_, services) = setup();
    let admin = services.topology_admin(&Caller::trusted_cli()).unwrap();
    let first = admin.add_site(draft("dc1a", "")).await.unwrap();
    let err = admin.add_site(draft("dc1a", "")).await.unwrap_err();
    assert_eq!(err.field(), Some("name"));
    // Saving a site under its own name is fine; taking another's is not.
    admin.update_site(first.id, draft("dc1a", ""), None).await.unwrap();
    let second = admin.add_site(draft("dc2a", "")).await.unwrap();
    assert_eq!(admin.update_site(second.id, draft("dc1a", ""), None).await.unwrap_err().field(), Some("name"));
}

#[tokio::test]
async fn a_site_tag_must_exist() {
    let (_, services) = setup();
    let admin = services.topology_admin(&Caller::trusted_cli()).unwrap();
    let err = admin.add_site(draft("dc1a", &Uuid::new_v4().to_string())).await.unwrap_err();
    assert_eq!(err.field(), Some("tag"));
    let tag = admin.create_tag(TagDraft::parse("eu").unwrap()).await.unwrap();
    assert_eq!(admin.add_site(draft("dc1a", &tag.id.to_string())).await.unwrap().tag, Some(tag.id));
}

#[tokio::test]
async fn removing_a_site_needs_its_name_and_no_backends() {
    let (store, services) = setup();
    let admin = services.topology_admin(&Caller::trusted_cli()).unwrap();
    let site = admin.add_site(draft("dc1a", "")).await.unwrap();
    assert_eq!(admin.remove_site(site.id, "dc2a").await.unwrap_err().field(), Some("confirm_name"));
    store
        .put_backend(&Backend {
            site_id: site.id,
            id: Uuid::new_v4(),
            load_factor: 100,
            host: "be1.example.net".into(),
            status: "online".into(),
            status_reason: String::new(),
            last_moved_from: String::new(),
            last_moved_to: String::new(),
        })
        .await
        .unwrap();
    assert!(matches!(admin.remove_site(site.id, "dc1a").await.unwrap_err(), AppError::Conflict(_)));
    assert!(store.get_site(site.id).await.unwrap().is_some(), "nothing removed");
    assert!(matches!(admin.remove_site(Uuid::new_v4(), "x").await.unwrap_err(), AppError::NotFound(_)));
}

#[tokio::test]
async fn tags_in_use_are_kept_and_names_are_unique() {
    let (store, services) = setup();
    let admin = services.topology_admin(&Caller::trusted_cli()).unwrap();
    let eu = admin.create_tag(TagDraft::parse("eu").unwrap()).await.unwrap();
    assert_eq!(admin.create_tag(TagDraft::parse("eu").unwrap()).await.unwrap_err().field(), Some("tag"));
    let site = admin.add_site(draft("dc1a", &eu.id.to_string())).await.unwrap();
    assert!(matches!(admin.remove_tag(eu.id).await.unwrap_err(), AppError::Conflict(_)));
    let renamed = admin.rename_tag(eu.id, TagDraft::parse("europe").unwrap()).await.unwrap();
    assert_eq!(renamed.id, eu.id);
    admin.update_site(site.id, draft("dc1a", ""), None).await.unwrap();
    admin.remove_tag(eu.id).await.unwrap();
    assert!(store.list_tags(PageRequest::first(10)).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn the_sites_list_counts_backends_and_names_tags() {
    let (store, services) = setup();
    palomar_server::seed::seed_sample_cluster(
        store.clone(),
        palomar_server::seed::SampleSize { sites: 2, backends_per_site: 3, groups_per_site: 4, users: 10 },
        4,
    )
    .await
    .unwrap();
    let rows = services.topology(&Caller::trusted_cli()).list_sites(PageRequest::first(10)).await.unwrap().items;
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.backends == 3 && !r.more_backends && r.tag_name.as_deref() == Some("eu") && r.traffic.is_none()));
}

#[tokio::test]
async fn operators_need_strong_unique_passwords_and_names() {
    let (_, services) = setup();
    let admin = services.operator_admin(&Caller::trusted_cli()).unwrap();
    assert_eq!(admin.add("ops", Role::Operator, "short").await.unwrap_err().field(), Some("password"));
    assert_eq!(
        admin.add("bad name", Role::Operator, "long enough password").await.unwrap_err().field(),
        Some("username")
    );
    admin.add("ops", Role::Operator, "long enough password").await.unwrap();
    assert_eq!(admin.add("ops", Role::Admin, "another long password").await.unwrap_err().field(), Some("username"));
    let accounts = services.accounts();
    assert_eq!(
        accounts.verify_login("ops", "long enough password", None, None).await.unwrap().operator.role,
        Role::Operator
    );
    assert!(accounts.verify_login("ops", "wrong password!!", None, None).await.is_err());
}

#[tokio::test]
async fn the_last_admin_stays_and_nobody_demotes_themselves() {
    let (store, services) = setup();
    let cli = services.operator_admin(&Caller::trusted_cli()).unwrap();
    cli.add("root", Role::Admin, "long enough password").await.unwrap();
    cli.add("ops", Role::Operator, "long enough password").await.unwrap();
    assert!(matches!(cli.set_role("root", Role::Viewer).await.unwrap_err(), AppError::Conflict(_)), "last admin");
    assert!(matches!(cli.set_disabled("root", true).await.unwrap_err(), AppError::Conflict(_)), "last admin");
    cli.set_role("ops", Role::Admin).await.unwrap();
    cli.set_disabled("root", true).await.unwrap();
    assert!(services.accounts().active("root").await.unwrap().is_none(), "disabled accounts are not active");
    cli.set_disabled("root", false).await.unwrap();
    cli.reset_password("ops", "a brand new password").await.unwrap();
    assert!(services.accounts().verify_login("ops", "a brand new password", None, None).await.is_ok());
    let actions: Vec<String> = palomar_core::ports::AuditLog::list_day(
        store.as_ref(),
        chrono::Utc::now().date_naive(),
        PageRequest::first(50),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .map(|r| r.action)
    .collect();
    for action in ["operator.add", "operator.role", "operator.disable", "operator.enable", "operator.password"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

#[tokio::test]
async fn every_topology_change_is_audited_first() {
    let (store, services) = setup();
    let admin = services.topology_admin(&Caller::trusted_cli()).unwrap();
    let tag = admin.create_tag(TagDraft::parse("eu").unwrap()).await.unwrap();
    let site = admin.add_site(draft("dc1a", &tag.id.to_string())).await.unwrap();
    admin.update_site(site.id, draft("dc1a", ""), None).await.unwrap();
    admin.rename_tag(tag.id, TagDraft::parse("europe").unwrap()).await.unwrap();
    admin.remove_tag(tag.id).await.unwrap();
    admin.remove_site(site.id, "dc1a").await.unwrap();
    let records = palomar_core::ports::AuditLog::list_day(
        store.as_ref(),
        chrono::Utc::now().date_naive(),
        PageRequest::first(50),
    )
    .await
    .unwrap()
    .items;
    let mut actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    actions.reverse();
    assert_eq!(actions, ["tag.create", "site.add", "site.update", "tag.rename", "tag.remove", "site.remove"]);
    let update = records.iter().find(|r| r.action == "site.update").unwrap();
    assert_eq!(update.operator, "cli");
    assert!(
        update.before.contains(&tag.id.to_string()) && !update.after.contains(&tag.id.to_string()),
        "before and after"
    );
    // Bad input writes neither the change nor an audit record.
    assert!(admin.add_site(draft("dc1a", &Uuid::new_v4().to_string())).await.is_err());
    let after = palomar_core::ports::AuditLog::list_day(
        store.as_ref(),
        chrono::Utc::now().date_naive(),
        PageRequest::first(50),
    )
    .await
    .unwrap()
    .items;
    assert_eq!(after.len(), records.len());
}
