use std::{collections::BTreeSet, sync::Arc};

use uuid::Uuid;

use super::Auditor;
use crate::ports::GeoDb;
use domain::audit::AuditAction;
use domain::{
    geodb::{BackendStat, ProxyDestStat, Reachability},
    page::MAX_PAGE_SIZE,
    AppError, Page, PageRequest,
};

/// Reachability and the stats tables Dovecot writes: any role, read-only.
pub struct StatsReader {
    geodb: Arc<dyn GeoDb>,
}

/// `site_reachability` has a row per pair of sites; more than this is not a real cluster.
const MAX_REACHABILITY_ROWS: usize = 10_000;

impl StatsReader {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>) -> Self {
        Self { geodb }
    }

    pub async fn reachability(&self) -> Result<Vec<Reachability>, AppError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.geodb.list_reachability(PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
            all.extend(page.items);
            match page.next {
                Some(next) if all.len() < MAX_REACHABILITY_ROWS => cursor = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// The matrix of every site's reachability of every other, with the time of each value.
    pub async fn reachability_matrix(&self) -> Result<domain::reachability::ReachabilityMatrix, AppError> {
        let (sites, rows, times) = futures::try_join!(
            async { Ok::<_, AppError>(crate::ports::read_all(|page| self.geodb.list_sites(page)).await?) },
            self.reachability(),
            async { Ok(self.geodb.reachability_times().await?) }
        )?;
        let sites = sites.into_iter().map(|s| (s.id, s.name)).collect();
        Ok(domain::reachability::ReachabilityMatrix::new(sites, &rows, &times))
    }

    pub async fn backend_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<BackendStat>, AppError> {
        Ok(self.geodb.list_backend_stats(site_id, page).await?)
    }

    pub async fn proxy_dest_stats(&self, site_id: Uuid, page: PageRequest) -> Result<Page<ProxyDestStat>, AppError> {
        Ok(self.geodb.list_proxy_dest_stats(site_id, page).await?)
    }
}

/// Pruning rows of proxies that are gone: admins.
pub struct StatsAdmin {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
}

impl StatsAdmin {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, audit: Auditor) -> Self {
        Self { geodb, audit }
    }

    /// Deletes every `proxy_dest_stats` row a proxy wrote for this site ("it may be useful to
    /// manually remove those rows eventually", says the Palomar admin guide). Returns how many
    /// destinations it had rows for.
    pub async fn prune_proxy(&self, site_id: Uuid, proxy_host: &str) -> Result<usize, AppError> {
        let mut destinations = BTreeSet::new();
        let mut cursor = None;
        loop {
            let page = self.geodb.list_proxy_dest_stats(site_id, PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
            destinations.extend(page.items.into_iter().filter(|r| r.proxy_host == proxy_host).map(|r| r.dest_host));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if destinations.is_empty() {
            return Err(AppError::NotFound(format!("rows of proxy {proxy_host}")));
        }
        let count = destinations.len();
        let geodb = self.geodb.clone();
        let proxy = proxy_host.to_string();
        let before = destinations.clone();
        self.audit
            .apply(AuditAction::StatsPruneProxy, proxy_host, Some(&before), None::<&()>, async move {
                for dest in &destinations {
                    geodb.delete_proxy_dest_stats(site_id, dest, &proxy).await?;
                }
                Ok::<_, crate::ports::StoreError>(count)
            })
            .await
    }
}
