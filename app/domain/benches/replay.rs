//! A 24-hour replay of a large site (docs/replay.md): 1,000 backends, 100,000 groups, a pass a
//! minute, fed an hour of passes at a time as the service feeds it. The goal: under 60 s of
//! CPU. One backend fails for 20 minutes with its doveadm API down, another heats up over the
//! day, so that every planner has work.
//!
//! `cargo bench -p domain --bench replay` measures the full size;
//! `PALOMAR_BENCH_SMALL=1 cargo bench -p domain --bench replay` a small site (10 backends,
//! 1,000 groups, 2 hours) that runs in about a second. It prints, for scripts:
//!
//! ```text
//! replay backends=1000 groups=100000 passes=1440 cpu_s=… decisions=… agreement=…
//! ```

mod common;
use common::process_cpu_time;

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    feature::{Feature, FeatureState},
    geodb::BackendStatus,
    metrics::{HostScore, HostTraffic, SCORED_RESOURCES},
    planning::{
        group_move_timeouts::SupervisionSettings, host_failure::HostFailureSettings, load_balance::LoadBalanceSettings,
        BackendState, GroupState,
    },
    replay::{reconstruct, History, PassMetrics, ReachabilityMark, Replay, ReplaySettings, Window},
};
use uuid::Uuid;

fn host(b: usize) -> String {
    format!("be{b}.dc1.bench")
}

fn id(b: usize) -> Uuid {
    Uuid::from_u128(b as u128 + 1)
}

/// The metrics of the pass at minute `m`: steady traffic and level scores, backend 1 failing
/// from hour 3 for 20 minutes, backend 0 heating over the day.
fn pass(at: DateTime<Utc>, m: usize, backends: usize) -> PassMetrics {
    let mut traffic = BTreeMap::new();
    let mut scores = Vec::with_capacity(backends * SCORED_RESOURCES.len());
    for b in 0..backends {
        let failing = b == 1 && (180..200).contains(&m);
        let t = if failing {
            HostTraffic { logins_ok: 40.0, logins_failed: 60.0, ..HostTraffic::default() }
        } else {
            HostTraffic { logins_ok: 300.0, logins_failed: 1.0, deliveries_ok: 100.0, ..HostTraffic::default() }
        };
        traffic.insert(host(b), t);
        let heat = if b == 0 { m as f64 / 240.0 } else { ((b * 7919) % 100) as f64 / 100.0 - 0.5 };
        for r in SCORED_RESOURCES {
            scores.push(HostScore { host: host(b), score: r.into(), average: heat, samples_24h: 5000 });
        }
    }
    PassMetrics { at, traffic: Some(traffic), scores: Some(scores) }
}

fn main() {
    let small = std::env::var_os("PALOMAR_BENCH_SMALL").is_some();
    let (backends, groups, passes) = if small { (10, 1_000, 120) } else { (1_000, 100_000, 1_440) };
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap_or_default();
    let minute = chrono::Duration::minutes(1);
    let site: Vec<BackendState> = (0..backends)
        .map(|b| BackendState {
            id: id(b),
            host: host(b),
            status: BackendStatus::Online,
            status_reason: String::new(),
            load_factor: 100,
            reachable: true,
            last_moved_from: None,
            last_moved_to: None,
        })
        .collect();
    let group_states: Vec<GroupState> = (0..groups)
        .map(|g| GroupState {
            name: format!("g{g:06}"),
            backend_id: Some(id(g % backends)),
            alt_backend_id: Some(id((g + 1) % backends)),
            moving: false,
            sticky_backend: false,
            last_moved: None,
            users: 50 + (g % 17) as u64,
        })
        .collect();
    let on = [Feature::HostFailure, Feature::Evacuation, Feature::LoadBalance, Feature::GroupMoveTimeouts];
    let settings = ReplaySettings {
        modes: on.into_iter().map(|f| (f, FeatureState::On)).collect(),
        host_failure: HostFailureSettings {
            min_logins: 10,
            ratio: 0.1,
            cool_time: Duration::from_secs(3600),
            window: Duration::from_secs(300),
        },
        load_balance: LoadBalanceSettings {
            min_samples: 3000,
            delta_threshold: 0.5,
            group_cool_time: Duration::from_secs(3600),
            host_cool_time: Duration::from_secs(600),
        },
        supervision: SupervisionSettings {
            start_timeout: Duration::from_secs(180),
            finish_timeout: Duration::from_secs(600),
        },
        pass_interval: Duration::from_secs(60),
        supervision_interval: Duration::from_secs(10),
        changed: vec![],
    };
    let (state, notes) = reconstruct(&site, &group_states, &[], &[], start);
    let reachability = vec![
        ReachabilityMark { at: start + minute * 180, backend: id(1), reachable: false },
        ReachabilityMark { at: start + minute * 200, backend: id(1), reachable: true },
    ];
    let history = History { reachability, ..History::default() };
    let window = Window { from: start, to: start + minute * (passes as i32 - 1), passes };
    let mut cpu = Duration::ZERO;
    let began = process_cpu_time();
    let mut replay = Replay::new(Uuid::nil(), state, notes, history, settings, window);
    cpu += process_cpu_time().saturating_sub(began);
    for hour in (0..passes).step_by(60) {
        let slice: Vec<PassMetrics> =
            (hour..(hour + 60).min(passes)).map(|m| pass(start + minute * m as i32, m, backends)).collect();
        let began = process_cpu_time();
        replay.feed(slice);
        replay.run(usize::MAX);
        cpu += process_cpu_time().saturating_sub(began);
    }
    let began = process_cpu_time();
    let result = replay.finish();
    cpu += process_cpu_time().saturating_sub(began);
    println!(
        "replay backends={backends} groups={groups} passes={passes} cpu_s={:.2} decisions={} agreement={:.1}",
        cpu.as_secs_f64(),
        result.decisions.len(),
        result.agreement.percent()
    );
}
