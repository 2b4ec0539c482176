//! Force-move and recover (`doveadm cluster site|backend force-move start|update|stop`,
//! `site recover`): starting, changing and stopping them, and what the pages show of them. What
//! a login does under them is in [`login`].

mod login;

pub use login::{follow_force_moves, read_force_moves};

use std::{collections::HashSet, sync::Arc};

use uuid::Uuid;

use super::{
    fresh::{ForceMoves, SiteBackends, Sites},
    Auditor,
};
use crate::{
    controller::Census,
    ports::{read_all, Clock, GeoDb},
};
use domain::{
    audit::AuditAction,
    force_move::{
        ForceMove, ForceMoveDraft, ForceMoveKind, ForceMovePage, ForceMoveScope, ForceMoveView, MAX_DESTINATIONS,
        MAX_DESTINATION_GROUPS,
    },
    geodb::Backend,
    AppError, Site,
};

/// Which operation: its kind and its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForceMoveKey {
    pub kind: ForceMoveKind,
    pub site_id: Uuid,
    pub backend_id: Option<Uuid>,
}

/// What the pages, the API and the CLI show of force-moves.
pub struct ForceMoveReader {
    pub(crate) census: Arc<Census>,
    pub(crate) sites: Arc<Sites>,
    pub(crate) backends: Arc<SiteBackends>,
    pub(crate) force_moves: Arc<ForceMoves>,
}

impl ForceMoveReader {
    /// The site's force-move page: its operations, and the sites and backends the forms offer.
    pub async fn page(&self, site_id: Uuid) -> Result<ForceMovePage, AppError> {
        let site = super::recent_site(&self.sites, site_id).await?;
        let (sites, backends, operations) = futures::try_join!(
            async { Ok(self.sites.all().await?) },
            async { Ok(self.backends.of(site_id).await?) },
            self.of_site(site_id)
        )?;
        Ok(ForceMovePage {
            other_sites: sites.iter().filter(|s| s.id != site_id).map(|s| s.name.clone()).collect(),
            backends: backends.iter().map(|b| b.host.clone()).collect(),
            operations,
            site,
        })
    }

    /// The operations on the site and its backends, with their progress by the latest census.
    pub async fn of_site(&self, site_id: Uuid) -> Result<Vec<ForceMoveView>, AppError> {
        let (sites, backends, operations) =
            futures::try_join!(self.sites.all(), self.backends.of(site_id), self.force_moves.all())?;
        let census = self.census.latest();
        let views = operations
            .iter()
            .filter(|op| op.site_id == site_id)
            .map(|op| {
                let users_at_source = census.taken_at.map(|_| users_in_source(&census, op.site_id, op.backend_id));
                let (source, live) = match op.backend_id {
                    Some(id) => {
                        let backend = backends.iter().find(|b| b.id == id);
                        let host = backend.map(|b| b.host.clone()).unwrap_or_else(|| id.to_string());
                        (host, backend.is_some_and(|b| op.is_live(b.status.as_str())))
                    }
                    None => {
                        let site = sites.iter().find(|s| s.id == site_id);
                        let name = site.map(|s| s.name.clone()).unwrap_or_else(|| site_id.to_string());
                        (name, site.is_some_and(|s| op.is_live(s.status.as_str())))
                    }
                };
                let destinations = op
                    .destinations
                    .iter()
                    .map(|d| match op.scope {
                        ForceMoveScope::Site => sites.iter().find(|s| s.id == *d).map(|s| s.name.clone()),
                        ForceMoveScope::Backend => backends.iter().find(|b| b.id == *d).map(|b| b.host.clone()),
                    })
                    .zip(&op.destinations)
                    .map(|(name, id)| name.unwrap_or_else(|| id.to_string()))
                    .collect();
                ForceMoveView {
                    operation: op.clone(),
                    source,
                    destinations,
                    live,
                    users_at_source,
                    counted_at: census.taken_at,
                }
            })
            .collect();
        Ok(views)
    }
}

/// Users in the site, or on the backend, by the census.
fn users_in_source(census: &crate::controller::CensusSnapshot, site_id: Uuid, backend_id: Option<Uuid>) -> u64 {
    match backend_id {
        Some(id) => census.users_per_backend.get(&id).copied().unwrap_or(0),
        None => census.users_per_group.iter().filter(|((site, _), _)| *site == site_id).map(|(_, n)| n).sum(),
    }
}

/// Starting, changing and stopping force-moves and recovers: admins only (see
/// [`super::Services::force_move_admin`]).
pub struct ForceMoveAdmin {
    pub(crate) geodb: Arc<dyn GeoDb>,
    pub(crate) audit: Auditor,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) census: Arc<Census>,
    pub(crate) force_moves: Arc<ForceMoves>,
}

impl ForceMoveAdmin {
    /// `site force-move start [--id ID] SITE PERCENT DEST-SITE…`: `destinations` are site names
    /// or ids.
    pub async fn start_site(
        &self,
        site_id: Uuid,
        draft: ForceMoveDraft,
        destinations: &[String],
    ) -> Result<ForceMove, AppError> {
        let sites = read_all(|page| self.geodb.list_sites(page)).await?;
        let site = find_site(&sites, site_id)?;
        let destinations = resolve(
            destinations,
            |key| sites.iter().find(|s| s.name == key || s.id.to_string() == key).map(|s| s.id),
            "site",
        )?;
        if destinations.contains(&site_id) {
            return Err(AppError::invalid("destinations", "a site cannot be its own destination"));
        }
        let key = ForceMoveKey { kind: ForceMoveKind::ForceMove, site_id, backend_id: None };
        self.refuse_opposite(&site.name, key, site.status.as_str()).await?;
        let state = self.new_state(key, ForceMoveScope::Site, draft, destinations, vec![], site.status.as_str());
        self.write_new(state, &format!("force-move of site {}", site.name)).await
    }

    /// `backend force-move start [--id ID] HOST PERCENT DEST-HOST…`: users of the backend's
    /// groups join groups on the destination backends (`destinations`: hosts or ids).
    pub async fn start_backend(
        &self,
        site_id: Uuid,
        backend_id: Uuid,
        draft: ForceMoveDraft,
        destinations: &[String],
    ) -> Result<ForceMove, AppError> {
        let backends = read_all(|page| self.geodb.list_backends(site_id, page)).await?;
        let backend = backends
            .iter()
            .find(|b| b.id == backend_id)
            .ok_or_else(|| AppError::NotFound(format!("backend {backend_id}")))?;
        let destinations = resolve(destinations, |key| host_or_id(&backends, key), "backend")?;
        if destinations.contains(&backend_id) {
            return Err(AppError::invalid("destinations", "a backend cannot be its own destination"));
        }
        let groups = self.destination_groups(site_id, &destinations).await?;
        if groups.is_empty() {
            return Err(AppError::Conflict(
                "the destination backends have no groups that are not moving: users need a group to join".into(),
            ));
        }
        let key = ForceMoveKey { kind: ForceMoveKind::ForceMove, site_id, backend_id: Some(backend_id) };
        let state = self.new_state(key, ForceMoveScope::Backend, draft, destinations, groups, backend.status.as_str());
        self.write_new(state, &format!("force-move of backend {}", backend.host)).await
    }

    /// `site recover [--id ID] SITE PERCENT`: users a force-move moved out of the site come back
    /// at their next login, the chosen share of them.
    pub async fn recover_site(&self, site_id: Uuid, draft: ForceMoveDraft) -> Result<ForceMove, AppError> {
        let site = find_site(&read_all(|page| self.geodb.list_sites(page)).await?, site_id)?.clone();
        let key = ForceMoveKey { kind: ForceMoveKind::Recover, site_id, backend_id: None };
        self.refuse_opposite(&site.name, key, site.status.as_str()).await?;
        let state = self.new_state(key, ForceMoveScope::Site, draft, vec![], vec![], site.status.as_str());
        self.write_new(state, &format!("recover of site {}", site.name)).await
    }

    /// `force-move update SOURCE PERCENT` (and a recover's percent).
    pub async fn update(&self, key: ForceMoveKey, percent: u8) -> Result<ForceMove, AppError> {
        let (seen, state) = self.running(key).await?;
        let now = self.clock.now();
        let changed = ForceMove { percent, updated_at: now, ..state.clone() };
        let what = describe(key);
        let row = changed.to_setting();
        let write = self.geodb.write_setting(Some(&seen), &row);
        self.audit
            .apply_conditional(AuditAction::ForceMoveUpdate, &what, &what, Some(&state), Some(&changed), write)
            .await?;
        self.force_moves.forget();
        Ok(changed)
    }

    /// `force-move stop SOURCE` (and a recover's): nobody else moves; who moved stays.
    pub async fn stop(&self, key: ForceMoveKey) -> Result<ForceMove, AppError> {
        let (seen, state) = self.running(key).await?;
        let what = describe(key);
        let write = self.geodb.remove_setting(&seen);
        self.audit
            .apply_conditional(AuditAction::ForceMoveStop, &what, &what, Some(&state), None::<&ForceMove>, write)
            .await?;
        self.force_moves.forget();
        Ok(state)
    }

    async fn running(&self, key: ForceMoveKey) -> Result<(domain::geodb::ClusterSetting, ForceMove), AppError> {
        let row = self.geodb.get_setting(&ForceMove::key(key.kind, key.site_id, key.backend_id)).await?;
        let state = row.as_ref().and_then(ForceMove::from_setting);
        match (row, state) {
            (Some(row), Some(state)) => Ok((row, state)),
            _ => Err(AppError::NotFound(format!("no {} is running", describe(key)))),
        }
    }

    /// A site's force-move and recover would undo each other: one at a time.
    async fn refuse_opposite(&self, site_name: &str, key: ForceMoveKey, status: &str) -> Result<(), AppError> {
        let other = match key.kind {
            ForceMoveKind::ForceMove => ForceMoveKind::Recover,
            ForceMoveKind::Recover => ForceMoveKind::ForceMove,
        };
        let row = self.geodb.get_setting(&ForceMove::key(other, key.site_id, None)).await?;
        if row.as_ref().and_then(ForceMove::from_setting).is_some_and(|op| op.is_live(status)) {
            return Err(AppError::Conflict(format!("a {} is running on site {site_name}: stop it first", word(other))));
        }
        Ok(())
    }

    fn new_state(
        &self,
        key: ForceMoveKey,
        scope: ForceMoveScope,
        draft: ForceMoveDraft,
        destinations: Vec<Uuid>,
        destination_groups: Vec<String>,
        source_status: &str,
    ) -> ForceMove {
        let now = self.clock.now();
        let census = self.census.latest();
        ForceMove {
            kind: key.kind,
            scope,
            site_id: key.site_id,
            backend_id: key.backend_id,
            id: draft.id.unwrap_or_else(|| Uuid::new_v4().to_string()),
            percent: draft.percent,
            destinations,
            destination_groups,
            source_status: source_status.to_string(),
            users_at_start: census.taken_at.map(|_| users_in_source(&census, key.site_id, key.backend_id)),
            started_at: now,
            updated_at: now,
            started_by: self.audit.operator().to_string(),
        }
    }

    /// Writes a new operation, over only a void one (its source's status changed since).
    async fn write_new(&self, state: ForceMove, what: &str) -> Result<ForceMove, AppError> {
        let existing = self.geodb.get_setting(&ForceMove::key(state.kind, state.site_id, state.backend_id)).await?;
        let earlier = existing.as_ref().and_then(ForceMove::from_setting);
        if earlier.as_ref().is_some_and(|op| op.is_live(&state.source_status)) {
            return Err(AppError::Conflict(format!("a {what} is running: update or stop it")));
        }
        let row = state.to_setting();
        let write = self.geodb.write_setting(existing.as_ref(), &row);
        self.audit
            .apply_conditional(AuditAction::ForceMoveStart, what, what, earlier.as_ref(), Some(&state), write)
            .await?;
        self.force_moves.forget();
        Ok(state)
    }

    /// The groups users of a backend force-move join: the smallest (by the census) that are on
    /// a destination backend and not moving, at most [`MAX_DESTINATION_GROUPS`].
    async fn destination_groups(&self, site_id: Uuid, destinations: &[Uuid]) -> Result<Vec<String>, AppError> {
        let census = self.census.latest();
        let mut groups: Vec<(u64, String)> = read_all(|page| self.geodb.list_groups(site_id, page))
            .await?
            .into_iter()
            .filter(|g| !g.is_moving() && g.backend_id.is_some_and(|b| destinations.contains(&b)))
            .map(|g| (census.users_in(site_id, &g.name), g.name))
            .collect();
        groups.sort();
        Ok(groups.into_iter().take(MAX_DESTINATION_GROUPS).map(|(_, name)| name).collect())
    }
}

fn find_site(sites: &[Site], id: Uuid) -> Result<&Site, AppError> {
    sites.iter().find(|s| s.id == id).ok_or_else(|| AppError::NotFound(format!("site {id}")))
}

fn host_or_id(backends: &[Backend], key: &str) -> Option<Uuid> {
    backends.iter().find(|b| b.host == key || b.id.to_string() == key).map(|b| b.id)
}

/// Destinations by name or id: 1 to [`MAX_DESTINATIONS`], each known, none twice.
fn resolve(keys: &[String], find: impl Fn(&str) -> Option<Uuid>, what: &str) -> Result<Vec<Uuid>, AppError> {
    let keys: Vec<&str> = keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()).collect();
    if keys.is_empty() || keys.len() > MAX_DESTINATIONS {
        return Err(AppError::invalid("destinations", format!("name 1 to {MAX_DESTINATIONS} destination {what}s")));
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(keys.len());
    for key in keys {
        let id = find(key).ok_or_else(|| {
            AppError::invalid("destinations", format!("no {what} {:?}", domain::logtext::Untrusted(key)))
        })?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// "force-move of site <id>" and the like, for messages and the audit log.
fn describe(key: ForceMoveKey) -> String {
    let kind = word(key.kind);
    match key.backend_id {
        Some(id) => format!("{kind} of backend {id}"),
        None => format!("{kind} of site {}", key.site_id),
    }
}

/// The operation's name as doveadm spells the command.
fn word(kind: ForceMoveKind) -> &'static str {
    match kind {
        ForceMoveKind::ForceMove => "force-move",
        ForceMoveKind::Recover => "recover",
    }
}
