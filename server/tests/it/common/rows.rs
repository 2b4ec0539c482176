//! GeoDB rows for tests that set a cluster up by hand.

use domain::geodb::{Backend, BackendStatus, User, UserGroup};
use uuid::Uuid;

/// An online backend with load factor 100 and id `n`.
pub fn backend(site_id: Uuid, n: u128, host: &str) -> Backend {
    Backend {
        site_id,
        id: Uuid::from_u128(n),
        load_factor: 100,
        host: host.into(),
        status: BackendStatus::Online,
        status_reason: String::new(),
        last_moved_from: String::new(),
        last_moved_to: String::new(),
    }
}

/// A group on `backend` with `alt` as its alternative; `moving` is its move token or empty.
pub fn group(site_id: Uuid, name: &str, backend: Uuid, alt: Uuid, moving: &str) -> UserGroup {
    UserGroup {
        site_id,
        name: name.into(),
        backend_id: Some(backend),
        alt_backend_id: Some(alt),
        sticky_users: 0,
        moving: moving.into(),
        refresh_after: None,
        sticky_backend: 0,
    }
}

/// A user of `group` in `site`, with no move pending.
pub fn user(name: &str, site: Option<Uuid>, group: &str) -> User {
    User {
        username: name.into(),
        preferred_site_id: site,
        group_name: group.into(),
        failover_site_group_name: String::new(),
        metacache_last_host: String::new(),
        moving_preferred_site_id: None,
        moving_group_name: String::new(),
        moving_failover_site_group_name: String::new(),
        last_update: None,
    }
}
