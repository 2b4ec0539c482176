//! The generated site the decision-pass benchmark plans on: a fixed seed, so the same site on
//! every run, with every planner given work.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    feature::Feature,
    geodb::BackendStatus,
    metrics::{HostScore, HostTraffic, SCORED_RESOURCES},
    moves::{Initiator, MoveRecord, MoveState},
    planning::{
        group_balance::SizedGroup,
        group_move_timeouts::{Observation, RowView},
        host_failure, BackendState, GroupState,
    },
};
use uuid::Uuid;

/// How big a site to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub(crate) backends: usize,
    pub(crate) groups: usize,
    /// Active moves the supervisor judges.
    moves: usize,
}

pub(crate) const FULL: Size = Size { backends: 1_000, groups: 100_000, moves: 200 };
/// Ten times the full size, as a site of 10,000,000 users would be: reported, not in divan's table.
pub(crate) const TEN_TIMES: Size = Size { backends: 10_000, groups: 1_000_000, moves: 2_000 };
pub(crate) const SMALL: Size = Size { backends: 10, groups: 1_000, moves: 6 };
pub(crate) const SMALL_TEN_TIMES: Size = Size { backends: 100, groups: 10_000, moves: 60 };

pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().unwrap_or_default()
}

/// A small deterministic generator (splitmix64): the same site on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What a backend is doing, so that every planner has work: one of each in every 50.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Healthy,
    /// Set offline by the controller long ago, reachable again: host failure brings it back.
    OfflineByController,
    /// Load factor 0: drain empties it.
    Draining,
    /// The doveadm API does not answer.
    Unreachable,
    /// A third of its logins fail: host failure moves a group away.
    Failing,
    /// Practically everything fails: host failure sets it offline.
    Dead,
    /// New, not taking sessions yet.
    Standby,
    /// Load factor 50.
    HalfLoad,
}

fn role(i: usize) -> Role {
    match i % 50 {
        0 => Role::OfflineByController,
        1 => Role::Draining,
        2 => Role::Unreachable,
        3 => Role::Failing,
        4 => Role::Dead,
        5 => Role::Standby,
        6 => Role::HalfLoad,
        _ => Role::Healthy,
    }
}

/// Everything one pass reads, built before anything is timed.
pub(crate) struct Site {
    pub(crate) size: Size,
    pub(crate) backends: Vec<BackendState>,
    pub(crate) groups: Vec<GroupState>,
    pub(crate) traffic: BTreeMap<String, HostTraffic>,
    pub(crate) scores: Vec<HostScore>,
    pub(crate) moves: Vec<(MoveRecord, Observation)>,
    pub(crate) sized: Vec<SizedGroup>,
}

fn backend(i: usize, rng: &mut Rng) -> BackendState {
    let now = now();
    let role = role(i);
    let recently = |rng: &mut Rng, percent| rng.chance(percent).then(|| now - chrono::Duration::minutes(10));
    BackendState {
        id: Uuid::from_u128(0xbe00_0000 + i as u128),
        host: format!("be{i:04}.bench.example"),
        status: match role {
            Role::OfflineByController => BackendStatus::Offline,
            Role::Standby => BackendStatus::Standby,
            _ => BackendStatus::Online,
        },
        status_reason: if role == Role::OfflineByController {
            host_failure::offline_reason(now - chrono::Duration::hours(2), "failure ratio 0.97")
        } else {
            String::new()
        },
        load_factor: match role {
            Role::Draining => 0,
            Role::HalfLoad => 50,
            _ => 100,
        },
        reachable: role != Role::Unreachable,
        // Half the failing backends gave a group away within the cool time.
        last_moved_from: if role == Role::Failing { ((i / 50) % 2 == 1).then_some(now) } else { recently(rng, 5) },
        last_moved_to: recently(rng, 10),
    }
}

/// The proxies' view of a backend over the window; none for backends without sessions.
fn traffic(role: Role, rng: &mut Rng) -> Option<HostTraffic> {
    let failing = match role {
        Role::OfflineByController | Role::Standby => return None,
        Role::Failing => 0.3,
        Role::Dead => 0.97,
        _ => rng.unit() * 0.02,
    };
    let logins = 200.0 + rng.below(2000) as f64;
    let deliveries = 100.0 + rng.below(1000) as f64;
    Some(HostTraffic {
        logins_ok: (logins * (1.0 - failing)).round(),
        logins_failed: (logins * failing).round(),
        deliveries_ok: deliveries,
        deliveries_failed: 0.0,
    })
}

/// One active move and what the supervisor sees of it, in six kinds: steady, too slow, not
/// started in time, finished, gone, just started.
fn active_move(k: usize, group: &GroupState, backends: &[BackendState]) -> (MoveRecord, Observation) {
    let now = now();
    let ago = |secs| now - chrono::Duration::seconds(secs);
    let source = group.backend_id.unwrap_or_default();
    let destination = &backends[(k * 7 + 1) % backends.len()];
    let source_host = backends.iter().find(|b| b.id == source).map(|b| b.host.clone()).unwrap_or_default();
    let token = format!("move-{k}");
    let moving = |token: &str| Some(RowView { backend_id: Some(source), moving: token.to_string() });
    let kind = k % 6;
    let started = matches!(kind, 0 | 1);
    let record = MoveRecord {
        id: Uuid::from_u128(0x5000_0000 + k as u128),
        site_id: Uuid::from_u128(1),
        group: group.name.clone(),
        source: Some(source),
        source_host,
        destination: destination.id,
        destination_host: destination.host.clone(),
        moving_token: token.clone(),
        initiated_by: Initiator::Controller(Feature::LoadBalance),
        decision_id: None,
        state: if started { MoveState::Started } else { MoveState::Initiated },
        created_at: ago(if kind == 2 { 300 } else { 120 }),
        started_at: started.then(|| ago(100)),
        finished_at: None,
        users_total: 100,
        users_moved: 0,
        rate: 0.0,
        eta: None,
        observed_at: Some(ago(10)),
        note: String::new(),
    };
    let seen = match kind {
        0 => Observation { row: moving(&token), progress: Some((50, 100)), source_clear: false },
        1 => Observation { row: moving(&token), progress: Some((10, 100)), source_clear: false },
        2 => Observation { row: moving(&token), progress: Some((0, 0)), source_clear: false },
        3 => Observation {
            row: Some(RowView { backend_id: Some(destination.id), moving: String::new() }),
            progress: None,
            source_clear: false,
        },
        4 => Observation::default(),
        _ => Observation { row: moving(&token), progress: Some((5, 100)), source_clear: false },
    };
    (record, seen)
}

pub(crate) fn build(size: Size) -> Site {
    let mut rng = Rng(0x5eed_0001);
    let now = now();
    let backends: Vec<BackendState> = (0..size.backends).map(|i| backend(i, &mut rng)).collect();
    let traffic: BTreeMap<String, HostTraffic> =
        backends.iter().enumerate().filter_map(|(i, b)| Some((b.host.clone(), traffic(role(i), &mut rng)?))).collect();
    // As the metrics pipeline returns them: one query per resource, every host in each.
    let scores = SCORED_RESOURCES
        .iter()
        .flat_map(|resource| backends.iter().enumerate().map(move |(i, b)| (resource, i, b)))
        .map(|(resource, i, b)| HostScore {
            host: b.host.clone(),
            score: (*resource).to_string(),
            average: rng.unit() * 2.0 - 1.0,
            // A few backends have too short a history to be scored.
            samples_24h: if i % 97 == 13 { 100 } else { 5000 },
        })
        .collect();
    let groups: Vec<GroupState> = (0..size.groups)
        .map(|n| GroupState {
            name: format!("group{n:06}"),
            backend_id: Some(backends[rng.below(size.backends as u64) as usize].id),
            alt_backend_id: None,
            moving: false,
            sticky_backend: rng.chance(1),
            last_moved: rng.chance(3).then(|| now - chrono::Duration::minutes(rng.below(120) as i64)),
            users: 60 + rng.below(81),
        })
        .collect();
    let sized = groups
        .iter()
        .filter_map(|g| {
            Some(SizedGroup {
                name: g.name.clone(),
                backend_id: g.backend_id?,
                users: g.users,
                moving: false,
                sticky_users: rng.chance(1),
            })
        })
        .collect();
    let step = (size.groups / size.moves.max(1)).max(1);
    let moves = (0..size.moves).map(|k| active_move(k, &groups[(k * step) % groups.len()], &backends)).collect();
    Site { size, backends, groups, traffic, scores, moves, sized }
}
