//! The controller's planners: scripted cases, and randomized properties checked over many
//! generated clusters (never the last online backend offline, never an ineligible destination,
//! never inside a cool time, never a sticky or moving group).

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    metrics::{HostScore, HostTraffic},
    planning::{
        evacuation,
        group_balance::{self, GroupBalanceSettings, SizedGroup},
        host_failure::{self, HostFailureSettings, REASON_PREFIX},
        load_balance::{self, LoadBalanceSettings},
        Action, BackendState, DecisionInputs, GroupState, SiteGroups,
    },
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().unwrap_or_default()
}

fn backend(n: u128, status: &str) -> BackendState {
    BackendState {
        id: Uuid::from_u128(n),
        host: format!("be{n}"),
        status: status.into(),
        status_reason: String::new(),
        load_factor: 100,
        reachable: true,
        last_moved_from: None,
        last_moved_to: None,
    }
}

fn group(name: &str, on: u128, users: u64) -> GroupState {
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

fn traffic(ok: f64, failed: f64) -> HostTraffic {
    HostTraffic { logins_ok: ok, logins_failed: failed, deliveries_ok: 0.0, deliveries_failed: 0.0 }
}

const HF: HostFailureSettings = HostFailureSettings {
    min_logins: 10,
    ratio: 0.1,
    cool_time: Duration::from_secs(3600),
    window: Duration::from_secs(300),
};
const LB: LoadBalanceSettings = LoadBalanceSettings {
    min_samples: 100,
    delta_threshold: 0.5,
    group_cool_time: Duration::from_secs(3600),
    host_cool_time: Duration::from_secs(3600),
};

#[test]
fn a_failing_backend_gives_a_group_to_the_healthiest() {
    let backends = [backend(1, "online"), backend(2, "online"), backend(3, "online")];
    let groups = [group("g1", 1, 10), group("g2", 1, 12), group("g3", 2, 10)];
    let t = BTreeMap::from([
        ("be1".to_string(), traffic(70.0, 30.0)),
        ("be2".into(), traffic(100.0, 5.0)),
        ("be3".into(), traffic(100.0, 0.0)),
    ]);
    let decisions = host_failure::plan(&backends, &SiteGroups::new(&groups), &t, now(), &HF);
    let moves: Vec<&Action> = decisions.iter().filter_map(|d| d.action.as_ref()).collect();
    assert_eq!(moves.len(), 1);
    assert!(
        matches!(moves[0], Action::MoveGroup { from, to, .. } if *from == Uuid::from_u128(1) && *to == Uuid::from_u128(3))
    );
    let d = decisions.iter().find(|d| d.action.is_some()).unwrap();
    let DecisionInputs::HostFailure(inputs) = &d.inputs else { panic!("{d:?}") };
    assert_eq!((inputs.failure_ratio, inputs.logins_5m), (0.3, 100.0));
}

#[test]
fn too_few_logins_means_no_decision() {
    let backends = [backend(1, "online"), backend(2, "online")];
    let t = BTreeMap::from([("be1".to_string(), traffic(1.0, 8.0))]);
    let decisions = host_failure::plan(&backends, &SiteGroups::new(&[group("g", 1, 1)]), &t, now(), &HF);
    assert!(decisions.iter().all(|d| d.action.is_none()), "{decisions:?}");
    assert!(decisions[0].summary.ends_with("none judged"), "{decisions:?}");
}

#[test]
fn failing_and_unreachable_sets_offline_but_never_the_last_online() {
    let t = BTreeMap::from([("be1".to_string(), traffic(2.0, 98.0)), ("be2".into(), traffic(1.0, 99.0))]);
    let down = |n| BackendState { reachable: false, ..backend(n, "online") };
    let decisions = host_failure::plan(&[down(1), down(2)], &SiteGroups::new(&[]), &t, now(), &HF);
    let offline: Vec<_> = decisions.iter().filter(|d| matches!(d.action, Some(Action::SetOffline { .. }))).collect();
    assert_eq!(offline.len(), 1, "one of two goes offline, the other stays");
    assert!(decisions.iter().any(|d| d.action.is_none() && d.summary.contains("last online backend")));
}

#[test]
fn only_backends_the_controller_took_offline_come_back() {
    let mut ours = backend(1, "offline");
    ours.status_reason = format!("{REASON_PREFIX} failure ratio 0.95");
    let proxies = BackendState { status_reason: "proxy check failed".into(), ..backend(2, "offline") };
    let t = BTreeMap::from([("be1".to_string(), traffic(50.0, 0.0)), ("be2".into(), traffic(50.0, 0.0))]);
    let decisions = host_failure::plan(&[ours, proxies, backend(3, "online")], &SiteGroups::new(&[]), &t, now(), &HF);
    let online: Vec<_> = decisions
        .iter()
        .filter_map(|d| match d.action {
            Some(Action::SetOnline { backend }) => Some(backend),
            _ => None,
        })
        .collect();
    assert_eq!(online, [Uuid::from_u128(1)]);
}

fn scores(host: &str, z: f64, samples: u64) -> Vec<HostScore> {
    ["memused", "cpu", "metacache"]
        .iter()
        .map(|r| HostScore { host: host.into(), score: r.to_string(), average: z, samples_24h: samples })
        .collect()
}

#[test]
fn load_balancing_moves_one_group_from_hottest_to_coolest() {
    let backends = [backend(1, "online"), backend(2, "online"), backend(3, "online")];
    let groups = [group("g1", 1, 10), group("g2", 1, 11), group("g3", 2, 10)];
    let s: Vec<HostScore> = [scores("be1", 0.9, 500), scores("be2", -0.1, 500), scores("be3", -0.8, 500)].concat();
    let d = load_balance::plan(&backends, &SiteGroups::new(&groups), &s, None, now(), &LB);
    assert!(
        matches!(d.action, Some(Action::MoveGroup { from, to, .. }) if from == Uuid::from_u128(1) && to == Uuid::from_u128(3)),
        "{d:?}"
    );
    let DecisionInputs::LoadBalance(inputs) = &d.inputs else { panic!("{d:?}") };
    assert!(inputs.delta.is_some_and(|delta| delta > 0.5));
}

#[test]
fn load_balancing_waits_for_samples_cool_time_and_quiet() {
    let backends = [backend(1, "online"), backend(2, "online")];
    let groups = [group("g1", 1, 10)];
    let hot: Vec<HostScore> = [scores("be1", 1.0, 500), scores("be2", -1.0, 50)].concat();
    assert!(
        load_balance::plan(&backends, &SiteGroups::new(&groups), &hot, None, now(), &LB).action.is_none(),
        "be2 has too few samples"
    );
    let ready: Vec<HostScore> = [scores("be1", 1.0, 500), scores("be2", -1.0, 500)].concat();
    let recent = Some(now() - chrono::Duration::minutes(10));
    assert!(
        load_balance::plan(&backends, &SiteGroups::new(&groups), &ready, recent, now(), &LB).action.is_none(),
        "host cool time"
    );
    let moving = [GroupState { moving: true, ..group("g1", 1, 10) }];
    assert!(
        load_balance::plan(&backends, &SiteGroups::new(&moving), &ready, None, now(), &LB).action.is_none(),
        "a move is active"
    );
    let sticky = [GroupState { sticky_backend: true, ..group("g1", 1, 10) }];
    assert!(
        load_balance::plan(&backends, &SiteGroups::new(&sticky), &ready, None, now(), &LB).action.is_none(),
        "sticky backend"
    );
    assert!(load_balance::plan(&backends, &SiteGroups::new(&groups), &ready, None, now(), &LB).action.is_some());
}

#[test]
fn randomized_clusters_keep_every_safety_rule() {
    let mut rng = StdRng::seed_from_u64(20261128);
    for case in 0..2000 {
        let n = rng.gen_range(1..7u128);
        let backends: Vec<BackendState> = (1..=n)
            .map(|i| {
                let mut b = backend(i, ["online", "online", "online", "offline", "standby"][rng.gen_range(0..5)]);
                b.load_factor = [0, 50, 100][rng.gen_range(0..3)];
                b.reachable = rng.gen_bool(0.85);
                if rng.gen_bool(0.3) {
                    b.last_moved_from = Some(now() - chrono::Duration::minutes(rng.gen_range(0..120)));
                }
                if rng.gen_bool(0.3) {
                    b.last_moved_to = Some(now() - chrono::Duration::minutes(rng.gen_range(0..120)));
                }
                if b.status.as_str() == "offline" && rng.gen_bool(0.5) {
                    b.status_reason = format!("{REASON_PREFIX} test");
                }
                b
            })
            .collect();
        let groups: Vec<GroupState> = (0..rng.gen_range(0..20))
            .map(|g| GroupState {
                name: format!("g{g}"),
                backend_id: Some(Uuid::from_u128(rng.gen_range(1..=n))),
                alt_backend_id: None,
                moving: rng.gen_bool(0.1),
                sticky_backend: rng.gen_bool(0.2),
                last_moved: rng.gen_bool(0.3).then(|| now() - chrono::Duration::minutes(rng.gen_range(0..120))),
                users: rng.gen_range(0..50),
            })
            .collect();
        let traffic: BTreeMap<String, HostTraffic> = backends
            .iter()
            .map(|b| (b.host.clone(), traffic(rng.gen_range(0.0..100.0), rng.gen_range(0.0..100.0))))
            .collect();
        let by_id =
            |id: Uuid| backends.iter().find(|b| b.id == id).unwrap_or_else(|| panic!("case {case}: unknown backend"));
        let group_named =
            |name: &str| groups.iter().find(|g| g.name == name).unwrap_or_else(|| panic!("case {case}: unknown group"));

        let decisions = host_failure::plan(&backends, &SiteGroups::new(&groups), &traffic, now(), &HF);
        let online_before = backends.iter().filter(|b| b.online()).count();
        let set_offline = decisions.iter().filter(|d| matches!(d.action, Some(Action::SetOffline { .. }))).count();
        let set_online = decisions.iter().filter(|d| matches!(d.action, Some(Action::SetOnline { .. }))).count();
        if online_before > 0 {
            assert!(online_before + set_online - set_offline >= 1, "case {case}: the last online backend went offline");
        }
        for d in &decisions {
            match &d.action {
                Some(Action::MoveGroup { group, from, to }) => {
                    let (src, dst, g) = (by_id(*from), by_id(*to), group_named(group));
                    assert!(
                        dst.online() && dst.reachable && dst.load_factor > 0,
                        "case {case}: ineligible destination"
                    );
                    assert!(
                        dst.last_moved_to.is_none_or(|t| now() - t >= chrono::Duration::hours(1)),
                        "case {case}: destination cool time"
                    );
                    assert!(
                        src.last_moved_from.is_none_or(|t| now() - t >= chrono::Duration::hours(1)),
                        "case {case}: source cool time"
                    );
                    assert!(!g.moving && !g.sticky_backend && g.backend_id == Some(*from), "case {case}: wrong group");
                }
                Some(Action::SetOffline { backend }) => {
                    assert_eq!(by_id(*backend).status.as_str(), "online", "case {case}");
                    assert!(!by_id(*backend).reachable, "case {case}: the failure ratio alone set it offline");
                }
                Some(Action::SetOnline { backend }) => {
                    assert!(by_id(*backend).status_reason.starts_with(REASON_PREFIX), "case {case}")
                }
                Some(
                    Action::MoveUsers { .. }
                    | Action::BalanceGroups { .. }
                    | Action::SetAltBackend { .. }
                    | Action::SetReachability { .. }
                    | Action::SetSiteStatus { .. },
                ) => {
                    panic!("case {case}: host failure only moves groups and sets backends offline or online")
                }
                None => {}
            }
        }

        let scores: Vec<HostScore> =
            backends.iter().flat_map(|b| scores(&b.host, rng.gen_range(-2.0..2.0), rng.gen_range(0..200))).collect();
        let last_move = rng.gen_bool(0.3).then(|| now() - chrono::Duration::minutes(rng.gen_range(0..120)));
        let d = load_balance::plan(&backends, &SiteGroups::new(&groups), &scores, last_move, now(), &LB);
        if let Some(Action::MoveGroup { group, from, to }) = &d.action {
            let (dst, g) = (by_id(*to), group_named(group));
            assert!(dst.online() && dst.reachable && dst.load_factor > 0, "case {case}: LB destination");
            assert!(from != to, "case {case}");
            assert!(
                last_move.is_none_or(|t| now() - t >= chrono::Duration::hours(1)),
                "case {case}: LB host cool time"
            );
            assert!(!groups.iter().any(|g| g.moving), "case {case}: LB during a move");
            assert!(
                !g.moving && !g.sticky_backend && g.last_moved.is_none_or(|t| now() - t >= chrono::Duration::hours(1)),
                "case {case}: LB group"
            );
            let DecisionInputs::LoadBalance(inputs) = &d.inputs else { panic!("{d:?}") };
            assert!(inputs.delta.is_some_and(|delta| delta > LB.delta_threshold), "case {case}: LB threshold");
            for h in [from, to] {
                let mine: Vec<_> = scores.iter().filter(|s| s.host == by_id(*h).host).collect();
                assert!(mine.iter().all(|s| s.samples_24h >= LB.min_samples), "case {case}: LB samples");
            }
        }

        let drained = evacuation::plan(&backends, &SiteGroups::new(&groups), now());
        let mut sources = Vec::new();
        for d in &drained {
            if let Some(Action::MoveGroup { group, from, to }) = &d.action {
                let (src, dst, g) = (by_id(*from), by_id(*to), group_named(group));
                assert!(evacuation::draining(src), "case {case}: drain from a backend that is not draining");
                assert!(dst.online() && dst.reachable && !evacuation::draining(dst), "case {case}: drain destination");
                assert!(!g.moving && !g.sticky_backend && g.backend_id == Some(*from), "case {case}: drain group");
                assert!(
                    !groups.iter().any(|x| x.moving && x.backend_id == Some(*from)),
                    "case {case}: drain beside a running move"
                );
                assert!(!sources.contains(from), "case {case}: two drain moves from one backend");
                sources.push(*from);
            }
        }

        let settings =
            GroupBalanceSettings { slack_percent: rng.gen_range(0..50), max_between_groups: rng.gen_range(1..500) };
        let sized: Vec<SizedGroup> = groups
            .iter()
            .filter_map(|g| {
                Some(SizedGroup {
                    name: g.name.clone(),
                    backend_id: g.backend_id?,
                    users: g.users,
                    moving: g.moving,
                    sticky_users: rng.gen_bool(0.1),
                })
            })
            .collect();
        let (transfers, decisions) = group_balance::plan(&sized, &settings);
        let mut used = Vec::new();
        for t in &transfers {
            let (from, to) =
                (sized.iter().find(|g| g.name == t.from_group), sized.iter().find(|g| g.name == t.to_group));
            let (Some(from), Some(to)) = (from, to) else { panic!("case {case}: unknown group in a transfer") };
            assert!(t.users >= 1 && t.users <= u64::from(settings.max_between_groups), "case {case}: above the cap");
            assert!(
                from.backend_id == to.backend_id && from.backend_id == t.backend_id,
                "case {case}: across backends"
            );
            assert!(
                !from.sticky_users && !to.sticky_users && !from.moving && !to.moving,
                "case {case}: sticky or moving group"
            );
            assert!(from.users > to.users && t.users <= (from.users - to.users) / 2, "case {case}: overshoots");
            assert!(
                !used.contains(&t.from_group) && !used.contains(&t.to_group),
                "case {case}: a group in two transfers"
            );
            used.extend([t.from_group.clone(), t.to_group.clone()]);
        }
        // One decision per backend with transfers, counting all of them.
        let mut per_backend: BTreeMap<Uuid, (u64, u64)> = Default::default();
        for t in &transfers {
            let entry = per_backend.entry(t.backend_id).or_default();
            *entry = (entry.0 + 1, entry.1 + t.users);
        }
        let decided: BTreeMap<Uuid, (u64, u64)> = decisions
            .iter()
            .map(|d| match d.action {
                Some(Action::BalanceGroups { backend, transfers, users }) => (backend, (transfers, users)),
                _ => panic!("case {case}: {d:?}"),
            })
            .collect();
        assert_eq!(decisions.len(), decided.len(), "case {case}: two decisions for one backend");
        assert_eq!(decided, per_backend, "case {case}: the decisions miscount the transfers");
    }
}
