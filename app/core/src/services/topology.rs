use domain::audit::AuditAction;
use domain::logtext::Untrusted;
use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use uuid::Uuid;

use domain::{
    metrics::HostTraffic, page::MAX_PAGE_SIZE, AppError, IfMatch, Page, PageRequest, Site, SiteDraft, SiteRow, Tag,
    TagDraft,
};

use crate::ports::{GeoDb, Metrics, StoreError};

use super::Auditor;

/// The window of the traffic figures on the sites list, as the controller's health checks use.
const TRAFFIC_WINDOW: Duration = Duration::from_secs(300);

/// Sites and tags are small tables (one row per data centre / shard). Name checks read them whole,
/// page by page, up to this many rows; a larger table is refused rather than read without bound.
const MAX_TOPOLOGY_ROWS: usize = 10_000;

/// Read access to sites and tags.
pub struct TopologyReader {
    geodb: Arc<dyn GeoDb>,
    metrics: Arc<dyn Metrics>,
}

impl TopologyReader {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, metrics: Arc<dyn Metrics>) -> Self {
        Self { geodb, metrics }
    }

    pub async fn list_sites(&self, page: PageRequest) -> Result<Page<SiteRow>, AppError> {
        let sites = self.geodb.list_sites(page).await?;
        let mut tag_names: HashMap<Uuid, Option<String>> = HashMap::new();
        for tag_id in sites.items.iter().filter_map(|s| s.tag) {
            if let std::collections::hash_map::Entry::Vacant(entry) = tag_names.entry(tag_id) {
                entry.insert(self.geodb.get_tag(tag_id).await?.map(|t| t.tag));
            }
        }
        // Traffic is extra information: without metrics the list still shows.
        let traffic = match self.metrics.host_traffic(TRAFFIC_WINDOW).await {
            Ok(traffic) => Some(traffic),
            Err(err) => {
                tracing::debug!(error = %Untrusted(&err), "no traffic figures for the sites list");
                None
            }
        };
        let mut rows = Vec::with_capacity(sites.items.len());
        for site in sites.items {
            let tag_name = site.tag.and_then(|id| tag_names.get(&id).cloned().flatten());
            let backends = self.geodb.list_backends(site.id, PageRequest::first(MAX_PAGE_SIZE)).await?;
            let site_traffic = traffic.as_ref().map(|t| {
                backends.items.iter().filter_map(|b| t.get(&b.host)).fold(HostTraffic::default(), |sum, h| {
                    HostTraffic {
                        logins_ok: sum.logins_ok + h.logins_ok,
                        logins_failed: sum.logins_failed + h.logins_failed,
                        deliveries_ok: sum.deliveries_ok + h.deliveries_ok,
                        deliveries_failed: sum.deliveries_failed + h.deliveries_failed,
                    }
                })
            });
            rows.push(SiteRow {
                tag_name,
                backends: backends.items.len(),
                more_backends: backends.next.is_some(),
                traffic: site_traffic,
                site,
            });
        }
        Ok(Page { items: rows, next: sites.next })
    }

    pub async fn get_site(&self, id: Uuid) -> Result<Site, AppError> {
        self.geodb.get_site(id).await?.ok_or_else(|| AppError::NotFound(format!("site {id}")))
    }

    pub async fn list_tags(&self, page: PageRequest) -> Result<Page<Tag>, AppError> {
        Ok(self.geodb.list_tags(page).await?)
    }

    /// Every tag, for pickers.
    pub async fn all_tags(&self) -> Result<Vec<Tag>, AppError> {
        read_all(|page| self.geodb.list_tags(page)).await
    }
}

/// Changes to sites and tags. Only [`super::Services::topology_admin`] hands one out.
pub struct TopologyAdmin {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
    sites: Arc<super::fresh::Sites>,
    controller: Arc<crate::controller::Controller>,
}

impl TopologyAdmin {
    pub(crate) fn new(
        geodb: Arc<dyn GeoDb>,
        audit: Auditor,
        sites: Arc<super::fresh::Sites>,
        controller: Arc<crate::controller::Controller>,
    ) -> Self {
        Self { geodb, audit, sites, controller }
    }

    /// Adds a site under a new id. The name must be free and the tag must exist.
    pub async fn add_site(&self, draft: SiteDraft) -> Result<Site, AppError> {
        self.check_site(&draft, None).await?;
        let site = draft.into_site(Uuid::new_v4());
        let what = format!("site {}", site.name);
        let write = self.geodb.write_site(None, &site);
        let written = self
            .audit
            .apply_conditional(AuditAction::SiteAdd, &site.name, &what, None::<&Site>, Some(&site), write)
            .await;
        self.sites.forget();
        written?;
        Ok(site)
    }

    /// Replaces a site's fields. Renaming a site means renaming `cluster_local_site` on all its servers.
    /// Replaces a site's name, tag, load balancer and status, only if it is at a version
    /// ([`domain::version::of_site`]) `expected` admits when read, and conditionally on that read.
    pub async fn update_site(&self, id: Uuid, draft: SiteDraft, expected: Option<&IfMatch>) -> Result<Site, AppError> {
        let before = self.geodb.get_site(id).await?.ok_or_else(|| AppError::NotFound(format!("site {id}")))?;
        if expected.is_some_and(|versions| !versions.admits(&domain::version::of_site(&before))) {
            return Err(super::not_as_read(&format!("site {}", before.name)));
        }
        self.check_site(&draft, Some(id)).await?;
        let site = draft.into_site(id);
        let what = format!("site {}", before.name);
        let write = self.geodb.write_site(Some(&before), &site);
        let written = self
            .audit
            .apply_conditional(AuditAction::SiteUpdate, &site.name, &what, Some(&before), Some(&site), write)
            .await;
        self.sites.forget();
        written?;
        // CE proxies cache routes: a site that stopped or started taking users must reach them now.
        if before.status != site.status {
            crate::controller::end_force_moves(self.geodb.as_ref(), id, None, site.status.as_str()).await;
            self.controller.moves().handoff().flush_proxy_caches().await;
        }
        Ok(site)
    }

    /// Removes a site. The operator confirms by typing the site's name; a site that still has
    /// backends is refused, since proxies would lose their routes.
    pub async fn remove_site(&self, id: Uuid, confirm_name: &str) -> Result<Site, AppError> {
        let site = self.geodb.get_site(id).await?.ok_or_else(|| AppError::NotFound(format!("site {id}")))?;
        if confirm_name.trim() != site.name {
            return Err(AppError::invalid("confirm_name", format!("type the site's name, {}, to confirm", site.name)));
        }
        let backends = self.geodb.list_backends(id, PageRequest::first(1)).await?;
        if !backends.items.is_empty() {
            return Err(AppError::Conflict(format!("site {} still has backends: remove them first", site.name)));
        }
        // A backend added between the check above and this write is not seen: adding one takes
        // an admin, and the removal is audited.
        let what = format!("site {}", site.name);
        let write = self.geodb.remove_site(&site);
        let written = self
            .audit
            .apply_conditional(AuditAction::SiteRemove, &site.name, &what, Some(&site), None::<&Site>, write)
            .await;
        self.sites.forget();
        written?;
        Ok(site)
    }

    pub async fn create_tag(&self, draft: TagDraft) -> Result<Tag, AppError> {
        self.check_tag_name(&draft, None).await?;
        let tag = Tag { id: Uuid::new_v4(), tag: draft.tag };
        let (what, write) = (format!("tag {}", tag.tag), self.geodb.write_tag(None, &tag));
        self.audit.apply_conditional(AuditAction::TagCreate, &tag.tag, &what, None::<&Tag>, Some(&tag), write).await?;
        Ok(tag)
    }

    pub async fn rename_tag(&self, id: Uuid, draft: TagDraft) -> Result<Tag, AppError> {
        let before = self.geodb.get_tag(id).await?.ok_or_else(|| AppError::NotFound(format!("tag {id}")))?;
        self.check_tag_name(&draft, Some(id)).await?;
        let tag = Tag { id, tag: draft.tag };
        let (what, write) = (format!("tag {}", before.tag), self.geodb.write_tag(Some(&before), &tag));
        self.audit.apply_conditional(AuditAction::TagRename, &tag.tag, &what, Some(&before), Some(&tag), write).await?;
        Ok(tag)
    }

    /// Removes a tag that no site uses. (`doveadm cluster tag remove` does not check this and
    /// warns that it "can cause problems"; the UI refuses instead.)
    pub async fn remove_tag(&self, id: Uuid) -> Result<Tag, AppError> {
        let tag = self.geodb.get_tag(id).await?.ok_or_else(|| AppError::NotFound(format!("tag {id}")))?;
        let users: Vec<String> = read_all(|page| self.geodb.list_sites(page))
            .await?
            .into_iter()
            .filter(|s| s.tag == Some(id))
            .map(|s| s.name)
            .collect();
        if !users.is_empty() {
            return Err(AppError::Conflict(format!("tag {} is used by site {}", tag.tag, users.join(", "))));
        }
        let (what, write) = (format!("tag {}", tag.tag), self.geodb.remove_tag(&tag));
        self.audit.apply_conditional(AuditAction::TagRemove, &tag.tag, &what, Some(&tag), None::<&Tag>, write).await?;
        Ok(tag)
    }

    async fn check_site(&self, draft: &SiteDraft, own_id: Option<Uuid>) -> Result<(), AppError> {
        let sites = read_all(|page| self.geodb.list_sites(page)).await?;
        if sites.iter().any(|s| s.name == draft.name && Some(s.id) != own_id) {
            return Err(AppError::exists("name", format!("a site named {} already exists", draft.name)));
        }
        if let Some(tag) = draft.tag {
            if self.geodb.get_tag(tag).await?.is_none() {
                return Err(AppError::invalid("tag", "that tag does not exist"));
            }
        }
        Ok(())
    }

    async fn check_tag_name(&self, draft: &TagDraft, own_id: Option<Uuid>) -> Result<(), AppError> {
        let tags = read_all(|page| self.geodb.list_tags(page)).await?;
        if tags.iter().any(|t| t.tag == draft.tag && Some(t.id) != own_id) {
            return Err(AppError::exists("tag", format!("a tag named {} already exists", draft.tag)));
        }
        Ok(())
    }
}

/// Reads a small table page by page, refusing one larger than [`MAX_TOPOLOGY_ROWS`].
async fn read_all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, AppError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
        all.extend(page.items);
        if all.len() > MAX_TOPOLOGY_ROWS {
            return Err(AppError::Internal(format!("more than {MAX_TOPOLOGY_ROWS} rows in a topology table")));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}
