//! How a Palomar proxy picks a site and a backend, as a pure function of the GeoDB rows it
//! read. The simulator's proxies and the route API route with it, and the users page explains
//! a user's route with it.
//! (Dovecot Pro's own code is closed; this follows the Palomar documentation, see
//! docs/simulator.md for each rule and its source.)

mod sites;

pub use sites::{choose_site, load_balancer_of, site_trouble, SiteChoice, SitePick, SiteReason, SiteTrouble};

use super::closed_set::closed_set;
use super::geodb::{Backend, BackendStatus, User, UserGroup};
use uuid::Uuid;

/// Where a login or delivery goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Served by this backend.
    Backend { id: Uuid, reason: RouteReason },
    /// The source backend of a moving group referred an already moved user to the destination:
    /// the proxy counts a redirect (not a failure) for `from`, then connects to `to`.
    Referred { from: Uuid, to: Uuid },
    /// No backend can take it (none online).
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    /// The group's backend, online.
    Primary,
    /// The group's backend is offline or standby: `alt_backend_id` serves.
    Failover,
    /// The group is moving: its users still go to the source backend.
    MovingSource,
    /// The group was moving but its source is offline or standby: the move ends at once and
    /// the destination serves.
    MoveFinishedBySourceDown,
}

closed_set! {
    /// Why the route API sends a user where it does: the `reason` line of its answer.
    pub enum RouteWhy("route reason", "reason") {
        /// The group's backend.
        Primary = "primary",
        /// The group's alternative: its backend is offline or standby.
        Failover = "failover",
        /// The group is moving and this user still goes to the source (Pro).
        MovingSource = "moving_source",
        /// The group is moving and this user goes to the destination (CE: every user at once).
        MovingDestination = "moving_destination",
        /// The group's move ends here: its source is down.
        SourceDown = "source_down",
        /// The group did not exist: created now, as a proxy does at a user's first login.
        NewGroup = "new_group",
        /// Another site serves the user (their own, or the failover of theirs): its load balancer.
        OtherSite = "other_site",
        /// The user's site cannot take them (offline, standby, evacuating or unreachable): this
        /// site, its failover, serves them in their failover group.
        FailoverSite = "failover_site",
    }
}

/// True when proxies may send sessions to this backend.
pub fn accepts_sessions(backend: &Backend) -> bool {
    backend.status == BackendStatus::Online
}

/// A move destination: online, taking load, and not the group's own backend.
pub fn eligible_destination(backend: &Backend, group: &UserGroup) -> bool {
    accepts_sessions(backend) && backend.load_factor > 0 && Some(backend.id) != group.backend_id
}

/// Picks the backend for a user of `group`. `user_already_moved` says whether the source
/// backend has already moved this user during a group move.
pub fn route(group: &UserGroup, backends: &[Backend], user_already_moved: bool) -> Route {
    let find = |id: Option<Uuid>| id.and_then(|id| backends.iter().find(|b| b.id == id));
    let primary = find(group.backend_id);
    let alt = find(group.alt_backend_id);
    let online = |b: Option<&Backend>| b.filter(|b| accepts_sessions(b)).map(|b| b.id);

    if group.is_moving() {
        // A moved user is referred only to a destination that takes sessions; while it does
        // not, the source, which still takes them, serves.
        return match (online(primary), online(alt)) {
            (Some(source), Some(dest)) if user_already_moved => Route::Referred { from: source, to: dest },
            (Some(source), _) => Route::Backend { id: source, reason: RouteReason::MovingSource },
            (None, _) => match online(alt) {
                Some(dest) => Route::Backend { id: dest, reason: RouteReason::MoveFinishedBySourceDown },
                None => Route::Unavailable,
            },
        };
    }
    if let Some(id) = online(primary) {
        return Route::Backend { id, reason: RouteReason::Primary };
    }
    match online(alt) {
        Some(id) => Route::Backend { id, reason: RouteReason::Failover },
        None => Route::Unavailable,
    }
}

/// The site and group a proxy of `proxy_site` looks a user up in: the `users` row's preferred
/// site and group, else the proxy's own site and the user's default group.
pub fn user_placement(
    username: &str,
    user: Option<&User>,
    proxy_site: Uuid,
    default_group_count: u32,
) -> (Uuid, String) {
    let site = user.and_then(|u| u.preferred_site_id).unwrap_or(proxy_site);
    match user.filter(|u| !u.group_name.is_empty()) {
        Some(u) => (site, u.group_name.clone()),
        None => (site, default_group(username, default_group_count)),
    }
}

/// The row a proxy writes for a group that does not exist yet, at a user's first login: a
/// backend and an alternative picked among the online ones by the group's name, so that every
/// proxy picks alike. `None` when no backend of the site is online.
pub fn new_group(site_id: Uuid, name: &str, site_backends: &[Backend]) -> Option<UserGroup> {
    let online: Vec<Uuid> = site_backends.iter().filter(|b| accepts_sessions(b)).map(|b| b.id).collect();
    if online.is_empty() {
        return None;
    }
    let index = usize::try_from(stable_hash(name) % online.len() as u64).unwrap_or(0);
    Some(UserGroup {
        site_id,
        name: name.to_string(),
        backend_id: online.get(index).copied(),
        alt_backend_id: online.get((index + 1) % online.len()).copied(),
        sticky_users: 0,
        moving: String::new(),
        refresh_after: None,
        sticky_backend: 0,
    })
}

/// FNV-1a, 64 bit: a stable hash that every proxy computes alike.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The group of a user without a `users` row: `default-N`, N in 1..=count, from the username,
/// so that every proxy picks the same group before the row exists.
pub fn default_group(username: &str, count: u32) -> String {
    format!("default-{}", stable_hash(username) % u64::from(count.max(1)) + 1)
}

/// Whether the source backend has moved this user yet, when `moved` of `total` users are done.
/// Users move in a fixed order (by hash), so a user once moved stays moved.
pub fn user_moved(username: &str, moved: u64, total: u64) -> bool {
    if total == 0 {
        return true;
    }
    let rank = stable_hash(username) % 10_000;
    rank * total < moved.saturating_mul(10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_id() -> Uuid {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Uuid::from_u128(u128::from(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
    }

    fn backend(status: &str) -> Backend {
        Backend {
            site_id: Uuid::nil(),
            id: fresh_id(),
            load_factor: 100,
            host: "be".into(),
            status: status.into(),
            status_reason: String::new(),
            last_moved_from: String::new(),
            last_moved_to: String::new(),
        }
    }

    fn group(backend: &Backend, alt: &Backend, moving: &str) -> UserGroup {
        UserGroup {
            site_id: Uuid::nil(),
            name: "g".into(),
            backend_id: Some(backend.id),
            alt_backend_id: Some(alt.id),
            sticky_users: 0,
            moving: moving.into(),
            refresh_after: None,
            sticky_backend: 0,
        }
    }

    #[test]
    fn online_primary_serves() {
        let (a, b) = (backend("online"), backend("online"));
        assert_eq!(
            route(&group(&a, &b, ""), &[a.clone(), b], false),
            Route::Backend { id: a.id, reason: RouteReason::Primary }
        );
    }

    #[test]
    fn offline_or_standby_primary_fails_over_to_alt() {
        for status in ["offline", "standby"] {
            let (a, b) = (backend(status), backend("online"));
            assert_eq!(
                route(&group(&a, &b, ""), &[a, b.clone()], false),
                Route::Backend { id: b.id, reason: RouteReason::Failover }
            );
        }
        let (a, b) = (backend("offline"), backend("offline"));
        assert_eq!(route(&group(&a, &b, ""), &[a, b], false), Route::Unavailable);
    }

    #[test]
    fn moving_group_goes_to_source_and_moved_users_are_referred() {
        let (src, dst) = (backend("online"), backend("online"));
        let g = group(&src, &dst, "move-1");
        let all = [src.clone(), dst.clone()];
        assert_eq!(route(&g, &all, false), Route::Backend { id: src.id, reason: RouteReason::MovingSource });
        assert_eq!(route(&g, &all, true), Route::Referred { from: src.id, to: dst.id });
    }

    #[test]
    fn moving_group_with_source_down_goes_to_destination() {
        let (src, dst) = (backend("standby"), backend("online"));
        let g = group(&src, &dst, "move-1");
        assert_eq!(
            route(&g, &[src, dst.clone()], false),
            Route::Backend { id: dst.id, reason: RouteReason::MoveFinishedBySourceDown }
        );
    }

    #[test]
    fn default_groups_are_stable_and_in_range() {
        assert_eq!(default_group("alice@example.net", 100), default_group("alice@example.net", 100));
        for i in 0..1000 {
            let g = default_group(&format!("u{i}"), 7);
            let n: u32 = g.trim_start_matches("default-").parse().unwrap();
            assert!((1..=7).contains(&n), "{g}");
        }
    }

    #[test]
    fn moved_users_stay_moved_and_all_move_at_the_end() {
        let users: Vec<String> = (0..500).map(|i| format!("u{i}")).collect();
        let mut before = 0;
        for moved in [0u64, 100, 250, 400, 500] {
            let now: Vec<bool> = users.iter().map(|u| user_moved(u, moved, 500)).collect();
            let count = now.iter().filter(|m| **m).count();
            assert!(count >= before, "monotonic");
            before = count;
        }
        assert!(users.iter().all(|u| user_moved(u, 500, 500)));
        assert!(users.iter().all(|u| !user_moved(u, 0, 500)));
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_user_goes_only_to_a_backend_that_takes_sessions_and_to_one_whenever_the_group_has_one(
            statuses in prop::collection::vec(prop::sample::select(vec!["online", "offline", "standby"]), 1..5),
            primary in 0usize..6,
            alt in 0usize..6,
            moving in any::<bool>(),
            moved in any::<bool>(),
        ) {
            let backends: Vec<Backend> = statuses.iter().map(|s| backend(s)).collect();
            let id_at = |i: usize| backends.get(i).map(|b| b.id);
            let g = UserGroup {
                backend_id: id_at(primary),
                alt_backend_id: id_at(alt),
                moving: if moving { "move-1".into() } else { String::new() },
                ..group(&backends[0], &backends[0], "")
            };
            let takes = |id: Uuid| backends.iter().any(|b| b.id == id && accepts_sessions(b));
            match route(&g, &backends, moved) {
                Route::Backend { id, .. } | Route::Referred { to: id, .. } => prop_assert!(takes(id)),
                Route::Unavailable => {
                    prop_assert!(!g.backend_id.is_some_and(takes) && !g.alt_backend_id.is_some_and(takes));
                }
            }
        }
    }
}
