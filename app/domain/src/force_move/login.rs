//! What a login does under the running force-moves and recovers: a pure function of the user's
//! row, the operations, and the rows they depend on.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{chosen, destination_index, ForceMove, ForceMoveKind, ForceMoveScope, MovedUser};
use crate::{
    geodb::{Backend, User, UserGroup, UserMove},
    site::SiteStatus,
    Site,
};

/// How a login changes the user's row.
#[derive(Debug, Clone, PartialEq)]
pub enum Relocation {
    /// The user leaves their site for a destination site; `moved` remembers where from.
    LeaveSite { to: UserMove, moved: MovedUser },
    /// The user comes back to the site a force-move moved them out of.
    Return { to: UserMove },
    /// The user joins a group on a destination backend, in the same site.
    ChangeGroup { to: UserMove },
}

impl Relocation {
    /// The row the user gets.
    pub fn placement(&self) -> &UserMove {
        match self {
            Relocation::LeaveSite { to, .. } | Relocation::Return { to } | Relocation::ChangeGroup { to } => to,
        }
    }
}

/// What the running operations do to `user` at this login, if anything.
///
/// - `sites`: every site; `backends`: the backends of the user's site (for backend force-moves);
///   `group`: the user's group row in their site; `moved`: the user's row in the moved-users
///   section for a site being recovered, if any.
/// - An operation whose source has another status than when it started is void.
/// - A user with a pending user move (`moving_*`) is left to that move.
/// - A site's recover is skipped while a force-move of the same site runs.
#[allow(clippy::too_many_arguments)]
pub fn relocation(
    user: &User,
    operations: &[ForceMove],
    sites: &[Site],
    backends: &[Backend],
    group: Option<&UserGroup>,
    moved: Option<&MovedUser>,
    now: DateTime<Utc>,
) -> Option<Relocation> {
    if !user.moving_group_name.is_empty() {
        return None;
    }
    let home = user.preferred_site_id?;
    let site_status = |id: Uuid| sites.iter().find(|s| s.id == id).map(|s| &s.status);
    let live = |op: &ForceMove| match (op.scope, op.backend_id) {
        (ForceMoveScope::Site, _) => site_status(op.site_id).is_some_and(|s| op.is_live(s.as_str())),
        (ForceMoveScope::Backend, Some(id)) => {
            backends.iter().find(|b| b.id == id).is_some_and(|b| op.is_live(b.status.as_str()))
        }
        (ForceMoveScope::Backend, None) => false,
    };
    let running = |kind, scope| operations.iter().filter(move |op| op.kind == kind && op.scope == scope && live(op));
    let name = user.username.as_str();

    if let Some(moved) = moved.filter(|m| m.to_site == home && m.to_group == user.group_name) {
        let recover = running(ForceMoveKind::Recover, ForceMoveScope::Site).find(|op| op.site_id == moved.from_site);
        let leaving = running(ForceMoveKind::ForceMove, ForceMoveScope::Site).any(|op| op.site_id == moved.from_site);
        if let Some(op) = recover.filter(|op| !leaving && chosen(&op.id, name, op.percent)) {
            if site_status(op.site_id) == Some(&SiteStatus::Online) {
                let to = UserMove {
                    site_id: moved.from_site,
                    group: moved.from_group.clone(),
                    failover_group: moved.from_failover_group.clone(),
                    at: now,
                };
                return Some(Relocation::Return { to });
            }
        }
    }

    if let Some(op) = running(ForceMoveKind::ForceMove, ForceMoveScope::Site).find(|op| op.site_id == home) {
        if chosen(&op.id, name, op.percent) {
            let usable: Vec<Uuid> = op
                .destinations
                .iter()
                .copied()
                .filter(|d| *d != home && site_status(*d) == Some(&SiteStatus::Online))
                .collect();
            if let Some(to_site) = usable.get(destination_index(&op.id, name, usable.len())).copied() {
                let to_group = match user.failover_site_group_name.as_str() {
                    "" => user.group_name.clone(),
                    failover => failover.to_string(),
                };
                let moved = MovedUser {
                    username: user.username.clone(),
                    from_site: home,
                    from_group: user.group_name.clone(),
                    from_failover_group: user.failover_site_group_name.clone(),
                    to_site,
                    to_group: to_group.clone(),
                    force_move_id: op.id.clone(),
                };
                let to =
                    UserMove { site_id: to_site, group: to_group, failover_group: user.group_name.clone(), at: now };
                return Some(Relocation::LeaveSite { to, moved });
            }
        }
    }

    let on_backend = group.filter(|g| g.site_id == home && g.name == user.group_name).and_then(|g| g.backend_id)?;
    let op = running(ForceMoveKind::ForceMove, ForceMoveScope::Backend)
        .find(|op| op.site_id == home && op.backend_id == Some(on_backend))?;
    if !chosen(&op.id, name, op.percent) {
        return None;
    }
    let groups: Vec<&String> = op.destination_groups.iter().filter(|g| **g != user.group_name).collect();
    let to_group = groups.get(destination_index(&op.id, name, groups.len()))?;
    let to = UserMove {
        site_id: home,
        group: (*to_group).clone(),
        failover_group: user.failover_site_group_name.clone(),
        at: now,
    };
    Some(Relocation::ChangeGroup { to })
}

#[cfg(test)]
mod tests;
