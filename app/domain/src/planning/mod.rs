//! The controller's planners: pure functions of (state, metrics, now, settings) that return
//! decisions. They do no I/O; an executor (`controller::apply`) applies the decisions and records them
//! with their inputs. Behaviour follows docs/controller.md, which says where Palomar's
//! documentation is silent.

mod by_backend;
pub mod evacuation;
#[cfg(test)]
mod fixtures;
pub mod group_balance;
pub mod group_move_timeouts;
pub mod host_failure;
mod inputs;
pub mod load_balance;
mod rejections;
mod repeats;
pub mod site_health;

pub use inputs::{
    AltRepairInputs, BalanceInputs, DecisionInputs, EvacuationInputs, GroupBalancePassInputs, HostFailureInputs,
    HostFailureOverview, InputRow, LoadBalanceInputs, MoveTimeoutInputs, NamedTransfer, OwnSiteInputs,
    ReachabilityInputs, Reason, RepeatKey, RepeatSlot, Subject, TransferInputs,
};
pub use rejections::{Rejections, REJECTIONS_NAMED};
pub use repeats::{RepeatMemory, REPEAT_AFTER};

use std::{
    cell::OnceCell,
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    feature::Feature,
    geodb::{Backend, BackendStatus},
};
use by_backend::ByBackend;

/// A backend as the planners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendState {
    pub id: Uuid,
    pub host: String,
    pub status: BackendStatus,
    pub status_reason: String,
    pub load_factor: i32,
    /// The doveadm API answered lately (docs/controller.md, "Reachability").
    pub reachable: bool,
    pub last_moved_from: Option<DateTime<Utc>>,
    pub last_moved_to: Option<DateTime<Utc>>,
}

impl BackendState {
    /// From a GeoDB row and the reachability probe's verdict.
    pub fn from_row(row: &Backend, reachable: bool) -> Self {
        Self {
            id: row.id,
            host: row.host.clone(),
            status: row.status.clone(),
            status_reason: row.status_reason.clone(),
            load_factor: row.load_factor,
            reachable,
            last_moved_from: parse_moved_at(&row.last_moved_from),
            last_moved_to: parse_moved_at(&row.last_moved_to),
        }
    }

    pub fn online(&self) -> bool {
        self.status == BackendStatus::Online
    }
}

/// A group as the planners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub name: String,
    pub backend_id: Option<Uuid>,
    /// The group's alternative backend (`alt_backend_id`).
    #[serde(default)]
    pub alt_backend_id: Option<Uuid>,
    pub moving: bool,
    pub sticky_backend: bool,
    /// When the controller last moved it, if known.
    pub last_moved: Option<DateTime<Utc>>,
    /// Users in the group, from the census (0 when unknown).
    pub users: u64,
}

impl GroupState {
    /// From a GeoDB row, with its users from the census and when it last moved, if known.
    pub fn from_row(row: &crate::geodb::UserGroup, users: u64, last_moved: Option<DateTime<Utc>>) -> Self {
        Self {
            name: row.name.clone(),
            backend_id: row.backend_id,
            alt_backend_id: row.alt_backend_id,
            moving: row.is_moving(),
            sticky_backend: row.has_sticky_backend(),
            last_moved,
            users,
        }
    }
}

/// What a planner wants done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    SetOffline {
        backend: Uuid,
    },
    SetOnline {
        backend: Uuid,
    },
    MoveGroup {
        group: String,
        from: Uuid,
        to: Uuid,
    },
    /// Write this site's reachability of another site (`site_reachability`).
    SetReachability {
        site: Uuid,
        reachable: bool,
    },
    /// Set the controller's own site online or offline.
    SetSiteStatus {
        site: Uuid,
        online: bool,
    },
    /// Point a group's alternative backend (`alt_backend_id`) at `alt`.
    SetAltBackend {
        group: String,
        alt: Uuid,
    },
    /// Reassign `users` users from one group to another on the same backend: one transfer of
    /// group-size balancing, as the decision log recorded them before a backend's share of the
    /// plan became one decision. Read from older records, never planned.
    MoveUsers {
        backend: Uuid,
        from_group: String,
        to_group: String,
        users: u64,
    },
    /// Even out the group sizes on `backend`: `transfers` transfers between its groups, moving
    /// `users` users in all (group-size balancing, one decision per backend and plan).
    BalanceGroups {
        backend: Uuid,
        transfers: u64,
        users: u64,
    },
}

/// One decision with everything needed to explain it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The feature that decided.
    pub feature: Feature,
    /// Why, as a program compares it (decisions recorded before reasons were read as `unrecorded`).
    #[serde(default = "Reason::unrecorded")]
    pub reason: Reason,
    /// What to do; `None` records a considered non-action worth showing.
    pub action: Option<Action>,
    /// One line for people: what and why.
    pub summary: String,
    /// The numbers the decision rests on (ratios, counts, scores, thresholds).
    #[serde(deserialize_with = "inputs::typed_or_earlier")]
    pub inputs: DecisionInputs,
    /// Candidates that were not chosen, with the reason.
    pub rejected: Vec<(String, String)>,
}

/// Reads `last_moved_from`/`last_moved_to`: RFC 3339, or Unix seconds (the columns are text, and the format is not documented).
pub fn parse_moved_at(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| text.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0)))
}

/// True when `at` is more than `cool` before `now` (or never happened).
pub fn cooled(at: Option<DateTime<Utc>>, now: DateTime<Utc>, cool: Duration) -> bool {
    at.is_none_or(|t| now - t >= chrono::Duration::from_std(cool).unwrap_or(chrono::Duration::MAX))
}

/// Picks the group to move away from a backend, among its groups given in snapshot order: not
/// moving, not sticky to its backend, cooled down; the one closest to the median size, then the
/// least recently moved, then by name.
fn pick_among<'a>(mine: &[&'a GroupState], now: DateTime<Utc>, cool: Duration) -> Option<&'a GroupState> {
    let mut sizes: Vec<u64> = mine.iter().map(|g| g.users).collect();
    sizes.sort_unstable();
    let median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
    mine.iter().copied().filter(|g| !g.moving && !g.sticky_backend && cooled(g.last_moved, now, cool)).min_by(|a, b| {
        a.users
            .abs_diff(median)
            .cmp(&b.users.abs_diff(median))
            .then_with(|| a.last_moved.cmp(&b.last_moved))
            .then_with(|| a.name.cmp(&b.name))
    })
}

/// A map keyed by backend id, for the planners' per-pass indexes. The ids come from the
/// GeoDB, not from clients, so SipHash's defence against chosen keys buys nothing here, while
/// it costs more than the rest of indexing 100,000 groups.
pub(crate) type IdMap<V> = HashMap<Uuid, V, BuildHasherDefault<IdHasher>>;

/// Folds the bytes it is given with a widening multiply, so that every input bit reaches the
/// low bits that pick a bucket (ids that differ only in their last byte included).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            let product = u128::from(self.0 ^ u64::from_le_bytes(word)) * 0x9e37_79b9_7f4a_7c15;
            self.0 = (product as u64) ^ ((product >> 64) as u64);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A site's groups as one pass reads them, with their index by backend built the first time a
/// planner asks for it: most passes need none, and a pass whose planners all need it (host
/// failure, drain, load balancing) builds it once.
pub struct SiteGroups<'a> {
    all: &'a [GroupState],
    by_backend: OnceCell<GroupsByBackend<'a>>,
}

impl<'a> SiteGroups<'a> {
    pub fn new(all: &'a [GroupState]) -> Self {
        Self { all, by_backend: OnceCell::new() }
    }

    /// Every group, in snapshot order.
    pub fn all(&self) -> &'a [GroupState] {
        self.all
    }

    pub fn by_backend(&self) -> &GroupsByBackend<'a> {
        self.by_backend.get_or_init(|| GroupsByBackend::new(self.all))
    }
}

/// A site's groups by backend, each backend's in snapshot order. Planners that look at one
/// backend's groups at a time read them here: scanning all groups for each backend is
/// quadratic on a large site (1,000 backends, 100,000 groups).
pub struct GroupsByBackend<'a> {
    groups: ByBackend<&'a GroupState>,
}

impl<'a> GroupsByBackend<'a> {
    /// Indexes the groups that have a backend.
    pub fn new(groups: &'a [GroupState]) -> Self {
        Self { groups: ByBackend::new(groups.iter().filter_map(|g| Some((g.backend_id?, g)))) }
    }

    /// The backend's groups, in snapshot order.
    pub fn of(&self, backend: Uuid) -> &[&'a GroupState] {
        self.groups.of(backend)
    }

    /// The group to move away from `backend` ([`pick_among`]).
    pub fn pick(&self, backend: Uuid, now: DateTime<Utc>, cool: Duration) -> Option<&'a GroupState> {
        pick_among(self.of(backend), now, cool)
    }
}

#[cfg(test)]
mod tests {
    use super::{fixtures::group, *};

    #[test]
    fn moved_at_reads_rfc3339_and_epoch() {
        assert_eq!(parse_moved_at("2026-11-28T10:00:00Z").map(|t| t.timestamp()), Some(1_795_860_000));
        assert_eq!(parse_moved_at("1795860000").map(|t| t.timestamp()), Some(1_795_860_000));
        assert_eq!(parse_moved_at(""), None);
        assert_eq!(parse_moved_at("yesterday"), None);
    }

    #[test]
    fn the_index_picks_what_a_scan_of_every_group_picks() {
        let now = parse_moved_at("2026-11-28T12:00:00Z").unwrap_or_default();
        let an_hour = Duration::from_secs(3600);
        let mut groups = Vec::new();
        for n in 0..60u64 {
            let mut g = group(&format!("g{:02}", 59 - n), u128::from(n % 3), n % 7);
            g.moving = n % 11 == 0;
            g.sticky_backend = n % 13 == 0;
            g.last_moved = (n % 5 == 0).then(|| now - chrono::Duration::minutes(i64::try_from(n).unwrap_or(0)));
            groups.push(g);
        }
        groups.push(GroupState { backend_id: None, ..group("nowhere", 0, 3) });
        let index = GroupsByBackend::new(&groups);
        for backend in 0..4u128 {
            let id = Uuid::from_u128(backend);
            assert_eq!(index.of(id).len(), groups.iter().filter(|g| g.backend_id == Some(id)).count());
            for cool in [Duration::ZERO, an_hour] {
                let mine: Vec<&GroupState> = groups.iter().filter(|g| g.backend_id == Some(id)).collect();
                let scanned = pick_among(&mine, now, cool).map(|g| &g.name);
                assert_eq!(index.pick(id, now, cool).map(|g| &g.name), scanned, "backend {backend}");
            }
        }
    }

    #[test]
    fn ids_that_differ_in_one_byte_spread_over_buckets() {
        use std::{collections::HashSet, hash::BuildHasher};
        let hasher = BuildHasherDefault::<IdHasher>::default();
        // The low bits pick the bucket, the top 7 the tag within a group of buckets.
        let last_byte: HashSet<u64> = (0..256u128).map(|n| hasher.hash_one(Uuid::from_u128(n)) & 0xff).collect();
        let first_byte: HashSet<u64> =
            (0..256u128).map(|n| hasher.hash_one(Uuid::from_u128(n << 120)) & 0xff).collect();
        let tags: HashSet<u64> = (0..256u128).map(|n| hasher.hash_one(Uuid::from_u128(n)) >> 57).collect();
        assert!(last_byte.len() > 128 && first_byte.len() > 128, "{} {}", last_byte.len(), first_byte.len());
        assert!(tags.len() > 64, "{}", tags.len());
    }
}
