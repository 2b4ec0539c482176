//! The services behind the backends, groups, users, settings and stats pages, on the embedded
//! store: their rules, their role gates and their audit records.

use crate::common;

use std::sync::Arc;

use domain::{
    cluster::{parse_backend_host, GroupFilter},
    feature::{Feature, FeatureState},
    geodb::{ClusterSetting, ProxyDestStat},
    moves::Initiator,
    AppError, PageRequest,
};

use palomar_core::{
    ports::{AuditLog, BackendTable, GroupTable, SiteTable, StatTables},
    services::{Caller, Services},
};
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    seed::{seed_sample_cluster, SampleSize},
};
use uuid::Uuid;

struct World {
    store: Arc<EmbeddedStore>,
    services: Services,
    site: Uuid,
    admin: Caller,
}

async fn world() -> World {
    let store = Arc::new(EmbeddedStore::new());
    let report = seed_sample_cluster(
        store.clone(),
        SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 6, users: 60 },
        1,
    )
    .await
    .unwrap();
    let services = common::services_on(store.clone());
    World { store, services, site: report.sites[0].id, admin: Caller::trusted_cli() }
}

impl World {
    async fn backends(&self) -> Vec<domain::geodb::Backend> {
        let mut list = self.store.list_backends(self.site, PageRequest::first(50)).await.unwrap().items;
        list.sort_by(|a, b| a.host.cmp(&b.host));
        list
    }

    async fn actions(&self) -> Vec<String> {
        self.store
            .list_day(chrono::Utc::now().date_naive(), PageRequest::first(500))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.action)
            .collect()
    }
}

#[tokio::test]
async fn backends_are_added_in_standby_and_checked() {
    let w = world().await;
    let admin = w.services.backend_admin(&w.admin).unwrap();
    let added = admin
        .add(w.site, parse_backend_host("be9.dc1a.example.net", domain::edition::DovecotEdition::Pro).unwrap())
        .await
        .unwrap();
    assert_eq!((added.status.as_str(), added.load_factor), ("standby", 100));
    let again = admin.add(w.site, "be9.dc1a.example.net".parse().unwrap()).await.unwrap_err();
    assert_eq!(again.field(), Some("host"));
    let dns = palomar_server::adapters::DnsResolver;
    assert!(
        palomar_core::ports::HostResolver::check(&dns, "no-such-name.invalid").await.is_err(),
        "the DNS check refuses unknown names"
    );
    assert!(palomar_core::ports::HostResolver::check(&dns, "localhost").await.is_ok());
}

#[tokio::test]
async fn status_load_factor_and_evacuation_are_audited() {
    let w = world().await;
    let be = w.backends().await.remove(0);
    let ops = w.services.backend_ops(&w.admin).unwrap();
    assert_eq!(ops.set_status(w.site, be.id, "offline".into()).await.unwrap().status.as_str(), "offline");
    assert_eq!(ops.set_load_factor(w.site, be.id, "25".parse().unwrap()).await.unwrap().load_factor, 25);
    let evacuated = ops.evacuate(w.site, be.id).await.unwrap();
    assert_eq!((evacuated.status.as_str(), evacuated.load_factor), ("standby", 0));
    assert!(evacuated.status_reason.contains("evacuated by operator cli"));
    let actions = w.actions().await;
    for action in ["backend.status", "backend.load_factor", "backend.evacuate"] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

#[tokio::test]
async fn a_backend_serving_groups_is_removed_only_by_force() {
    let w = world().await;
    let be = w.backends().await.remove(0);
    let admin = w.services.backend_admin(&w.admin).unwrap();
    assert!(matches!(admin.remove(w.site, be.id, false).await.unwrap_err(), AppError::Conflict(_)));
    assert!(w.store.get_backend(w.site, be.id).await.unwrap().is_some(), "nothing removed");
    admin.remove(w.site, be.id, true).await.unwrap();
    assert!(w.store.get_backend(w.site, be.id).await.unwrap().is_none());
    assert!(w.actions().await.iter().any(|a| a == "backend.remove.forced"));
}

#[tokio::test]
async fn group_moves_go_only_to_eligible_backends_once() {
    let w = world().await;
    let backends = w.backends().await;
    let group = w.store.get_group(w.site, "default-1").await.unwrap().unwrap();
    let own = group.backend_id.unwrap();
    let ops = w.services.group_ops(&w.admin).unwrap();
    assert_eq!(
        ops.start_move(w.site, "default-1", own).await.unwrap_err().field(),
        Some("destination"),
        "not to itself"
    );
    let other = backends.iter().find(|b| b.id != own).unwrap();
    w.services
        .backend_ops(&w.admin)
        .unwrap()
        .set_load_factor(w.site, other.id, domain::LoadFactor::DRAINED)
        .await
        .unwrap();
    assert_eq!(
        ops.start_move(w.site, "default-1", other.id).await.unwrap_err().field(),
        Some("destination"),
        "not to a drained one"
    );
    let third = backends.iter().find(|b| b.id != own && b.id != other.id).unwrap();
    let moved = ops.start_move(w.site, "default-1", third.id).await.unwrap();
    assert_eq!(moved.initiated_by, Initiator::Operator("cli".into()), "who started it is a type, not a token prefix");
    let row = w.store.get_group(w.site, "default-1").await.unwrap().unwrap();
    assert_eq!(row.moving_token(), Some(moved.moving_token.as_str()));
    assert_eq!(row.alt_backend_id, Some(third.id));
    assert!(
        matches!(ops.start_move(w.site, "default-1", third.id).await.unwrap_err(), AppError::Conflict(_)),
        "already moving"
    );
    let detail = w.services.groups(&w.admin).detail(w.site, "default-1").await.unwrap();
    assert!(detail.destinations.iter().all(|(id, _)| *id != own && *id != other.id));
}

#[tokio::test]
async fn group_lists_filter_and_site_init_keeps_existing_groups() {
    let w = world().await;
    let reader = w.services.groups(&w.admin);
    let all = reader.list(w.site, &GroupFilter::default(), PageRequest::first(100)).await.unwrap();
    assert_eq!(all.rows.len(), 6);
    let masked =
        reader.list(w.site, &GroupFilter::parse("", "default-1*", "").unwrap(), PageRequest::first(100)).await.unwrap();
    assert_eq!(masked.rows.iter().map(|r| r.group.name.as_str()).collect::<Vec<_>>(), ["default-1"]);
    // The backend filter takes a host name (a site may have thousands of backends).
    let host = all.rows[0].backend_host.clone();
    let on_host =
        reader.list(w.site, &GroupFilter::parse(&host, "", "").unwrap(), PageRequest::first(100)).await.unwrap();
    assert!(!on_host.rows.is_empty() && on_host.rows.iter().all(|r| r.backend_host == host), "{host}");
    assert!(on_host.rows.len() < all.rows.len());
    let unknown = GroupFilter::parse("be99.nowhere.example.net", "", "").unwrap();
    assert!(matches!(
        reader.list(w.site, &unknown, PageRequest::first(100)).await.unwrap_err(),
        AppError::Invalid { .. }
    ));
    let created = w.services.group_admin(&w.admin).unwrap().init_site(w.site, 10).await.unwrap();
    assert_eq!(created, 4, "default-7..10 were missing");
    assert!(w.services.group_admin(&w.admin).unwrap().init_site(w.site, 0).await.is_err());
}

#[tokio::test]
async fn the_census_counts_and_lists_group_members() {
    let w = world().await;
    w.services.refresh_census(std::time::Duration::from_secs(600)).await.unwrap();
    let list = w.services.backends(&w.admin).list(w.site, PageRequest::first(10)).await.unwrap();
    assert!(list.counted_at.is_some());
    assert_eq!(list.rows.iter().filter_map(|r| r.groups).sum::<u64>(), 6);
    assert_eq!(list.rows.iter().filter_map(|r| r.users).sum::<u64>(), 60);
    let members = w.services.groups(&w.admin).members(w.site, "default-1", PageRequest::first(100)).await.unwrap();
    assert_eq!(members.items.len(), 10);
}

#[tokio::test]
async fn user_lookup_explains_the_route_and_moves_use_the_moving_fields() {
    let w = world().await;
    let reader = w.services.users(&w.admin);
    let detail = reader.lookup("user0000000@example.net").await.unwrap();
    assert_eq!(detail.route, "the group's backend");
    assert!(detail.backend_host.is_some());
    let group = w.store.get_group(w.site, &detail.user.group_name).await.unwrap().unwrap();
    let owner = group.backend_id.unwrap();
    w.services.backend_ops(&w.admin).unwrap().set_status(w.site, owner, "offline".into()).await.unwrap();
    assert!(reader.lookup("user0000000@example.net").await.unwrap().route.contains("alternative"));
    let ops = w.services.user_ops(&w.admin).unwrap();
    assert_eq!(
        ops.move_user("user0000000@example.net", None, &"nope".parse().unwrap(), None).await.unwrap_err().field(),
        Some("group")
    );
    let moved = ops.move_user("user0000000@example.net", None, &"default-2".parse().unwrap(), None).await.unwrap();
    assert_eq!(
        (moved.moving_group_name.as_str(), moved.group_name.as_str()),
        ("default-2", detail.user.group_name.as_str())
    );
    w.services.user_admin(&w.admin).unwrap().delete("user0000000@example.net").await.unwrap();
    assert!(matches!(reader.lookup("user0000000@example.net").await.unwrap_err(), AppError::NotFound(_)));
}

#[tokio::test]
async fn user_lookup_explains_a_failover_to_another_site() {
    let w = world().await;
    let admin = w.services.topology_admin(&w.admin).unwrap();
    let home = w.store.get_site(w.site).await.unwrap().unwrap();
    let down = domain::SiteDraft {
        name: home.name.clone(),
        tag: None,
        load_balancer: home.load_balancer.clone(),
        status: domain::SiteStatus::Offline,
    };
    admin.update_site(w.site, down, None).await.unwrap();
    let reader = w.services.users(&w.admin);
    let detail = reader.lookup("user0000000@example.net").await.unwrap();
    assert_eq!(detail.route, format!("{} cannot take users (offline), and no other site can take the user", home.name));
    assert_eq!(detail.backend_host, None);

    let other = domain::SiteDraft {
        name: "dc9z".into(),
        tag: None,
        load_balancer: String::new(),
        status: domain::SiteStatus::Online,
    };
    admin.add_site(other).await.unwrap();
    let detail = reader.lookup("user0000000@example.net").await.unwrap();
    let group = &detail.user.group_name;
    assert_eq!(
        detail.route,
        format!(
            "{} cannot take users (offline): its failover site dc9z serves the user in group {group}; group {group} does not exist yet: a proxy creates it at the next login",
            home.name
        )
    );
}

#[tokio::test]
async fn features_default_to_off_and_follow_site_then_global_rows() {
    let w = world().await;
    let reader = w.services.settings(&w.admin);
    assert!(reader.features(w.site).await.unwrap().iter().all(|m| m.stored == FeatureState::Off && m.reason.is_none()));
    let admin = w.services.settings_admin(&w.admin).unwrap();
    let global = ClusterSetting {
        section: "controller_features".into(),
        site_id: Uuid::nil(),
        backend_id: Uuid::nil(),
        setting_name: "host_failure".into(),
        setting_value: "on".into(),
    };
    admin.put(global.clone()).await.unwrap();
    w.services.feature_ops(&w.admin).unwrap().set(w.site, Feature::LoadBalance, FeatureState::Dryrun).await.unwrap();
    let states: std::collections::BTreeMap<_, _> =
        reader.features(w.site).await.unwrap().into_iter().map(|m| (m.feature, m.stored)).collect();
    assert_eq!(states[&Feature::HostFailure], FeatureState::On, "the all-sites row");
    assert_eq!(states[&Feature::LoadBalance], FeatureState::Dryrun, "the site's own row");
    let bad = ClusterSetting { setting_value: "maybe".into(), ..global.clone() };
    assert_eq!(admin.put(bad).await.unwrap_err().field(), Some("setting_value"));
    let unknown = ClusterSetting { setting_name: "teleport".into(), ..global };
    assert_eq!(admin.put(unknown).await.unwrap_err().field(), Some("setting_name"));
}

#[tokio::test]
async fn pruning_a_departed_proxy_removes_only_its_rows() {
    let w = world().await;
    for (proxy, dest) in [("old-proxy", "be1"), ("old-proxy", "be2"), ("proxy1", "be1")] {
        let row = ProxyDestStat {
            proxy_site_id: w.site,
            dest_host: dest.into(),
            proxy_host: proxy.into(),
            key: "k".into(),
            value: 1.0,
            kind: "counter".into(),
        };
        w.store.put_proxy_dest_stat(&row).await.unwrap();
    }
    let admin = w.services.stats_admin(&w.admin).unwrap();
    assert_eq!(admin.prune_proxy(w.site, "old-proxy").await.unwrap(), 2);
    let left = w.services.stats(&w.admin).proxy_dest_stats(w.site, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(left.len(), 1);
    assert!(matches!(admin.prune_proxy(w.site, "old-proxy").await.unwrap_err(), AppError::NotFound(_)));
}

#[tokio::test]
async fn the_backends_page_lists_hosts_as_read_a_page_at_a_time() {
    let w = world().await;
    let admin = w.services.backend_admin(&w.admin).unwrap();
    for n in 4..=12 {
        admin.add(w.site, format!("be{n}.dc1a.example.net").parse().unwrap()).await.unwrap();
    }
    let reader = w.services.backends(&w.admin);
    let mut hosts = Vec::new();
    let mut request = PageRequest::first(5);
    loop {
        let page = reader.list(w.site, request).await.unwrap();
        assert!(page.rows.len() <= 5);
        hosts.extend(page.rows.into_iter().map(|r| r.backend.host));
        match page.next {
            Some(cursor) => request = PageRequest::after(Some(cursor), 5),
            None => break,
        }
    }
    let expected: Vec<String> = (1..=12).map(|n| format!("be{n}.dc1a.example.net")).collect();
    assert_eq!(hosts, expected, "be2 before be10, each once");
}

#[tokio::test]
async fn a_page_of_groups_is_reused_for_a_moment_but_shows_changes_made_here_at_once() {
    let w = world().await;
    let reader = w.services.groups(&w.admin);
    let first = || async { reader.list(w.site, &GroupFilter::default(), PageRequest::first(50)).await.unwrap() };
    let sticky = |list: &domain::cluster::GroupList, name: &str| {
        list.rows.iter().find(|r| r.group.name == name).map(|r| r.group.sticky_users)
    };
    assert_eq!(sticky(&first().await, "default-1"), Some(false));
    w.services.group_ops(&w.admin).unwrap().set_sticky(w.site, "default-1", users_on()).await.unwrap();
    assert_eq!(sticky(&first().await, "default-1"), Some(true), "a change made through the services shows at once");
    // Another writer (another instance, Dovecot) is seen once the page read is a moment old.
    assert!(w.store.set_group_sticky(w.site, "default-2", users_on()).await.unwrap());
    tokio::time::sleep(palomar_core::services::BACKENDS_FRESH_FOR + std::time::Duration::from_millis(100)).await;
    assert_eq!(sticky(&first().await, "default-2"), Some(true));
}

/// Sticky users on, from off.
fn users_on() -> domain::geodb::StickyWrite {
    let on = domain::geodb::FlagWrite { seen: false, wanted: true };
    domain::geodb::StickyWrite { sticky_users: Some(on), sticky_backend: None }
}
