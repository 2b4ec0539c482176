use std::{collections::HashMap, sync::Arc};

use futures::{StreamExt, TryStreamExt};
use uuid::Uuid;

use super::{
    fresh::{GroupPages, SiteBackends},
    Auditor,
};
use crate::{
    controller::{Census, CensusSnapshot, GroupMoves, MoveRequest},
    ports::{read_all, BackendTable, GeoDb, GroupMembers, GroupTable, StoreError},
};
use domain::audit::AuditAction;
use domain::{
    cluster::{GroupDetail, GroupFilter, GroupList, GroupRow, GroupView},
    geodb::{Backend, FlagWrite, Membership, StickyWrite, UserGroup},
    logtext::Untrusted,
    moves::{Initiator, MoveRecord},
    routing::{accepts_sessions, eligible_destination},
    AppError, IfMatch, PageRequest,
};

/// All backends of a site, read afresh (for writes; pages use [`SiteBackends`]).
pub(crate) async fn site_backends(geodb: &dyn BackendTable, site_id: Uuid) -> Result<Vec<Backend>, StoreError> {
    read_all(|page| geodb.list_backends(site_id, page)).await
}

fn row(group: &UserGroup, hosts: &HashMap<Uuid, String>, census: &CensusSnapshot) -> GroupRow {
    let host = |id: Option<Uuid>| id.and_then(|id| hosts.get(&id).cloned()).unwrap_or_default();
    GroupRow {
        backend_host: host(group.backend_id),
        alt_backend_host: host(group.alt_backend_id),
        users: census.taken_at.map(|_| census.users_in(group.site_id, &group.name)),
        group: GroupView::from(group),
    }
}

/// Groups of a site: any role.
pub struct GroupsReader {
    geodb: Arc<dyn GeoDb>,
    members: Arc<dyn GroupMembers>,
    census: Arc<Census>,
    backends: Arc<SiteBackends>,
    sites: Arc<super::fresh::Sites>,
    pages: Arc<GroupPages>,
}

impl GroupsReader {
    pub(crate) fn new(
        geodb: Arc<dyn GeoDb>,
        members: Arc<dyn GroupMembers>,
        census: Arc<Census>,
        read_lately: (Arc<SiteBackends>, Arc<super::fresh::Sites>, Arc<GroupPages>),
    ) -> Self {
        let (backends, sites, pages) = read_lately;
        Self { geodb, members, census, backends, sites, pages }
    }

    /// One page of the users the census found in the group, less those who have left it
    /// since: each listed user's current row is read (one page's worth of point reads), and
    /// records that no longer match it are hidden and removed. A page may hence hold fewer
    /// users than asked, with more to come.
    pub async fn members(
        &self,
        site_id: Uuid,
        name: &str,
        page: PageRequest,
    ) -> Result<domain::Page<String>, AppError> {
        // Taken before the users are read: a user found missing was deleted before it.
        let checked_at = self.geodb.store_time().await?;
        let page = self.members.list_members(site_id, name, page).await?;
        let current: HashMap<String, Membership> =
            self.geodb.get_memberships(&page.items).await?.into_iter().map(|m| (m.username.clone(), m)).collect();
        let mut kept = Vec::with_capacity(page.items.len());
        let mut stale = Vec::new();
        for username in page.items {
            match current.get(&username) {
                Some(user) if user.group_key() == Some((site_id, name)) => kept.push(username),
                found => {
                    let superseded_at = found.and_then(|user| user.written_at).unwrap_or(checked_at);
                    stale.push((username, superseded_at));
                }
            }
        }
        let removals = stale.iter().map(|(username, at)| self.members.remove_member(site_id, name, username, *at));
        // Hidden either way; a record left behind is removed at the next listing.
        if let Err(err) = futures::future::try_join_all(removals).await {
            tracing::warn!(error = %Untrusted(&err), "cannot remove stale group member records");
        }
        Ok(domain::Page { items: kept, next: page.next })
    }

    /// One page of the site's groups (driver paging, read lately: [`GroupPages`]), filtered
    /// within the page.
    pub async fn list(&self, site_id: Uuid, filter: &GroupFilter, page: PageRequest) -> Result<GroupList, AppError> {
        let (site, backends) = futures::try_join!(super::recent_site(&self.sites, site_id), async {
            Ok(self.backends.of(site_id).await?)
        })?;
        let backend_id = match &filter.backend {
            None => None,
            Some(host) => {
                Some(backends.iter().find(|b| b.host.eq_ignore_ascii_case(host)).map(|b| b.id).ok_or_else(|| {
                    AppError::invalid("backend", format!("{} has no backend {}", site.name, Untrusted(host)))
                })?)
            }
        };
        let page = self.pages.page(site_id, page).await?;
        let rows: Vec<&UserGroup> = page.items.iter().filter(|g| filter.matches(g, backend_id)).collect();
        // Only the hosts this page names.
        let named: std::collections::HashSet<Uuid> =
            rows.iter().flat_map(|g| [g.backend_id, g.alt_backend_id]).flatten().collect();
        let hosts: HashMap<Uuid, String> =
            backends.iter().filter(|b| named.contains(&b.id)).map(|b| (b.id, b.host.clone())).collect();
        let census = self.census.latest();
        let rows = rows.into_iter().map(|g| row(g, &hosts, &census)).collect();
        Ok(GroupList { site_name: site.name, rows, next: page.next.clone() })
    }

    pub async fn detail(&self, site_id: Uuid, name: &str) -> Result<GroupDetail, AppError> {
        let site = super::existing_site(self.geodb.as_ref(), site_id).await?;
        let group =
            self.geodb.get_group(site_id, name).await?.ok_or_else(|| AppError::NotFound(format!("group {name}")))?;
        let backends = self.backends.of(site_id).await?;
        let hosts: HashMap<Uuid, String> = backends.iter().map(|b| (b.id, b.host.clone())).collect();
        let destinations =
            backends.iter().filter(|b| eligible_destination(b, &group)).map(|b| (b.id, b.host.clone())).collect();
        let sites = self.geodb.list_group_sites(name).await?;
        let census = self.census.latest();
        Ok(GroupDetail { site_name: site.name, row: row(&group, &hosts, &census), sites, destinations })
    }
}

/// Moves and sticky flags: operators.
pub struct GroupOps {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
    moves: Arc<GroupMoves>,
    pages: Arc<GroupPages>,
    /// The versions the caller read (`If-Match`): a write to another one is refused.
    expected: Option<IfMatch>,
}

impl GroupOps {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, audit: Auditor, moves: Arc<GroupMoves>, pages: Arc<GroupPages>) -> Self {
        Self { geodb, audit, moves, pages, expected: None }
    }

    /// The same operations, each refused (precondition failed) unless the group is still at a
    /// version ([`domain::version::of_group`]) `versions` admits when read.
    pub fn expecting(mut self, versions: Option<IfMatch>) -> Self {
        self.expected = versions;
        self
    }

    fn check_expected(&self, group: &UserGroup) -> Result<(), AppError> {
        match &self.expected {
            Some(versions) if !versions.admits(&domain::version::of_group(group)) => {
                Err(super::not_as_read(&format!("group {}", group.name)))
            }
            _ => Ok(()),
        }
    }

    /// Starts a move like `doveadm cluster group move`, through the same path as the
    /// controller's moves (see [`GroupMoves::start`]), audited.
    pub async fn start_move(&self, site_id: Uuid, name: &str, destination: Uuid) -> Result<MoveRecord, AppError> {
        let group =
            self.geodb.get_group(site_id, name).await?.ok_or_else(|| AppError::NotFound(format!("group {name}")))?;
        self.check_expected(&group)?;
        // Refused before anything is audited; the move path checks again, conditionally.
        if group.is_moving() {
            return Err(AppError::Conflict(format!("group {name} is already moving")));
        }
        let target = self.geodb.get_backend(site_id, destination).await?;
        let target_host = target.map(|b| b.host).unwrap_or_else(|| destination.to_string());
        let after = UserGroup { alt_backend_id: Some(destination), ..group.clone() };
        let request = MoveRequest {
            site_id,
            group: name.to_string(),
            destination,
            initiator: Initiator::Operator(self.audit.operator().to_string()),
            decision_id: None,
        };
        let target = format!("{name} -> {target_host}");
        let started = self
            .audit
            .apply(AuditAction::GroupMove, &target, Some(&group), Some(&after), self.moves.start(request))
            .await;
        self.pages.forget(site_id);
        started
    }

    /// Like `doveadm cluster group access` on the group's backend: starts the group's pending
    /// move there (see [`GroupMoves::access`]). Audited; changes no GeoDB row itself.
    pub async fn access(&self, site_id: Uuid, name: &str) -> Result<String, AppError> {
        let group =
            self.geodb.get_group(site_id, name).await?.ok_or_else(|| AppError::NotFound(format!("group {name}")))?;
        let backend_id = group.backend_id.ok_or_else(|| AppError::Conflict(format!("group {name} has no backend")))?;
        let backend = self.geodb.get_backend(site_id, backend_id).await?;
        let host =
            backend.map(|b| b.host).ok_or_else(|| AppError::Conflict(format!("group {name}'s backend is gone")))?;
        let moves = self.moves.clone();
        let (on, target) = (host.clone(), format!("{name} on {host}"));
        self.audit
            .apply(AuditAction::GroupAccess, &target, None::<&()>, None::<&()>, async move {
                moves.access(&on, site_id, name).await.map_err(|e| AppError::Unavailable(e.to_string()))
            })
            .await?;
        Ok(host)
    }

    /// Writes the sticky flags `write` gives, each only if it still holds the value its writer
    /// saw (`doveadm cluster group update`); a flag not given is left to other writers. With an
    /// expected version, the flags not given must hold their values too.
    pub async fn set_sticky(&self, site_id: Uuid, name: &str, write: StickyWrite) -> Result<UserGroup, AppError> {
        let group =
            self.geodb.get_group(site_id, name).await?.ok_or_else(|| AppError::NotFound(format!("group {name}")))?;
        self.check_expected(&group)?;
        let unchanged = |on: bool| Some(FlagWrite { seen: on, wanted: on });
        let write = match self.expected {
            Some(_) => StickyWrite {
                sticky_users: write.sticky_users.or(unchanged(group.has_sticky_users())),
                sticky_backend: write.sticky_backend.or(unchanged(group.has_sticky_backend())),
            },
            None => write,
        };
        if write.is_empty() {
            return Ok(group);
        }
        let after = write.wanted_on(&group);
        let stored = self.geodb.set_group_sticky(site_id, name, write);
        let what = format!("group {name}");
        let written = self
            .audit
            .apply_conditional(AuditAction::GroupSticky, name, &what, Some(&group), Some(&after), stored)
            .await;
        self.pages.forget(site_id);
        written?;
        Ok(after)
    }
}

/// Site initialisation: admins.
pub struct GroupAdmin {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
    operations: Arc<super::Operations>,
    pages: Arc<GroupPages>,
}

/// Groups a site initialisation creates at once.
const INIT_IN_FLIGHT: usize = 16;

/// Creates `default-n` on the `n`th of the `online` backends in turn, unless it exists;
/// whether it was created.
async fn create_default_group(
    geodb: &dyn GroupTable,
    site_id: Uuid,
    n: u32,
    online: &[Uuid],
) -> Result<bool, StoreError> {
    let name = format!("default-{n}");
    if geodb.get_group(site_id, &name).await?.is_some() {
        return Ok(false);
    }
    let index = (n as usize - 1) % online.len();
    let group = UserGroup {
        site_id,
        name,
        backend_id: Some(online[index]),
        alt_backend_id: online.get((index + 1) % online.len()).copied().filter(|alt| *alt != online[index]),
        sticky_users: 0,
        moving: String::new(),
        refresh_after: None,
        sticky_backend: 0,
    };
    // Someone (Dovecot, another operator) may create it meanwhile: theirs stays.
    geodb.create_group(&group).await
}

/// `cluster_default_group_count` is a proxy setting; more than this is surely a typo.
pub const MAX_DEFAULT_GROUPS: u32 = 100_000;

impl GroupAdmin {
    pub(crate) fn new(
        geodb: Arc<dyn GeoDb>,
        audit: Auditor,
        operations: Arc<super::Operations>,
        pages: Arc<GroupPages>,
    ) -> Self {
        Self { geodb, audit, operations, pages }
    }

    /// Like `doveadm cluster site init` without `--update`: creates the missing groups
    /// `default-1..count` on the site's online backends, in turn. Existing groups are kept.
    pub async fn init_site(&self, site_id: Uuid, count: u32) -> Result<u32, AppError> {
        if count == 0 || count > MAX_DEFAULT_GROUPS {
            return Err(AppError::invalid("count", format!("the group count is from 1 to {MAX_DEFAULT_GROUPS}")));
        }
        let site = super::existing_site(self.geodb.as_ref(), site_id).await?;
        let online: Vec<Uuid> = site_backends(self.geodb.as_ref(), site_id)
            .await?
            .into_iter()
            .filter(|b| accepts_sessions(b) && b.load_factor > 0)
            .map(|b| b.id)
            .collect();
        if online.is_empty() {
            return Err(AppError::Conflict(format!("site {} has no online backend to give groups to", site.name)));
        }
        let key = super::site_init_key(site_id);
        if self.operations.get(&key).is_some() {
            return Err(AppError::Conflict(format!("site {} is being initialised already", site.name)));
        }
        let target = format!("{} default-1..{count}", site.name);
        let geodb = self.geodb.clone();
        let running = self.operations.start(key, u64::from(count));
        let online = &online;
        let created = self
            .audit
            .apply(AuditAction::SiteInit, &target, None::<&()>, Some(&count), async move {
                let creations = futures::stream::iter(1..=count).map(|n| {
                    let (geodb, running) = (&geodb, &running);
                    async move {
                        let created = create_default_group(geodb.as_ref(), site_id, n, online).await;
                        running.step();
                        created
                    }
                });
                let created: Vec<bool> = creations.buffer_unordered(INIT_IN_FLIGHT).try_collect().await?;
                Ok::<_, StoreError>(created.into_iter().filter(|c| *c).count() as u32)
            })
            .await;
        self.pages.forget(site_id);
        created
    }
}
