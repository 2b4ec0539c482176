//! The GeoDB tables: topology, backends, groups (with the move LWTs), users, settings and stats.

use std::ops::Bound;

use domain::{
    geodb::{
        Backend, BackendStat, BackendStatus, ClusterSetting, GroupBackend, GroupSite, Membership, MoveSide,
        ProxyDestStat, Reachability, User, UserGroup, UserMove,
    },
    Page, PageRequest, Site, Tag,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use palomar_core::ports::{GeoDb, StoreError};
use uuid::Uuid;

use super::{page, replace_if, uuid_key, EmbeddedStore};

#[async_trait]
impl GeoDb for EmbeddedStore {
    async fn list_tags(&self, request: PageRequest) -> Result<Page<Tag>, StoreError> {
        page(&self.read().tags, Bound::Unbounded, Bound::Unbounded, &request, uuid_key, Uuid::to_string)
    }

    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError> {
        Ok(self.read().tags.get(&id).cloned())
    }

    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError> {
        self.write().tags.insert(tag.id, tag.clone());
        Ok(())
    }

    async fn write_tag(&self, seen: Option<&Tag>, tag: &Tag) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().tags, tag.id, seen, Some(tag)))
    }

    async fn remove_tag(&self, seen: &Tag) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().tags, seen.id, Some(seen), None))
    }

    async fn list_sites(&self, request: PageRequest) -> Result<Page<Site>, StoreError> {
        page(&self.read().sites, Bound::Unbounded, Bound::Unbounded, &request, uuid_key, Uuid::to_string)
    }

    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError> {
        Ok(self.read().sites.get(&id).cloned())
    }

    async fn put_site(&self, site: &Site) -> Result<(), StoreError> {
        self.write().sites.insert(site.id, site.clone());
        Ok(())
    }

    async fn write_site(&self, seen: Option<&Site>, site: &Site) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().sites, site.id, seen, Some(site)))
    }

    async fn remove_site(&self, seen: &Site) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().sites, seen.id, Some(seen), None))
    }

    async fn list_backends(&self, site_id: Uuid, request: PageRequest) -> Result<Page<Backend>, StoreError> {
        page(
            &self.read().backends,
            Bound::Included((site_id, Uuid::nil())),
            Bound::Included((site_id, Uuid::max())),
            &request,
            |c| uuid_key(c).map(|id| (site_id, id)),
            |(_, id)| id.to_string(),
        )
    }

    async fn get_backend(&self, site_id: Uuid, id: Uuid) -> Result<Option<Backend>, StoreError> {
        Ok(self.read().backends.get(&(site_id, id)).cloned())
    }

    async fn put_backend(&self, backend: &Backend) -> Result<(), StoreError> {
        self.write().backends.insert((backend.site_id, backend.id), backend.clone());
        Ok(())
    }

    async fn add_backend(&self, backend: &Backend) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().backends, (backend.site_id, backend.id), None, Some(backend)))
    }

    async fn set_backend_load_factor(
        &self,
        site_id: Uuid,
        id: Uuid,
        seen: i32,
        load_factor: i32,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(site_id, id)) {
            Some(backend) if backend.load_factor == seen => {
                backend.load_factor = load_factor;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_backend_state(&self, seen: &Backend, wanted: &Backend) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(seen.site_id, seen.id)) {
            Some(backend) if backend.status == seen.status && backend.load_factor == seen.load_factor => {
                backend.status = wanted.status.clone();
                backend.load_factor = wanted.load_factor;
                backend.status_reason = wanted.status_reason.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_backend(&self, site_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        self.write().backends.remove(&(site_id, id));
        Ok(())
    }

    async fn list_groups(&self, site_id: Uuid, request: PageRequest) -> Result<Page<UserGroup>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() { Bound::Unbounded } else { Bound::Excluded((next_site, String::new())) };
        page(
            &self.read().groups,
            Bound::Included((site_id, String::new())),
            hi,
            &request,
            |c| Some((site_id, c.to_string())),
            |(_, name)| name.clone(),
        )
    }

    fn scan_group_backends(&self) -> BoxStream<'_, Result<Vec<GroupBackend>, StoreError>> {
        EmbeddedStore::scan_group_backends(self)
    }

    async fn get_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        Ok(self.read().groups.get(&(site_id, name.to_string())).cloned())
    }

    async fn put_group(&self, group: &UserGroup) -> Result<(), StoreError> {
        self.write().groups.insert((group.site_id, group.name.clone()), group.clone());
        Ok(())
    }

    async fn put_groups(&self, groups: &[UserGroup]) -> Result<(), StoreError> {
        let mut tables = self.write();
        for group in groups {
            let key = (group.site_id, group.name.clone());
            // A `None` or empty column is left as it was, as Cassandra does with an unset value.
            let merged = match tables.groups.get(&key) {
                Some(old) => UserGroup {
                    backend_id: group.backend_id.or(old.backend_id),
                    alt_backend_id: group.alt_backend_id.or(old.alt_backend_id),
                    moving: if group.moving.is_empty() { old.moving.clone() } else { group.moving.clone() },
                    refresh_after: group.refresh_after.or(old.refresh_after),
                    ..group.clone()
                },
                None => group.clone(),
            };
            tables.groups.insert(key, merged);
        }
        Ok(())
    }

    async fn create_group(&self, group: &UserGroup) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let key = (group.site_id, group.name.clone());
        if tables.groups.contains_key(&key) {
            return Ok(false);
        }
        tables.groups.insert(key, group.clone());
        Ok(true)
    }

    async fn set_group_sticky(
        &self,
        site_id: Uuid,
        name: &str,
        seen: (i32, i32),
        sticky: (i32, i32),
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.backend_id.is_some() && (group.sticky_users, group.sticky_backend) == seen => {
                (group.sticky_users, group.sticky_backend) = sticky;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn start_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        destination: Uuid,
        token: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.moving.is_empty() && group.backend_id.is_some() => {
                group.moving = token.to_string();
                group.alt_backend_id = Some(destination);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_backend_status(
        &self,
        site_id: Uuid,
        id: Uuid,
        expected: &BackendStatus,
        status: &BackendStatus,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(site_id, id)) {
            Some(backend) if backend.status == *expected => {
                backend.status = status.clone();
                backend.status_reason = reason.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn note_backend_move(
        &self,
        site_id: Uuid,
        id: Uuid,
        side: MoveSide,
        seen: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let Some(backend) = tables.backends.get_mut(&(site_id, id)) else { return Ok(false) };
        let column = match side {
            MoveSide::From => &mut backend.last_moved_from,
            MoveSide::To => &mut backend.last_moved_to,
        };
        if column != seen {
            return Ok(false);
        }
        *column = at.to_string();
        Ok(true)
    }

    async fn end_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        token: &str,
        backend_id: Uuid,
        alt_backend_id: Option<Uuid>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.moving == token => {
                group.backend_id = Some(backend_id);
                group.alt_backend_id = alt_backend_id;
                group.moving = String::new();
                group.refresh_after = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn scan_memberships(&self) -> BoxStream<'_, Result<Vec<Membership>, StoreError>> {
        EmbeddedStore::scan_memberships(self)
    }

    async fn get_memberships(&self, usernames: &[String]) -> Result<Vec<Membership>, StoreError> {
        let tables = self.read();
        Ok(usernames.iter().filter_map(|name| tables.membership(name)).collect())
    }

    async fn store_time(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(Utc::now())
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self.read().users.get(username).cloned())
    }

    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.write().put_user(user);
        Ok(())
    }

    async fn put_users(&self, users: &[User]) -> Result<(), StoreError> {
        let mut tables = self.write();
        for user in users {
            // A `None` or empty column is left as it was, as Cassandra does with an unset value.
            let merged = match tables.users.get(&user.username) {
                Some(old) => {
                    let text = |new: &String, old: &String| if new.is_empty() { old.clone() } else { new.clone() };
                    User {
                        preferred_site_id: user.preferred_site_id.or(old.preferred_site_id),
                        group_name: text(&user.group_name, &old.group_name),
                        failover_site_group_name: text(&user.failover_site_group_name, &old.failover_site_group_name),
                        metacache_last_host: text(&user.metacache_last_host, &old.metacache_last_host),
                        moving_preferred_site_id: user.moving_preferred_site_id.or(old.moving_preferred_site_id),
                        moving_group_name: text(&user.moving_group_name, &old.moving_group_name),
                        moving_failover_site_group_name: text(
                            &user.moving_failover_site_group_name,
                            &old.moving_failover_site_group_name,
                        ),
                        last_update: user.last_update.or(old.last_update),
                        username: user.username.clone(),
                    }
                }
                None => user.clone(),
            };
            tables.put_user(&merged);
        }
        Ok(())
    }

    async fn start_user_move(&self, seen: &User, to: &UserMove) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.users.get_mut(&seen.username) {
            Some(user) if user.group_name == seen.group_name && user.moving_group_name == seen.moving_group_name => {
                user.moving_preferred_site_id = Some(to.site_id);
                user.moving_group_name = to.group.clone();
                user.moving_failover_site_group_name = to.failover_group.clone();
                user.last_update = Some(to.at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.write().delete_user(username);
        Ok(())
    }

    async fn list_settings(&self, section: &str, request: PageRequest) -> Result<Page<ClusterSetting>, StoreError> {
        let section = section.to_string();
        let lo = (section.clone(), Uuid::nil(), Uuid::nil(), String::new());
        let hi = (format!("{section}\u{0}"), Uuid::nil(), Uuid::nil(), String::new());
        page(
            &self.read().settings,
            Bound::Included(lo),
            Bound::Excluded(hi),
            &request,
            |c| {
                let mut parts = c.splitn(3, '|');
                let site = Uuid::parse_str(parts.next()?).ok()?;
                let backend = Uuid::parse_str(parts.next()?).ok()?;
                Some((section.clone(), site, backend, parts.next()?.to_string()))
            },
            |(_, site, backend, name)| format!("{site}|{backend}|{name}"),
        )
    }

    async fn put_setting(&self, setting: &ClusterSetting) -> Result<(), StoreError> {
        let key = (setting.section.clone(), setting.site_id, setting.backend_id, setting.setting_name.clone());
        self.write().settings.insert(key, setting.clone());
        Ok(())
    }

    async fn get_setting(&self, key: &ClusterSetting) -> Result<Option<ClusterSetting>, StoreError> {
        Ok(self.read().settings.get(&setting_key(key)).cloned())
    }

    async fn write_setting(&self, seen: Option<&ClusterSetting>, setting: &ClusterSetting) -> Result<bool, StoreError> {
        // `seen` has the same key as `setting` (its row as read), so whole rows compare values.
        Ok(replace_if(&mut self.write().settings, setting_key(setting), seen, Some(setting)))
    }

    async fn remove_setting(&self, seen: &ClusterSetting) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().settings, setting_key(seen), Some(seen), None))
    }

    async fn list_reachability(&self, request: PageRequest) -> Result<Page<Reachability>, StoreError> {
        page(
            &self.read().reachability,
            Bound::Unbounded,
            Bound::Unbounded,
            &request,
            |c| {
                let (a, b) = c.split_once('|')?;
                Some((Uuid::parse_str(a).ok()?, Uuid::parse_str(b).ok()?))
            },
            |(a, b)| format!("{a}|{b}"),
        )
    }

    async fn put_reachability(&self, row: &Reachability) -> Result<(), StoreError> {
        self.write().reachability.insert((row.src_site_id, row.dest_site_id), *row);
        Ok(())
    }

    async fn list_group_sites(&self, group_name: &str) -> Result<Vec<GroupSite>, StoreError> {
        let tables = self.read();
        let lo = (group_name.to_string(), Uuid::nil());
        let hi = (group_name.to_string(), Uuid::max());
        Ok(tables.group_sites.range(lo..=hi).map(|(_, v)| v.clone()).collect())
    }

    async fn put_group_site(&self, row: &GroupSite) -> Result<(), StoreError> {
        self.write().group_sites.insert((row.group_name.clone(), row.site_id), row.clone());
        Ok(())
    }

    async fn list_backend_stats(&self, site_id: Uuid, request: PageRequest) -> Result<Page<BackendStat>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() {
            Bound::Unbounded
        } else {
            Bound::Excluded((next_site, Uuid::nil(), String::new()))
        };
        page(
            &self.read().backend_stats,
            Bound::Included((site_id, Uuid::nil(), String::new())),
            hi,
            &request,
            |c| {
                let (id, key) = c.split_once('|')?;
                Some((site_id, Uuid::parse_str(id).ok()?, key.to_string()))
            },
            |(_, id, key)| format!("{id}|{key}"),
        )
    }

    async fn put_backend_stat(&self, row: &BackendStat) -> Result<(), StoreError> {
        self.write().backend_stats.insert((row.site_id, row.id, row.key.clone()), row.clone());
        Ok(())
    }

    async fn list_proxy_dest_stats(
        &self,
        site_id: Uuid,
        request: PageRequest,
    ) -> Result<Page<ProxyDestStat>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() {
            Bound::Unbounded
        } else {
            Bound::Excluded((next_site, String::new(), String::new(), String::new()))
        };
        page(
            &self.read().proxy_dest_stats,
            Bound::Included((site_id, String::new(), String::new(), String::new())),
            hi,
            &request,
            |c| {
                let mut parts = c.splitn(3, '|');
                Some((site_id, parts.next()?.to_string(), parts.next()?.to_string(), parts.next()?.to_string()))
            },
            |(_, dest, proxy, key)| format!("{dest}|{proxy}|{key}"),
        )
    }

    async fn put_proxy_dest_stat(&self, row: &ProxyDestStat) -> Result<(), StoreError> {
        let key = (row.proxy_site_id, row.dest_host.clone(), row.proxy_host.clone(), row.key.clone());
        self.write().proxy_dest_stats.insert(key, row.clone());
        Ok(())
    }

    async fn delete_proxy_dest_stats(
        &self,
        site_id: Uuid,
        dest_host: &str,
        proxy_host: &str,
    ) -> Result<(), StoreError> {
        self.write()
            .proxy_dest_stats
            .retain(|(site, dest, proxy, _), _| !(*site == site_id && dest == dest_host && proxy == proxy_host));
        Ok(())
    }
}

/// The key of a `cluster_settings` row.
fn setting_key(s: &ClusterSetting) -> (String, Uuid, Uuid, String) {
    (s.section.clone(), s.site_id, s.backend_id, s.setting_name.clone())
}
