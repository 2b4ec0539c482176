//! The engine against itself: a replay's decisions, taken as the record, are what a second
//! replay with the same settings pairs with in full; other settings differ where they should.
//! (The controller's own record is replayed in the integration tests.)

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;
use crate::{
    geodb::BackendStatus,
    metrics::{HostScore, HostTraffic, SCORED_RESOURCES},
    moves::{Initiator, MoveEnd, MoveState, NewMove},
    planning::{Action, BackendState, GroupState},
};

const SITE: Uuid = Uuid::from_u128(0x5173);
const BACKENDS: usize = 4;

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap_or_default()
}

fn id(backend: usize) -> Uuid {
    Uuid::from_u128(backend as u128 + 1)
}

fn host(backend: usize) -> String {
    format!("be{backend}.dc1.test")
}

fn site() -> (Vec<BackendState>, Vec<GroupState>) {
    let backends = (0..BACKENDS)
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
    let groups = (0..3 * BACKENDS)
        .map(|g| GroupState {
            name: format!("g{g:02}"),
            backend_id: Some(id(g % BACKENDS)),
            alt_backend_id: Some(id((g + 1) % BACKENDS)),
            moving: false,
            sticky_backend: false,
            last_moved: None,
            users: 100,
        })
        .collect();
    (backends, groups)
}

fn settings() -> ReplaySettings {
    let on = [Feature::HostFailure, Feature::Evacuation, Feature::LoadBalance, Feature::GroupMoveTimeouts];
    ReplaySettings {
        modes: on.into_iter().map(|f| (f, FeatureState::On)).collect(),
        host_failure: HostFailureSettings {
            min_logins: 10,
            ratio: 0.1,
            cool_time: Duration::from_secs(600),
            window: Duration::from_secs(300),
        },
        load_balance: LoadBalanceSettings {
            min_samples: 3,
            delta_threshold: 2.0,
            group_cool_time: Duration::from_secs(3600),
            host_cool_time: Duration::from_secs(1200),
        },
        supervision: SupervisionSettings {
            start_timeout: Duration::from_secs(60),
            finish_timeout: Duration::from_secs(600),
        },
        pass_interval: Duration::from_secs(60),
        supervision_interval: Duration::from_secs(10),
        changed: vec![],
    }
}

/// One pass's metrics: healthy traffic and level scores, changed by `shape` per backend.
fn pass(minute: i64, shape: &dyn Fn(usize, &mut HostTraffic, &mut f64)) -> PassMetrics {
    let mut traffic = BTreeMap::new();
    let mut scores = Vec::new();
    for b in 0..BACKENDS {
        let mut t = HostTraffic { logins_ok: 100.0, ..HostTraffic::default() };
        let mut cpu = 0.0;
        shape(b, &mut t, &mut cpu);
        traffic.insert(host(b), t);
        for r in SCORED_RESOURCES {
            let average = if r == "cpu" { cpu } else { 0.0 };
            scores.push(HostScore { host: host(b), score: r.into(), average, samples_24h: 100 });
        }
    }
    PassMetrics { at: at(minute), traffic: Some(traffic), scores: Some(scores) }
}

fn run(history: &History, settings: ReplaySettings) -> ReplayResult {
    let (backends, groups) = site();
    let from = history.first_pass().unwrap_or_default();
    let (start, notes) = reconstruct(&backends, &groups, &history.moves, &history.decisions, from);
    replay(SITE, start, notes, history.clone(), settings)
}

/// A replay's decisions as a record the controller could have written.
fn as_record(result: &ReplayResult) -> Vec<DecisionRecord> {
    result
        .decisions
        .iter()
        .enumerate()
        .map(|(i, d)| DecisionRecord {
            id: Uuid::from_u128(1000 + i as u128),
            site_id: SITE,
            at: d.at,
            mode: FeatureState::On,
            outcome: d.outcome,
            detail: String::new(),
            holder: "a".into(),
            token: 1,
            decision: d.decision.clone(),
        })
        .collect()
}

fn acting(result: &ReplayResult, pick: impl Fn(&Action) -> bool) -> Vec<DateTime<Utc>> {
    result.decisions.iter().filter(|d| d.decision.action.as_ref().is_some_and(&pick)).map(|d| d.at).collect()
}

/// be1 fails for 20 minutes with its doveadm API down.
fn failing_backend() -> History {
    let passes = (0..60)
        .map(|m| {
            pass(m, &|b, t, _| {
                if b == 1 && (10..30).contains(&m) {
                    *t = HostTraffic { logins_ok: 40.0, logins_failed: 60.0, ..HostTraffic::default() };
                }
            })
        })
        .collect();
    let reachability = vec![
        ReachabilityMark { at: at(10), backend: id(1), reachable: false },
        ReachabilityMark { at: at(30), backend: id(1), reachable: true },
    ];
    History { passes, reachability, ..History::default() }
}

#[test]
fn a_failing_backend_goes_offline_and_back_and_a_second_replay_agrees_in_full() {
    let mut history = failing_backend();
    let first = run(&history, settings());
    let offline = acting(&first, |a| matches!(a, Action::SetOffline { backend } if *backend == id(1)));
    let online = acting(&first, |a| matches!(a, Action::SetOnline { backend } if *backend == id(1)));
    assert_eq!(offline, vec![at(10)], "{:#?}", first.decisions);
    assert_eq!(online.len(), 1, "{:#?}", first.decisions);
    assert!(online[0] >= at(30), "back once its logins are healthy: {online:?}");
    assert!(first.summary.replayed.offline_secs >= 20 * 60);

    history.decisions = as_record(&first);
    let second = run(&history, settings());
    assert_eq!(second.agreement.percent(), 100.0, "{:#?}", second.agreement.disagreements);
    assert_eq!(second.agreement.matched, first.decisions.len() as u64);
    assert_eq!(second.decisions.len(), first.decisions.len());
    assert_eq!(second.summary.recorded.set_offline, 1);
    assert_eq!(second.summary.recorded.offline_secs, second.summary.replayed.offline_secs);

    // A raised HOST_FAILURE_RATIO leaves be1 online: the recorded decision stands alone.
    let mut raised = settings();
    raised.host_failure.ratio = 0.7;
    raised.changed = vec!["HOST_FAILURE_RATIO".into()];
    let what_if = run(&history, raised);
    assert!(acting(&what_if, |a| matches!(a, Action::SetOffline { .. })).is_empty());
    let alone: Vec<&Disagreement> =
        what_if.agreement.disagreements.iter().filter(|d| d.side == Side::Recorded).collect();
    assert!(alone.iter().any(|d| d.at == at(10) && d.feature == Feature::HostFailure), "{alone:#?}");
    assert_eq!(what_if.summary.replayed.offline_secs, 0);
}

/// be0 heats slowly for 45 minutes: its CPU Z-score climbs by 0.1 a minute while the others
/// cool to match.
fn heating_backend() -> History {
    let passes = (0..45)
        .map(|m| {
            pass(m, &|b, _, cpu| {
                let heat = 0.1 * m as f64;
                *cpu = if b == 0 { heat } else { -heat / 3.0 };
            })
        })
        .collect();
    History { passes, ..History::default() }
}

#[test]
fn a_heating_backend_sheds_groups_and_a_shorter_cool_time_sheds_one_more() {
    let mut history = heating_backend();
    let first = run(&history, settings());
    let moves = acting(&first, |a| matches!(a, Action::MoveGroup { from, .. } if *from == id(0)));
    assert!(!moves.is_empty(), "{:#?}", first.decisions);
    assert!(moves.windows(2).all(|w| w[1] - w[0] >= chrono::Duration::minutes(20)), "{moves:?}");

    history.decisions = as_record(&first);
    // The record's moves ran at the fallback pace; the second replay runs them so too.
    let second = run(&history, settings());
    assert_eq!(second.agreement.percent(), 100.0, "{:#?}", second.agreement.disagreements);
    assert_eq!(second, run(&history, settings()), "the same inputs give the same result");

    let mut shorter = settings();
    shorter.load_balance.host_cool_time = Duration::from_secs(600);
    shorter.changed = vec!["HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS".into()];
    let what_if = run(&history, shorter);
    let more = acting(&what_if, |a| matches!(a, Action::MoveGroup { .. }));
    assert!(more.len() > moves.len(), "{} moves, then {}", moves.len(), more.len());
    let extra = what_if.agreement.disagreements.iter().filter(|d| d.side == Side::Replayed).count();
    assert!(extra >= 1, "{:#?}", what_if.agreement);
    assert!(what_if.summary.replayed.moves > second.summary.replayed.moves);
}

/// An operator's move of g00 that the source never starts.
fn stalled_move() -> History {
    let passes = (0..20).map(|m| pass(m, &|_, _, _| {})).collect();
    let mut record = MoveRecord::initiated(NewMove {
        site_id: SITE,
        group: "g00",
        token: "op-1",
        source: Some(MoveEnd { id: id(0), host: host(0) }),
        destination: MoveEnd { id: id(2), host: host(2) },
        initiator: Initiator::Operator("ada".into()),
        decision_id: None,
        users_total: 100,
        now: at(3),
    });
    record.state = MoveState::Forced;
    record.finished_at = Some(at(4) + chrono::Duration::seconds(5));
    History { passes, moves: vec![record], ..History::default() }
}

#[test]
fn a_stalled_move_is_forced_at_its_start_timeout_and_later_with_a_longer_one() {
    let mut history = stalled_move();
    let first = run(&history, settings());
    let forced = acting(&first, |a| matches!(a, Action::MoveGroup { group, .. } if group == "g00"));
    assert_eq!(forced.len(), 1, "{:#?}", first.decisions);
    let waited = forced[0] - at(3);
    assert!(waited > chrono::Duration::seconds(60) && waited <= chrono::Duration::seconds(70), "{waited}");
    assert_eq!(first.summary.replayed.forced, 1);
    assert_eq!(first.summary.recorded.forced, 1);

    history.decisions = as_record(&first);
    let second = run(&history, settings());
    assert_eq!(second.agreement.percent(), 100.0, "{:#?}", second.agreement.disagreements);

    let mut longer = settings();
    longer.supervision.start_timeout = Duration::from_secs(300);
    longer.changed = vec!["GROUP_MOVE_START_TIMEOUT_SECS".into()];
    let what_if = run(&history, longer);
    let later = acting(&what_if, |a| matches!(a, Action::MoveGroup { .. }));
    assert_eq!(later.len(), 1);
    assert!(later[0] - at(3) > chrono::Duration::seconds(300), "{later:?}");
    assert_eq!(what_if.agreement.percent(), 0.0, "the forced move falls 4 minutes later");
}

#[test]
fn with_a_complete_history_a_second_replay_never_decides_what_the_first_did_not() {
    // Seeded histories of failures, outages and heat: the property of the engine that the
    // fidelity figure rests on.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..24 {
        let failing = next(BACKENDS as u64) as usize;
        let (fail_from, fail_for) = (next(30) as i64, 5 + next(25) as i64);
        let hot = next(BACKENDS as u64) as usize;
        let heat = 0.02 + next(10) as f64 / 100.0;
        let passes = (0..60)
            .map(|m| {
                pass(m, &|b, t, cpu| {
                    if b == failing && (fail_from..fail_from + fail_for).contains(&m) {
                        *t = HostTraffic { logins_ok: 50.0, logins_failed: 50.0, ..HostTraffic::default() };
                    }
                    *cpu = if b == hot { heat * m as f64 } else { 0.0 };
                })
            })
            .collect();
        let reachability = if next(2) == 0 {
            vec![
                ReachabilityMark { at: at(fail_from), backend: id(failing), reachable: false },
                ReachabilityMark { at: at(fail_from + fail_for), backend: id(failing), reachable: true },
            ]
        } else {
            vec![]
        };
        let mut history = History { passes, reachability, ..History::default() };
        let first = run(&history, settings());
        history.decisions = as_record(&first);
        let second = run(&history, settings());
        assert!(second.agreement.disagreements.is_empty(), "round {round}: {:#?}", second.agreement.disagreements);
    }
}
