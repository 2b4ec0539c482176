//! The GeoDB port on Cassandra. The statements and row types are split by table area; the
//! port's methods, one statement each, stay together here, one `impl` per area trait (the
//! stat tables' in `stats`).

mod backends;
mod cluster;
mod groups;
mod stats;
mod topology;
mod users;

use domain::{
    geodb::{
        Backend, BackendStatus, ClusterSetting, FlagWrite, GroupBackend, Membership, MoveSide, StickyWrite, User,
        UserGroup, UserMove,
    },
    Page, PageRequest, Site, Tag,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use palomar_core::ports::{BackendTable, GroupTable, SettingTable, SiteTable, StoreError, TagTable, UserTable};
use scylla::client::session::Session;
use uuid::Uuid;

use super::{
    query::{applied, seen_int, seen_text},
    scan::{self, MembershipRow, ScanShape},
    CassandraStore,
};
use backends::BackendRow;
use cluster::SettingRow;
use groups::{GroupBackendRow, GroupRow};
use topology::{SiteDbRow, TagRow};
use users::{NowRow, UserRow};

/// Rows of `users` per unlogged batch: at most Cassandra's default
/// `unlogged_batch_across_partitions_warn_threshold` (10 partitions) and, at about 260 bytes a
/// seeded row, under its `batch_size_warn_threshold` (5 KiB); above either it warns about (and
/// logs) every batch.
const USERS_PER_BATCH: usize = 10;
/// Groups per seeding batch: all in one site's partition, so one mutation each.
const GROUPS_PER_BATCH: usize = 100;
/// Point reads in flight when listing a page's memberships.
const MEMBERSHIP_READS_IN_FLIGHT: usize = 32;

/// Every GeoDB statement, prepared once at start-up.
pub(super) struct Statements {
    topology: topology::Statements,
    backends: backends::Statements,
    groups: groups::Statements,
    users: users::Statements,
    cluster: cluster::Statements,
}

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            topology: topology::Statements::prepare(session, ks).await?,
            backends: backends::Statements::prepare(session, ks).await?,
            groups: groups::Statements::prepare(session, ks).await?,
            users: users::Statements::prepare(session, ks).await?,
            cluster: cluster::Statements::prepare(session, ks).await?,
        })
    }
}

#[async_trait]
impl TagTable for CassandraStore {
    async fn list_tags(&self, page: PageRequest) -> Result<Page<Tag>, StoreError> {
        self.list::<TagRow, _>(&self.statements.topology.list_tags, (), &page).await
    }

    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError> {
        self.one::<TagRow, _>(&self.statements.topology.get_tag, (id,)).await
    }

    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError> {
        self.write(&self.statements.topology.put_tag, (tag.id, &tag.tag)).await
    }

    async fn write_tag(&self, seen: Option<&Tag>, tag: &Tag) -> Result<bool, StoreError> {
        let statements = &self.statements.topology;
        match seen {
            None => self.conditional(&statements.add_tag, (tag.id, &tag.tag)).await,
            Some(seen) => self.conditional(&statements.rename_tag, (&tag.tag, tag.id, &seen.tag)).await,
        }
    }

    async fn remove_tag(&self, seen: &Tag) -> Result<bool, StoreError> {
        self.conditional(&self.statements.topology.remove_tag, (seen.id, &seen.tag)).await
    }
}

#[async_trait]
impl SiteTable for CassandraStore {
    async fn list_sites(&self, page: PageRequest) -> Result<Page<Site>, StoreError> {
        self.list::<SiteDbRow, _>(&self.statements.topology.list_sites, (), &page).await
    }

    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError> {
        self.one::<SiteDbRow, _>(&self.statements.topology.get_site, (id,)).await
    }

    async fn put_site(&self, site: &Site) -> Result<(), StoreError> {
        let values = (site.id, &site.name, site.tag, &site.load_balancer, site.status.as_str());
        self.write(&self.statements.topology.put_site, values).await
    }

    async fn write_site(&self, seen: Option<&Site>, site: &Site) -> Result<bool, StoreError> {
        let statements = &self.statements.topology;
        let Some(seen) = seen else {
            let values = (site.id, &site.name, site.tag, &site.load_balancer, site.status.as_str());
            return self.conditional(&statements.add_site, values).await;
        };
        let set = (&site.name, site.tag, &site.load_balancer, site.status.as_str(), site.id);
        let ((lb_null, lb), (status_null, status)) = (seen_text(&seen.load_balancer), seen_text(seen.status.as_str()));
        let values =
            (set.0, set.1, set.2, set.3, set.4, &seen.name, seen.tag, seen.tag, lb_null, lb, status_null, status);
        self.conditional(&statements.update_site, values).await
    }

    async fn remove_site(&self, seen: &Site) -> Result<bool, StoreError> {
        let ((lb_null, lb), (status_null, status)) = (seen_text(&seen.load_balancer), seen_text(seen.status.as_str()));
        let values = (seen.id, &seen.name, seen.tag, seen.tag, lb_null, lb, status_null, status);
        self.conditional(&self.statements.topology.remove_site, values).await
    }
}

#[async_trait]
impl BackendTable for CassandraStore {
    async fn list_backends(&self, site_id: Uuid, page: PageRequest) -> Result<Page<Backend>, StoreError> {
        self.list::<BackendRow, _>(&self.statements.backends.list_backends, (site_id,), &page).await
    }

    async fn get_backend(&self, site_id: Uuid, id: Uuid) -> Result<Option<Backend>, StoreError> {
        self.one::<BackendRow, _>(&self.statements.backends.get_backend, (site_id, id)).await
    }

    async fn put_backend(&self, b: &Backend) -> Result<(), StoreError> {
        let values = (
            b.site_id,
            b.id,
            b.load_factor,
            &b.host,
            b.status.as_str(),
            &b.status_reason,
            &b.last_moved_from,
            &b.last_moved_to,
        );
        self.write(&self.statements.backends.put_backend, values).await
    }

    async fn add_backend(&self, b: &Backend) -> Result<bool, StoreError> {
        let values = (b.site_id, b.id, b.load_factor, &b.host, b.status.as_str(), &b.status_reason);
        let moved = (&b.last_moved_from, &b.last_moved_to);
        let values = (values.0, values.1, values.2, values.3, values.4, values.5, moved.0, moved.1);
        self.conditional(&self.statements.backends.add_backend, values).await
    }

    async fn set_backend_load_factor(
        &self,
        site_id: Uuid,
        id: Uuid,
        seen: i32,
        load_factor: i32,
    ) -> Result<bool, StoreError> {
        let (seen_null, seen) = seen_int(seen);
        let values = (load_factor, site_id, id, seen_null, seen);
        self.conditional(&self.statements.backends.set_load_factor, values).await
    }

    async fn set_backend_state(&self, seen: &Backend, wanted: &Backend) -> Result<bool, StoreError> {
        let (status_null, status) = seen_text(seen.status.as_str());
        let (lf_null, lf) = seen_int(seen.load_factor);
        let (site_id, id) = (seen.site_id, seen.id);
        let set = (wanted.status.as_str(), wanted.load_factor, wanted.status_reason.as_str());
        let values = (set.0, set.1, set.2, site_id, id, status_null, status, lf_null, lf);
        self.conditional(&self.statements.backends.set_state, values).await
    }

    async fn set_backend_status(
        &self,
        site_id: Uuid,
        id: Uuid,
        expected: &BackendStatus,
        status: &BackendStatus,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let (seen_null, seen) = seen_text(expected.as_str());
        let values = (status.as_str(), reason, site_id, id, seen_null, seen);
        let result = self
            .session
            .execute_unpaged(&self.statements.backends.set_backend_status, values)
            .await
            .map_err(super::unavailable)?;
        applied(result)
    }

    async fn note_backend_move(
        &self,
        site_id: Uuid,
        id: Uuid,
        side: MoveSide,
        seen: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let statement = self.statements.backends.note_move_statement(side, seen);
        let result = if seen.is_empty() {
            self.session.execute_unpaged(statement, (at, site_id, id)).await
        } else {
            self.session.execute_unpaged(statement, (at, site_id, id, seen)).await
        };
        applied(result.map_err(super::unavailable)?)
    }

    async fn delete_backend(&self, site_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        self.write(&self.statements.backends.delete_backend, (site_id, id)).await
    }
}

#[async_trait]
impl GroupTable for CassandraStore {
    async fn list_groups(&self, site_id: Uuid, page: PageRequest) -> Result<Page<UserGroup>, StoreError> {
        self.list::<GroupRow, _>(&self.statements.groups.list_groups, (site_id,), &page).await
    }

    fn scan_group_backends(&self) -> BoxStream<'_, Result<Vec<GroupBackend>, StoreError>> {
        let statement = self.statements.groups.scan_group_backends.clone();
        scan::pages::<GroupBackendRow, GroupBackend, _>(self.session.clone(), statement, ())
    }

    async fn get_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        self.one::<GroupRow, _>(&self.statements.groups.get_group, (site_id, name)).await
    }

    async fn put_group(&self, g: &UserGroup) -> Result<(), StoreError> {
        self.write(&self.statements.groups.put_group, groups::row_values(g)).await
    }

    async fn put_groups(&self, groups: &[UserGroup]) -> Result<(), StoreError> {
        // One batch per site's run of rows: a batch into one partition is one mutation.
        let mut batches: Vec<Vec<&UserGroup>> = Vec::new();
        for g in groups {
            match batches.last_mut() {
                Some(batch) if batch.len() < GROUPS_PER_BATCH && batch[0].site_id == g.site_id => batch.push(g),
                _ => batches.push(vec![g]),
            }
        }
        let writes = batches.iter().map(|batch| {
            let rows: Vec<_> = batch.iter().map(|g| groups::new_group_values(g)).collect();
            self.write_batches(&self.statements.groups.put_group, rows, GROUPS_PER_BATCH)
        });
        futures::future::try_join_all(writes).await.map(|_| ())
    }

    async fn create_group(&self, g: &UserGroup) -> Result<bool, StoreError> {
        self.conditional(&self.statements.groups.create_group, groups::row_values(g)).await
    }

    async fn set_group_sticky(&self, site_id: Uuid, name: &str, write: StickyWrite) -> Result<bool, StoreError> {
        let flag = |f: FlagWrite| (i32::from(f.wanted), seen_int(i32::from(f.seen)));
        let statements = &self.statements.groups;
        match (write.sticky_users.map(flag), write.sticky_backend.map(flag)) {
            (Some((users, (users_null, users_seen))), Some((backend, (backend_null, backend_seen)))) => {
                let values = (users, backend, site_id, name, users_null, users_seen, backend_null, backend_seen);
                self.conditional(&statements.set_sticky, values).await
            }
            (Some((users, (seen_null, seen))), None) => {
                self.conditional(&statements.set_sticky_users, (users, site_id, name, seen_null, seen)).await
            }
            (None, Some((backend, (seen_null, seen)))) => {
                self.conditional(&statements.set_sticky_backend, (backend, site_id, name, seen_null, seen)).await
            }
            (None, None) => Ok(false),
        }
    }

    async fn set_group_alt(
        &self,
        site_id: Uuid,
        name: &str,
        seen: Option<Uuid>,
        alt: Uuid,
    ) -> Result<bool, StoreError> {
        let groups = &self.statements.groups;
        match seen {
            Some(seen) => self.conditional(&groups.set_alt, (alt, site_id, name, seen)).await,
            None => self.conditional(&groups.set_alt_unset, (alt, site_id, name)).await,
        }
    }

    async fn start_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        destination: Uuid,
        token: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .session
            .execute_unpaged(&self.statements.groups.start_group_move, (token, destination, site_id, name))
            .await
            .map_err(super::unavailable)?;
        applied(result)
    }

    async fn end_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        token: &str,
        backend_id: Uuid,
        alt_backend_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .session
            .execute_unpaged(
                &self.statements.groups.end_group_move,
                (backend_id, alt_backend_id, now, site_id, name, token),
            )
            .await
            .map_err(super::unavailable)?;
        applied(result)
    }
}

#[async_trait]
impl UserTable for CassandraStore {
    fn scan_memberships(&self) -> BoxStream<'_, Result<Vec<Membership>, StoreError>> {
        scan::scan(
            self.session.clone(),
            &self.statements.users.scan_memberships,
            ScanShape::CENSUS,
            self.requests.clone(),
        )
    }

    async fn get_memberships(&self, usernames: &[String]) -> Result<Vec<Membership>, StoreError> {
        // Point reads, each sent to a replica of its user, rather than one `IN` that a single
        // coordinator would have to gather.
        let reads: Vec<_> = usernames
            .iter()
            .map(|name| self.one::<MembershipRow, Membership>(&self.statements.users.get_membership, (name,)))
            .collect();
        let found: Vec<Option<Membership>> =
            futures::stream::iter(reads).buffered(MEMBERSHIP_READS_IN_FLIGHT).try_collect().await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn store_time(&self) -> Result<DateTime<Utc>, StoreError> {
        self.one::<NowRow, DateTime<Utc>>(&self.statements.users.store_time, ())
            .await?
            .ok_or_else(|| StoreError::Corrupt("system.local has no row".into()))
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.one::<UserRow, _>(&self.statements.users.get_user, (username,)).await
    }

    async fn put_user(&self, u: &User) -> Result<(), StoreError> {
        self.write(&self.statements.users.put_user, users::user_values(u)).await
    }

    async fn put_users(&self, users: &[User]) -> Result<(), StoreError> {
        let rows = users.iter().map(users::new_user_values).collect();
        self.write_batches(&self.statements.users.put_user, rows, USERS_PER_BATCH).await
    }

    async fn start_user_move(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError> {
        let (group_null, group) = seen_text(&seen.group_name);
        let (moving_null, moving) = seen_text(&seen.moving_group_name);
        let values =
            (to.site_id, &to.group, &to.failover_group, to.at, &seen.username, group_null, group, moving_null, moving);
        self.conditional(&self.statements.users.start_user_move, values).await
    }

    async fn relocate_user(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError> {
        let Some(seen_site) = seen.preferred_site_id else { return Ok(false) };
        let (group_null, group) = seen_text(&seen.group_name);
        let (moving_null, moving) = seen_text(&seen.moving_group_name);
        let values = (
            to.site_id,
            &to.group,
            &to.failover_group,
            to.at,
            &seen.username,
            seen_site,
            group_null,
            group,
            moving_null,
            moving,
        );
        self.conditional(&self.statements.users.relocate_user, values).await
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.write(&self.statements.users.delete_user, (username,)).await
    }
}

#[async_trait]
impl SettingTable for CassandraStore {
    async fn list_settings(&self, section: &str, page: PageRequest) -> Result<Page<ClusterSetting>, StoreError> {
        self.list::<SettingRow, _>(&self.statements.cluster.list_settings, (section,), &page).await
    }

    async fn get_setting(&self, key: &ClusterSetting) -> Result<Option<ClusterSetting>, StoreError> {
        let values = (&key.section, key.site_id, key.backend_id, &key.setting_name);
        self.one::<SettingRow, _>(&self.statements.cluster.get_setting, values).await
    }

    async fn put_setting(&self, s: &ClusterSetting) -> Result<(), StoreError> {
        self.write(
            &self.statements.cluster.put_setting,
            (&s.section, s.site_id, s.backend_id, &s.setting_name, &s.setting_value),
        )
        .await
    }

    async fn write_setting(&self, seen: Option<&ClusterSetting>, s: &ClusterSetting) -> Result<bool, StoreError> {
        let statements = &self.statements.cluster;
        match seen {
            None => {
                let values = (&s.section, s.site_id, s.backend_id, &s.setting_name, &s.setting_value);
                self.conditional(&statements.add_setting, values).await
            }
            Some(seen) => {
                let key = (&s.section, s.site_id, s.backend_id, &s.setting_name);
                let values = (&s.setting_value, key.0, key.1, key.2, key.3, &seen.setting_value);
                self.conditional(&statements.update_setting, values).await
            }
        }
    }

    async fn remove_setting(&self, seen: &ClusterSetting) -> Result<bool, StoreError> {
        let values = (&seen.section, seen.site_id, seen.backend_id, &seen.setting_name, &seen.setting_value);
        self.conditional(&self.statements.cluster.remove_setting, values).await
    }
}
