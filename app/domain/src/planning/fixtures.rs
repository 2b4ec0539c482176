//! Backends and groups for the planners' unit tests.

use uuid::Uuid;

use super::{BackendState, GroupState};
use crate::geodb::BackendStatus;

/// Backend `n` (host `be<n>`): online, reachable, with this load factor.
pub(crate) fn backend_with(n: u128, load_factor: i32) -> BackendState {
    BackendState {
        id: Uuid::from_u128(n),
        host: format!("be{n}"),
        status: BackendStatus::Online,
        status_reason: String::new(),
        load_factor,
        reachable: true,
        last_moved_from: None,
        last_moved_to: None,
    }
}

/// Backend `n` with load factor 100.
pub(crate) fn backend(n: u128) -> BackendState {
    backend_with(n, 100)
}

/// A group on backend `on`, not moving, not sticky, never moved.
pub(crate) fn group(name: &str, on: u128, users: u64) -> GroupState {
    GroupState {
        name: name.into(),
        backend_id: Some(Uuid::from_u128(on)),
        alt_backend_id: None,
        moving: false,
        sticky_backend: false,
        last_moved: None,
        users,
    }
}
