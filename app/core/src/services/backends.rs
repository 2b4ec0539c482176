use std::sync::Arc;

use uuid::Uuid;

use super::{fresh::SiteBackends, Auditor};
use crate::controller::{Census, CensusSnapshot, Controller};
use crate::ports::{BackendTable, GeoDb, HostResolver, StoreError};
use domain::audit::AuditAction;
use domain::edition::DovecotEdition;
use domain::{
    cluster::{BackendList, BackendRow, BackendView},
    geodb::{Backend, BackendStatus},
    logtext::Untrusted,
    page::{page_by_name, MAX_PAGE_SIZE},
    version, AppError, BackendHost, IfMatch, LoadFactor, PageRequest,
};

async fn backend(geodb: &dyn BackendTable, site_id: Uuid, id: Uuid) -> Result<Backend, AppError> {
    geodb.get_backend(site_id, id).await?.ok_or_else(|| AppError::NotFound(format!("backend {id}")))
}

/// A site's backends with their counts and the controller's probes: any role.
pub struct BackendsReader {
    census: Arc<Census>,
    controller: Arc<Controller>,
    sites: Arc<super::fresh::Sites>,
    backends: Arc<SiteBackends>,
}

impl BackendsReader {
    pub(crate) fn new(
        census: Arc<Census>,
        controller: Arc<Controller>,
        sites: Arc<super::fresh::Sites>,
        backends: Arc<SiteBackends>,
    ) -> Self {
        Self { census, controller, sites, backends }
    }

    /// One page of the site's backends in host order (`be2` before `be10`); the cursor is the
    /// last host of the page before. Read from the site's backends as read lately
    /// ([`SiteBackends`]), so a page costs no store read.
    pub async fn list(&self, site_id: Uuid, request: PageRequest) -> Result<BackendList, AppError> {
        let (site, all) = futures::try_join!(super::recent_site(&self.sites, site_id), async {
            Ok(self.backends.of(site_id).await?)
        })?;
        let page = page_by_name(&all, |b| b.host.as_str(), &request);
        let census = self.census.latest();
        Ok(BackendList {
            rows: self.rows(&site.name, &page.items, &census),
            site_name: site.name,
            next: page.next,
            counted_at: census.taken_at,
        })
    }

    /// One backend of the site, by host, as read lately.
    pub async fn by_host(&self, site_id: Uuid, host: &str) -> Result<BackendRow, AppError> {
        let (site, all) = futures::try_join!(super::recent_site(&self.sites, site_id), async {
            Ok(self.backends.of(site_id).await?)
        })?;
        let found = all.iter().find(|b| b.host.eq_ignore_ascii_case(host));
        let found = found.ok_or_else(|| AppError::NotFound(format!("backend {} in {}", Untrusted(host), site.name)))?;
        let census = self.census.latest();
        Ok(self.rows(&site.name, &[found], &census).remove(0))
    }

    fn rows(&self, site: &str, backends: &[&Backend], census: &CensusSnapshot) -> Vec<BackendRow> {
        let counted = census.taken_at.is_some();
        let hosts: Vec<&str> = backends.iter().map(|b| b.host.as_str()).collect();
        let probes = self.controller.reachable(site, &hosts);
        backends
            .iter()
            .zip(probes)
            .map(|(b, reachable)| BackendRow {
                groups: counted.then(|| census.groups_per_backend.get(&b.id).copied().unwrap_or(0)),
                users: counted.then(|| census.users_per_backend.get(&b.id).copied().unwrap_or(0)),
                backend: BackendView::from(*b),
                reachable,
            })
            .collect()
    }
}

/// Backend status, load factor and evacuation: operators.
pub struct BackendOps {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
    controller: Arc<Controller>,
    backends: Arc<SiteBackends>,
    /// The versions the caller read (`If-Match`): a write to another one is refused.
    expected: Option<IfMatch>,
}

impl BackendOps {
    pub(crate) fn new(
        geodb: Arc<dyn GeoDb>,
        audit: Auditor,
        controller: Arc<Controller>,
        backends: Arc<SiteBackends>,
    ) -> Self {
        Self { geodb, audit, controller, backends, expected: None }
    }

    /// The same operations, each refused (precondition failed) unless the backend is still at
    /// a version ([`domain::version::of_backend`]) `versions` admits when read.
    pub fn expecting(mut self, versions: Option<IfMatch>) -> Self {
        self.expected = versions;
        self
    }

    /// Audits and runs one conditional write of the backend as read (`write` gets the row read
    /// and its edited copy); a refusal means it changed meanwhile, and nothing was written.
    async fn change<F, Fut>(
        &self,
        action: AuditAction,
        site_id: Uuid,
        id: Uuid,
        edit: impl FnOnce(&mut Backend),
        write: F,
    ) -> Result<Backend, AppError>
    where
        F: FnOnce(Backend, Backend) -> Fut,
        Fut: std::future::Future<Output = Result<bool, StoreError>>,
    {
        let before = backend(self.geodb.as_ref(), site_id, id).await?;
        if self.expected.as_ref().is_some_and(|versions| !versions.admits(&version::of_backend(&before))) {
            return Err(super::not_as_read(&format!("backend {}", before.host)));
        }
        let mut after = before.clone();
        edit(&mut after);
        let (host, write) = (after.host.clone(), write(before.clone(), after.clone()));
        let what = format!("backend {host}");
        let applied = self.audit.apply_conditional(action, &host, &what, Some(&before), Some(&after), write).await;
        self.backends.forget(site_id);
        applied?;
        // CE proxies cache routes: a backend that stopped or started taking sessions must
        // reach them now.
        if before.status != after.status {
            crate::controller::end_force_moves(self.geodb.as_ref(), site_id, Some(id), after.status.as_str()).await;
            self.controller.moves().handoff().flush_proxy_caches().await;
        }
        Ok(after)
    }

    /// online, offline or standby (parsed by the caller).
    pub async fn set_status(&self, site_id: Uuid, id: Uuid, status: BackendStatus) -> Result<Backend, AppError> {
        let reason = format!("set {status} by operator {}", self.audit.operator());
        let geodb = self.geodb.clone();
        let edit = |b: &mut Backend| {
            b.status = status;
            b.status_reason = reason;
        };
        self.change(AuditAction::BackendStatus, site_id, id, edit, |before, after| async move {
            geodb.set_backend_status(site_id, id, &before.status, &after.status, &after.status_reason).await
        })
        .await
    }

    /// 0 drains the backend.
    pub async fn set_load_factor(&self, site_id: Uuid, id: Uuid, load_factor: LoadFactor) -> Result<Backend, AppError> {
        let geodb = self.geodb.clone();
        let load_factor = load_factor.get();
        self.change(AuditAction::BackendLoadFactor, site_id, id, |b| b.load_factor = load_factor, |before, _| async move {
            geodb.set_backend_load_factor(site_id, id, before.load_factor, load_factor).await
        })
        .await
    }

    /// A status and a load factor at once (`doveadm cluster backend update`), in one conditional
    /// write: both change, or neither.
    pub async fn update(
        &self,
        site_id: Uuid,
        id: Uuid,
        status: Option<BackendStatus>,
        load_factor: Option<LoadFactor>,
    ) -> Result<Backend, AppError> {
        let reason = status.as_ref().map(|status| format!("set {status} by operator {}", self.audit.operator()));
        let edit = |b: &mut Backend| {
            if let (Some(status), Some(reason)) = (status, reason) {
                b.status = status;
                b.status_reason = reason;
            }
            if let Some(load_factor) = load_factor {
                b.load_factor = load_factor.get();
            }
        };
        self.change_state(AuditAction::BackendUpdate, site_id, id, edit).await
    }

    /// Like `doveadm cluster backend evacuate`: standby and load factor 0, so the controller
    /// drains it group by group.
    pub async fn evacuate(&self, site_id: Uuid, id: Uuid) -> Result<Backend, AppError> {
        let reason = format!("evacuated by operator {}", self.audit.operator());
        let edit = |b: &mut Backend| {
            b.status = BackendStatus::Standby;
            b.load_factor = LoadFactor::DRAINED.get();
            b.status_reason = reason;
        };
        self.change_state(AuditAction::BackendEvacuate, site_id, id, edit).await
    }

    /// A change of status, reason and load factor as one write (`BackendTable::set_backend_state`).
    async fn change_state(
        &self,
        action: AuditAction,
        site_id: Uuid,
        id: Uuid,
        edit: impl FnOnce(&mut Backend),
    ) -> Result<Backend, AppError> {
        let geodb = self.geodb.clone();
        self.change(
            action,
            site_id,
            id,
            edit,
            |before, after| async move { geodb.set_backend_state(&before, &after).await },
        )
        .await
    }
}

/// Adding and removing backends: admins.
pub struct BackendAdmin {
    geodb: Arc<dyn GeoDb>,
    resolver: Arc<dyn HostResolver>,
    audit: Auditor,
    backends: Arc<SiteBackends>,
    /// Which Dovecot the backends run: Dovecot Pro's are named, never IP addresses.
    edition: DovecotEdition,
}

/// How many of a site's groups a removal check reads at most before it gives up (and refuses).
const MAX_GROUPS_CHECKED: usize = 1_000_000;

impl BackendAdmin {
    pub(crate) fn new(
        geodb: Arc<dyn GeoDb>,
        resolver: Arc<dyn HostResolver>,
        audit: Auditor,
        backends: Arc<SiteBackends>,
        edition: DovecotEdition,
    ) -> Self {
        Self { geodb, resolver, audit, backends, edition }
    }

    /// Adds a backend in `standby` (a host the site's Dovecot edition allows; it must resolve
    /// and be new in the site).
    pub async fn add(&self, site_id: Uuid, host: BackendHost) -> Result<Backend, AppError> {
        let host = String::from(host.for_edition(self.edition).map_err(|bad| bad.on("host"))?);
        super::existing_site(self.geodb.as_ref(), site_id).await?;
        let mut cursor = None;
        loop {
            let page = self.geodb.list_backends(site_id, PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
            if page.items.iter().any(|b| b.host == host) {
                return Err(AppError::exists("host", format!("{host} is already a backend of this site")));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        self.resolver
            .check(&host)
            .await
            .map_err(|reason| AppError::invalid("host", format!("{host} does not resolve: {reason}")))?;
        let added = Backend {
            site_id,
            id: Uuid::new_v4(),
            load_factor: 100,
            host: host.clone(),
            status: BackendStatus::Standby,
            status_reason: format!("added by operator {}", self.audit.operator()),
            last_moved_from: String::new(),
            last_moved_to: String::new(),
        };
        let (what, write) = (format!("backend {host}"), self.geodb.add_backend(&added));
        let applied = self
            .audit
            .apply_conditional(AuditAction::BackendAdd, &host, &what, None::<&Backend>, Some(&added), write)
            .await;
        self.backends.forget(site_id);
        applied?;
        Ok(added)
    }

    /// Removes a backend. While groups still name it as their backend or alternative, this is
    /// refused unless `force` is set (their users would lose their route).
    pub async fn remove(&self, site_id: Uuid, id: Uuid, force: bool) -> Result<Backend, AppError> {
        let before = backend(self.geodb.as_ref(), site_id, id).await?;
        if !force {
            let owned = self.groups_using(site_id, id).await?;
            if owned > 0 {
                return Err(AppError::Conflict(format!(
                    "{} still serves {owned} group(s): move them away (or evacuate) first, or force the removal",
                    before.host
                )));
            }
        }
        let action = if force { AuditAction::BackendRemoveForced } else { AuditAction::BackendRemove };
        let applied = self
            .audit
            .apply(action, &before.host, Some(&before), None::<&Backend>, self.geodb.delete_backend(site_id, id))
            .await;
        self.backends.forget(site_id);
        applied?;
        Ok(before)
    }

    async fn groups_using(&self, site_id: Uuid, id: Uuid) -> Result<usize, AppError> {
        let (mut count, mut seen, mut cursor) = (0, 0, None);
        loop {
            let page = self.geodb.list_groups(site_id, PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
            seen += page.items.len();
            count += page.items.iter().filter(|g| g.backend_id == Some(id) || g.alt_backend_id == Some(id)).count();
            match page.next {
                Some(_) if seen >= MAX_GROUPS_CHECKED => {
                    return Err(AppError::Conflict(
                        "too many groups to check; force the removal if you are sure".into(),
                    ));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }
}
