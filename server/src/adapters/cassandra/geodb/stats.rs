//! The stat tables on Cassandra: `site_reachability`, `group_sites`, `backend_stats` and
//! `proxy_dest_stats`.

use async_trait::async_trait;
use domain::{
    geodb::{BackendStat, GroupSite, ProxyDestStat, Reachability, ReachabilityTime},
    Page, PageRequest,
};
use palomar_core::ports::{StatTables, StoreError};
use uuid::Uuid;

use super::{
    cluster::{BackendStatRow, ProxyDestStatRow, ReachabilityRow, ReachabilityTimeRow},
    groups::GroupSiteRow,
};
use crate::adapters::cassandra::CassandraStore;

#[async_trait]
impl StatTables for CassandraStore {
    async fn list_reachability(&self, page: PageRequest) -> Result<Page<Reachability>, StoreError> {
        self.list::<ReachabilityRow, _>(&self.statements.cluster.list_reachability, (), &page).await
    }

    async fn put_reachability(&self, r: &Reachability) -> Result<(), StoreError> {
        self.write(&self.statements.cluster.put_reachability, (r.src_site_id, r.dest_site_id, r.reachable)).await
    }

    async fn reachability_times(&self) -> Result<Vec<ReachabilityTime>, StoreError> {
        let statement = &self.statements.cluster.reachability_times;
        let page = PageRequest::first(domain::page::MAX_PAGE_SIZE);
        let rows = self.list::<ReachabilityTimeRow, ReachabilityTimeRow>(statement, (), &page).await?;
        Ok(rows.items.into_iter().filter_map(ReachabilityTimeRow::into_time).collect())
    }

    async fn write_reachability(&self, seen: Option<&Reachability>, r: &Reachability) -> Result<bool, StoreError> {
        let statements = &self.statements.cluster;
        match seen {
            None => self.conditional(&statements.add_reachability, (r.src_site_id, r.dest_site_id, r.reachable)).await,
            Some(seen) => {
                let values = (r.reachable, r.src_site_id, r.dest_site_id, seen.reachable);
                self.conditional(&statements.update_reachability, values).await
            }
        }
    }

    async fn list_group_sites(&self, group_name: &str) -> Result<Vec<GroupSite>, StoreError> {
        // One partition: the sites of one group (a handful).
        let page = self
            .list::<GroupSiteRow, _>(&self.statements.groups.list_group_sites, (group_name,), &PageRequest::first(500))
            .await?;
        Ok(page.items)
    }

    async fn put_group_site(&self, r: &GroupSite) -> Result<(), StoreError> {
        self.write(
            &self.statements.groups.put_group_site,
            (&r.group_name, r.site_id, &r.status, r.failover_site_id, r.last_update),
        )
        .await
    }

    async fn list_backend_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<BackendStat>, StoreError> {
        self.list::<BackendStatRow, _>(&self.statements.cluster.list_backend_stats, (site_id,), &page).await
    }

    async fn put_backend_stat(&self, r: &BackendStat) -> Result<(), StoreError> {
        self.write(&self.statements.cluster.put_backend_stat, (r.site_id, r.id, &r.key, r.value, &r.kind)).await
    }

    async fn list_proxy_dest_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<ProxyDestStat>, StoreError> {
        self.list::<ProxyDestStatRow, _>(&self.statements.cluster.list_proxy_dest_stats, (site_id,), &page).await
    }

    async fn put_proxy_dest_stat(&self, r: &ProxyDestStat) -> Result<(), StoreError> {
        self.write(
            &self.statements.cluster.put_proxy_dest_stat,
            (r.proxy_site_id, &r.dest_host, &r.proxy_host, &r.key, r.value, &r.kind),
        )
        .await
    }

    async fn delete_proxy_dest_stats(
        &self,
        site_id: Uuid,
        dest_host: &str,
        proxy_host: &str,
    ) -> Result<(), StoreError> {
        self.write(&self.statements.cluster.delete_proxy_dest_stats, (site_id, dest_host, proxy_host)).await
    }
}
