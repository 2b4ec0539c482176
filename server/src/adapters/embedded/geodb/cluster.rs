//! Settings, reachability, group sites and stats: `cluster_settings`, `site_reachability`,
//! `group_sites`, `backend_stats` and `proxy_dest_stats`.

use std::ops::Bound;

use domain::{
    geodb::{BackendStat, ClusterSetting, GroupSite, ProxyDestStat, Reachability, ReachabilityTime},
    Page, PageRequest,
};

use async_trait::async_trait;
use palomar_core::ports::{SettingTable, StatTables, StoreError};
use uuid::Uuid;

use crate::adapters::embedded::{page, replace_if, EmbeddedStore};

#[async_trait]
impl SettingTable for EmbeddedStore {
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

    async fn get_setting(&self, key: &ClusterSetting) -> Result<Option<ClusterSetting>, StoreError> {
        Ok(self.read().settings.get(&setting_key(key)).cloned())
    }

    async fn put_setting(&self, setting: &ClusterSetting) -> Result<(), StoreError> {
        let key = (setting.section.clone(), setting.site_id, setting.backend_id, setting.setting_name.clone());
        self.write().settings.insert(key, setting.clone());
        Ok(())
    }

    async fn write_setting(&self, seen: Option<&ClusterSetting>, setting: &ClusterSetting) -> Result<bool, StoreError> {
        // `seen` has the same key as `setting` (its row as read), so whole rows compare values.
        Ok(replace_if(&mut self.write().settings, setting_key(setting), seen, Some(setting)))
    }

    async fn remove_setting(&self, seen: &ClusterSetting) -> Result<bool, StoreError> {
        Ok(replace_if(&mut self.write().settings, setting_key(seen), Some(seen), None))
    }
}

#[async_trait]
impl StatTables for EmbeddedStore {
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
        let key = (row.src_site_id, row.dest_site_id);
        let mut tables = self.write();
        tables.reachability.insert(key, *row);
        tables.reachability_written.insert(key, chrono::Utc::now());
        Ok(())
    }

    async fn reachability_times(&self) -> Result<Vec<ReachabilityTime>, StoreError> {
        let tables = self.read();
        let rows = tables.reachability.keys().filter_map(|key| {
            let written_at = *tables.reachability_written.get(key)?;
            Some(ReachabilityTime { src_site_id: key.0, dest_site_id: key.1, written_at })
        });
        Ok(rows.collect())
    }

    async fn write_reachability(&self, seen: Option<&Reachability>, row: &Reachability) -> Result<bool, StoreError> {
        let key = (row.src_site_id, row.dest_site_id);
        let mut tables = self.write();
        let written = replace_if(&mut tables.reachability, key, seen, Some(row));
        if written {
            tables.reachability_written.insert(key, chrono::Utc::now());
        }
        Ok(written)
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
