//! Group moves as source backends run them: started by `clusterGroupAccess` or a routed
//! login, advanced at the user move rate, finished by writing the group's new backend.

use chrono::{DateTime, Utc};
use domain::geodb::{Backend, UserGroup};
use domain::logtext::Untrusted;
use palomar_core::ports::StoreError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    routing::{self, route, Route, RouteReason},
    Simulator,
};

/// A group move as its source backend tracks it in its local state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveProgress {
    pub site_id: Uuid,
    pub group: String,
    pub source_host: String,
    pub destination_id: Uuid,
    pub users_total: u64,
    pub users_moved: u64,
    pub started_at: DateTime<Utc>,
    #[serde(skip)]
    moved_exact: f64,
}

impl Simulator {
    /// The source backend starts moving a group's users (unless it is stalled).
    pub(super) fn start_move(&self, source: Uuid, group: &UserGroup) -> bool {
        let Some(destination_id) = group.alt_backend_id else { return false };
        let now = self.clock.now();
        let mut world = self.world();
        let total = world.group_sizes.get(&(group.site_id, group.name.clone())).copied().unwrap_or(0);
        let Some(backend) = world.backends.get_mut(&source) else { return false };
        if backend.faults.stall_moves || backend.moves.contains_key(&group.name) {
            return false;
        }
        tracing::debug!(group = %Untrusted(&group.name), source = %Untrusted(&backend.row.host), users = total, "group move started");
        backend.moves.insert(
            group.name.clone(),
            MoveProgress {
                site_id: group.site_id,
                group: group.name.clone(),
                source_host: backend.row.host.clone(),
                destination_id,
                users_total: total,
                users_moved: 0,
                started_at: now,
                moved_exact: 0.0,
            },
        );
        true
    }

    /// Ends a move: the destination becomes the backend, a new alternative is picked, and
    /// `moving` is cleared. Users counted as moved change their group's size nowhere: groups move whole.
    pub(super) async fn finish_move(&self, group: &UserGroup, backends: &[Backend]) -> Result<(), StoreError> {
        let Some(destination) = group.alt_backend_id else { return Ok(()) };
        let candidates: Vec<&Backend> =
            backends.iter().filter(|b| b.id != destination && routing::accepts_sessions(b)).collect();
        let alt = if candidates.is_empty() {
            group.backend_id
        } else {
            Some(candidates[(routing::stable_hash(&group.name) % candidates.len() as u64) as usize].id)
        };
        let finished = UserGroup {
            backend_id: Some(destination),
            alt_backend_id: alt,
            moving: String::new(),
            refresh_after: Some(self.clock.now()),
            ..group.clone()
        };
        self.geodb.put_group(&finished).await?;
        let mut world = self.world();
        for backend in world.backends.values_mut() {
            backend.moves.remove(&group.name);
        }
        tracing::debug!(group = %Untrusted(&group.name), "group move finished");
        Ok(())
    }

    /// Moves users of every active move at the configured rate; finishes the complete ones.
    pub(super) async fn advance_moves(&self, dt_s: f64) -> Result<(), StoreError> {
        let mut done = Vec::new();
        {
            let mut world = self.world();
            for backend in world.backends.values_mut() {
                let factor = if backend.faults.move_rate_factor > 0.0 { backend.faults.move_rate_factor } else { 1.0 };
                let source = backend.row.id;
                for progress in backend.moves.values_mut() {
                    progress.moved_exact += self.settings.user_move_rate * factor * dt_s;
                    progress.users_moved = (progress.moved_exact as u64).min(progress.users_total);
                    if progress.users_moved >= progress.users_total {
                        done.push((progress.site_id, progress.group.clone(), source));
                    }
                }
            }
        }
        for (site_id, name, source) in done {
            let group = self.geodb.get_group(site_id, &name).await?;
            // A move someone else ended meanwhile (a controller's force or cancel cleared
            // `moving`, or put the group elsewhere) is dropped: finishing it would move the
            // group once more, to whatever its alternative is now.
            let still_ours = group.as_ref().is_some_and(|g| !g.moving.is_empty() && g.backend_id == Some(source));
            if !still_ours {
                for backend in self.world().backends.values_mut() {
                    backend.moves.remove(&name);
                }
                tracing::debug!(group = %Untrusted(&name), "group move ended elsewhere; dropped");
                continue;
            }
            if let Some(group) = group {
                let backends: Vec<Backend> = self
                    .world()
                    .backends
                    .values()
                    .filter(|b| b.row.site_id == site_id)
                    .map(|b| b.row.clone())
                    .collect();
                self.finish_move(&group, &backends).await?;
            }
        }
        Ok(())
    }

    /// What `clusterGroupAccess` does on backend `host`: a group lookup that kicks off a pending
    /// move (this backend is its source) or finishes one (the source is down).
    pub async fn group_access(&self, host: &str, group_name: &str) -> Result<Option<String>, StoreError> {
        let Some((site_id, backend_id)) = self.backend_by_host(host).map(|b| (b.row.site_id, b.row.id)) else {
            return Ok(None);
        };
        let Some(group) = self.geodb.get_group(site_id, group_name).await? else { return Ok(None) };
        let backends: Vec<Backend> =
            self.world().backends.values().filter(|b| b.row.site_id == site_id).map(|b| b.row.clone()).collect();
        match route(&group, &backends, false) {
            Route::Backend { id, reason: RouteReason::MovingSource } => {
                if id == backend_id || group.backend_id == Some(backend_id) {
                    self.start_move(id, &group);
                }
                Ok(backends.iter().find(|b| b.id == id).map(|b| b.host.clone()))
            }
            Route::Backend { id, reason: RouteReason::MoveFinishedBySourceDown } => {
                self.finish_move(&group, &backends).await?;
                Ok(backends.iter().find(|b| b.id == id).map(|b| b.host.clone()))
            }
            Route::Backend { id, .. } | Route::Referred { to: id, .. } => {
                Ok(backends.iter().find(|b| b.id == id).map(|b| b.host.clone()))
            }
            Route::Unavailable => Ok(None),
        }
    }

    fn backend_by_host(&self, host: &str) -> Option<BackendInfoInternal> {
        self.world().backends.values().find(|b| b.row.host == host).map(|b| BackendInfoInternal { row: b.row.clone() })
    }

    /// The move a backend is running for a group, if any.
    pub fn move_progress(&self, group: &str) -> Option<MoveProgress> {
        self.world().backends.values().find_map(|b| b.moves.get(group).cloned())
    }

    /// Every active move.
    pub fn moves(&self) -> Vec<MoveProgress> {
        self.world().backends.values().flat_map(|b| b.moves.values().cloned()).collect()
    }
}

struct BackendInfoInternal {
    row: Backend,
}
