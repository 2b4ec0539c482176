//! One full controller decision pass at scale: host failure, drain, load balancing, move
//! supervision and the group-balance plan — the pure planners the controller's loops call —
//! on a generated site (fixed seed, no I/O). The goals: at most 25 ms CPU for 1,000 backends and
//! 100,000 groups, under 250 ms for 10,000 backends and 1,000,000 groups (reported after divan's
//! table, which shows the first size).
//!
//! `cargo bench -p domain --bench decision_pass` measures the full size;
//! `PALOMAR_BENCH_SMALL=1 cargo bench -p domain --bench decision_pass` small sites (10 backends and
//! 1,000 groups, then 100 and 10,000) that run in about a second. Besides divan's table (wall time) it prints, for
//! scripts, the process CPU time over repeated passes:
//!
//! ```text
//! decision_pass backends=1000 groups=100000 passes=20 cpu_ms_median=… cpu_ms_max=…
//! decision_pass_planner planner=host_failure backends=1000 groups=100000 passes=20 cpu_ms_median=… cpu_ms_max=…
//! ```
//!
//! The pass's snapshot has no group with `moving` set: with one, load balancing returns at
//! once, so this is its expensive case. The supervised moves are judged from their own
//! observations (the supervision loop reads each moving group's row itself).

mod common;
use common::process_cpu_time;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    hash::{DefaultHasher, Hasher},
    hint::black_box,
    sync::OnceLock,
    time::Duration,
};

use chrono::{DateTime, TimeZone, Utc};
use divan::Bencher;
use domain::{
    feature::Feature,
    geodb::BackendStatus,
    metrics::{HostScore, HostTraffic, SCORED_RESOURCES},
    moves::{Initiator, MoveRecord, MoveState},
    planning::{
        evacuation,
        group_balance::{self, GroupBalanceSettings, PlannedTransfer, SizedGroup},
        group_move_timeouts::{self, Observation, RowView, SupervisionSettings, Verdict},
        host_failure::{self, HostFailureSettings},
        load_balance::{self, LoadBalanceSettings},
        BackendState, Decision, GroupState, SiteGroups,
    },
};
use uuid::Uuid;

/// The controller's default settings (server/src/config/controller.rs).
const HOST_FAILURE: HostFailureSettings = HostFailureSettings {
    min_logins: 10,
    ratio: 0.1,
    cool_time: Duration::from_secs(3600),
    window: Duration::from_secs(300),
};
const LOAD_BALANCE: LoadBalanceSettings = LoadBalanceSettings {
    min_samples: 3000,
    delta_threshold: 0.5,
    group_cool_time: Duration::from_secs(3600),
    host_cool_time: Duration::from_secs(3600),
};
const SUPERVISION: SupervisionSettings =
    SupervisionSettings { start_timeout: Duration::from_secs(180), finish_timeout: Duration::from_secs(600) };
const GROUP_BALANCE: GroupBalanceSettings = GroupBalanceSettings { slack_percent: 10, max_between_groups: 100 };

/// Passes measured for the CPU-time lines.
const PASSES: usize = 20;

/// How big a site to generate.
#[derive(Debug, Clone, Copy)]
struct Size {
    backends: usize,
    groups: usize,
    /// Active moves the supervisor judges.
    moves: usize,
}

const FULL: Size = Size { backends: 1_000, groups: 100_000, moves: 200 };
/// Ten times the full size, as a site of 10,000,000 users would be: reported, not in divan's table.
const TEN_TIMES: Size = Size { backends: 10_000, groups: 1_000_000, moves: 2_000 };
const SMALL: Size = Size { backends: 10, groups: 1_000, moves: 6 };
const SMALL_TEN_TIMES: Size = Size { backends: 100, groups: 10_000, moves: 60 };

fn small() -> bool {
    matches!(std::env::var("PALOMAR_BENCH_SMALL"), Ok(v) if !v.is_empty() && v != "0")
}

fn size() -> Size {
    if small() {
        SMALL
    } else {
        FULL
    }
}

fn now() -> DateTime<Utc> {
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
struct Site {
    size: Size,
    backends: Vec<BackendState>,
    groups: Vec<GroupState>,
    traffic: BTreeMap<String, HostTraffic>,
    scores: Vec<HostScore>,
    moves: Vec<(MoveRecord, Observation)>,
    sized: Vec<SizedGroup>,
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

fn build(size: Size) -> Site {
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

fn site() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| build(size()))
}

// Each planner alone is given the site's groups afresh, so that its figure includes indexing
// them; a full pass shares one index between the planners, as the controller's pass does.

fn plan_host_failure(site: &Site, groups: &SiteGroups) -> Vec<Decision> {
    host_failure::plan(&site.backends, groups, &site.traffic, now(), &HOST_FAILURE)
}

fn plan_drain(site: &Site, groups: &SiteGroups) -> Vec<Decision> {
    evacuation::plan(&site.backends, groups, now())
}

fn plan_load_balance(site: &Site, groups: &SiteGroups) -> Decision {
    load_balance::plan(&site.backends, groups, &site.scores, None, now(), &LOAD_BALANCE)
}

fn supervise_moves(site: &Site) -> Vec<Verdict> {
    site.moves.iter().map(|(m, seen)| group_move_timeouts::supervise(m, seen, now(), &SUPERVISION)).collect()
}

/// The daily plan as the controller makes it: the transfers, then each backend's decision,
/// built and let go as it is recorded.
fn plan_group_balance(site: &Site) -> Vec<PlannedTransfer<'_>> {
    let planned = group_balance::plan_transfers(&site.sized, &GROUP_BALANCE);
    for decision in group_balance::decisions(&planned, &GROUP_BALANCE) {
        drop(black_box(decision));
    }
    planned
}

/// Everything one pass decides.
#[derive(Debug)]
struct PassOutput<'a> {
    host_failure: Vec<Decision>,
    drain: Vec<Decision>,
    load_balance: Decision,
    supervision: Vec<Verdict>,
    group_balance: Vec<PlannedTransfer<'a>>,
}

/// One full pass, in the controller's order.
fn full_pass(site: &Site) -> PassOutput<'_> {
    let groups = SiteGroups::new(&site.groups);
    PassOutput {
        host_failure: plan_host_failure(site, &groups),
        drain: plan_drain(site, &groups),
        load_balance: plan_load_balance(site, &groups),
        supervision: supervise_moves(site),
        group_balance: plan_group_balance(site),
    }
}

#[divan::bench]
fn pass(bencher: Bencher) {
    let site = site();
    bencher.bench_local(|| full_pass(black_box(site)));
}

#[divan::bench_group]
mod planner {
    use super::*;

    #[divan::bench]
    fn host_failure(bencher: Bencher) {
        let site = site();
        bencher.bench_local(|| plan_host_failure(black_box(site), &SiteGroups::new(&site.groups)));
    }

    #[divan::bench]
    fn drain(bencher: Bencher) {
        let site = site();
        bencher.bench_local(|| plan_drain(black_box(site), &SiteGroups::new(&site.groups)));
    }

    #[divan::bench]
    fn load_balance(bencher: Bencher) {
        let site = site();
        bencher.bench_local(|| plan_load_balance(black_box(site), &SiteGroups::new(&site.groups)));
    }

    #[divan::bench]
    fn supervision(bencher: Bencher) {
        let site = site();
        bencher.bench_local(|| supervise_moves(black_box(site)));
    }

    #[divan::bench]
    fn group_balance(bencher: Bencher) {
        let site = site();
        bencher.bench_local(|| plan_group_balance(black_box(site)));
    }
}

/// Median and maximum CPU milliseconds of `PASSES` runs of `f`, dropping its output included.
fn cpu_ms<O>(f: impl Fn() -> O) -> (f64, f64) {
    drop(black_box(f()));
    let mut ms: Vec<f64> = (0..PASSES)
        .map(|_| {
            let start = process_cpu_time();
            drop(black_box(f()));
            (process_cpu_time().saturating_sub(start)).as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() - 1])
}

/// Feeds formatted text to a hasher, so a big output is hashed without being kept.
struct HashWriter(DefaultHasher);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// A fingerprint of everything a pass decided, decisions and verdicts, not how the plan holds
/// them: it changes when a decision does (on one toolchain), which an optimisation must not do.
fn digest(out: &PassOutput) -> u64 {
    let mut w = HashWriter(DefaultHasher::new());
    // Writing to a hasher cannot fail.
    let _ = write!(w, "{:?}{:?}{:?}{:?}", out.host_failure, out.drain, out.load_balance, out.supervision);
    for transfer in &out.group_balance {
        let _ = write!(w, "{:?}", transfer.transfer());
    }
    for decision in group_balance::decisions(&out.group_balance, &GROUP_BALANCE) {
        let _ = write!(w, "{decision:?}");
    }
    w.0.finish()
}

/// The lines scripts grep, and one line showing that every planner had work.
fn report_cpu(site: &Site) {
    let Size { backends, groups, .. } = site.size;
    let out = full_pass(site);
    let actions = |d: &[Decision]| d.iter().filter(|d| d.action.is_some()).count();
    let forced = out.supervision.iter().filter(|v| matches!(v, Verdict::Force(..))).count();
    println!(
        "decision_pass_work backends={backends} groups={groups} host_failure_decisions={} host_failure_actions={} \
         drain_decisions={} drain_actions={} load_balance_move={} moves_supervised={} moves_forced={forced} \
         group_balance_transfers={} digest={:016x}",
        out.host_failure.len(),
        actions(&out.host_failure),
        out.drain.len(),
        actions(&out.drain),
        out.load_balance.action.is_some(),
        out.supervision.len(),
        out.group_balance.len(),
        digest(&out),
    );
    let planners: [(&str, &dyn Fn()); 5] = [
        ("host_failure", &|| drop(black_box(plan_host_failure(site, &SiteGroups::new(&site.groups))))),
        ("drain", &|| drop(black_box(plan_drain(site, &SiteGroups::new(&site.groups))))),
        ("load_balance", &|| drop(black_box(plan_load_balance(site, &SiteGroups::new(&site.groups))))),
        ("supervision", &|| drop(black_box(supervise_moves(site)))),
        ("group_balance", &|| drop(black_box(plan_group_balance(site)))),
    ];
    for (name, run) in planners {
        let (median, max) = cpu_ms(run);
        println!(
            "decision_pass_planner planner={name} backends={backends} groups={groups} passes={PASSES} \
             cpu_ms_median={median:.2} cpu_ms_max={max:.2}"
        );
    }
    let (median, max) = cpu_ms(|| full_pass(site));
    println!(
        "decision_pass backends={backends} groups={groups} passes={PASSES} cpu_ms_median={median:.2} cpu_ms_max={max:.2}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // As divan decides: `cargo bench` passes `--bench`; `cargo test --benches` runs each once.
    let benching = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    // Each full-size sample takes tens of milliseconds; a few seconds per benchmark is plenty.
    divan::Divan::default().max_time(Duration::from_secs(3)).config_with_args().main();
    // The small size also reports under `cargo test`, so that scripts/bench.sh's small run
    // (inside the tests) reads the same line without an optimised build.
    if benching || std::env::var_os("PALOMAR_BENCH_SMALL").is_some() {
        report_cpu(site());
        report_cpu(&build(if small() { SMALL_TEN_TIMES } else { TEN_TIMES }));
    }
}
