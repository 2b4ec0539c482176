//! One conformance suite for every GeoDB and operator-store adapter: the embedded store and
//! Cassandra must answer the same way, so they cannot drift apart.

use crate::common;

mod conditional;
mod replays;
mod tables;

use self::{conditional::*, replays::*, tables::*};

use std::collections::BTreeSet;

use domain::{
    geodb::{Backend, BackendStatus, MoveSide, User, UserGroup, UserMove},
    Page, PageRequest, Role, Site, SiteStatus, Tag,
};

use chrono::{DateTime, SubsecRound, Utc};
use futures::TryStreamExt;
use palomar_core::ports::{AuditLog, GeoDb, GroupMembers, OperatorRecord, OperatorStore, RecordStore, StoreError};
use uuid::Uuid;

/// The ports of one adapter.
trait Store: GeoDb + OperatorStore + AuditLog + GroupMembers + RecordStore {}
impl<T: GeoDb + OperatorStore + AuditLog + GroupMembers + RecordStore> Store for T {}

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
    a_groups_alternative_changes_only_from_the_value_seen,
    a_user_move_starts_only_from_the_values_seen,
    a_user_is_relocated_only_from_the_values_seen,
    decisions_and_moves_round_trip,
    users_delete,
    settings_by_section,
    reachability_group_sites_and_stats,
    a_replay_is_recorded_once_and_changes_only_while_running,
);
