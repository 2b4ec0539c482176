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
#[path = "decision_pass/site.rs"]
mod site;
use site::{build, now, Site, Size, FULL, SMALL, SMALL_TEN_TIMES, TEN_TIMES};

use std::{
    fmt::Write as _,
    hash::{DefaultHasher, Hasher},
    hint::black_box,
    sync::OnceLock,
    time::Duration,
};

use divan::Bencher;
use domain::planning::{
    evacuation,
    group_balance::{self, GroupBalanceSettings, PlannedTransfer},
    group_move_timeouts::{self, SupervisionSettings, Verdict},
    host_failure::{self, HostFailureSettings},
    load_balance::{self, LoadBalanceSettings},
    Decision, SiteGroups,
};

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
