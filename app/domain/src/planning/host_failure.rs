//! Host failure handling (docs/controller.md, "Host failure"): per backend over the last 5 minutes, skip it below
//! `HOST_FAILURE_MIN_LOGINS`; when the worse of its login and delivery failure ratios is
//! above `HOST_FAILURE_RATIO`, set it offline when its doveadm API does not answer either, else
//! move one group away (cool times on both hosts); bring a backend the controller took offline
//! back when it recovers. Never the last online backend; never a standby backend (the
//! operators' maintenance state).
//!
//! The failure ratio alone never sets a backend offline: the proxies' metrics carry no user, so
//! a ratio cannot tell a broken backend from clients that bring wrong passwords, and a bot can
//! drive a ratio as high as it likes. A backend is taken offline only when a second signal, its
//! reachability probe, agrees; one that answers loses at most one group per cool time.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};

use super::{
    cooled, Action, BackendState, Decision, DecisionInputs, HostFailureInputs, HostFailureOverview, Reason, Rejections,
    SiteGroups,
};
use crate::feature::Feature;
use crate::{geodb::BackendStatus, metrics::HostTraffic};

/// The settings of this loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostFailureSettings {
    pub min_logins: u32,
    pub ratio: f64,
    pub cool_time: Duration,
    /// The traffic window the ratios are taken over (5 minutes in the seed's wording).
    pub window: Duration,
}

/// How the controller marks the status reasons it writes, so it only undoes its own.
pub const REASON_PREFIX: &str = "controller:";

/// The status reason the controller writes when it sets a backend offline: the prefix, the
/// time (RFC 3339) and the summary.
pub fn offline_reason(now: DateTime<Utc>, summary: &str) -> String {
    format!("{REASON_PREFIX}{} {summary}", now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// When the controller set the backend offline, from its status reason.
pub fn offline_since(reason: &str) -> Option<DateTime<Utc>> {
    let rest = reason.strip_prefix(REASON_PREFIX)?;
    DateTime::parse_from_rfc3339(rest.split_whitespace().next()?).ok().map(|t| t.with_timezone(&Utc))
}

/// Plans one pass over a site's backends.
pub fn plan(
    backends: &[BackendState],
    groups: &SiteGroups,
    traffic: &BTreeMap<String, HostTraffic>,
    now: DateTime<Utc>,
    s: &HostFailureSettings,
) -> Vec<Decision> {
    let ratio_of =
        |b: &BackendState| traffic.get(&b.host).and_then(|t| t.worst_ratio(f64::from(s.min_logins))).unwrap_or(0.0);
    let failing = |b: &BackendState| {
        ratio_of(b) > s.ratio && traffic.get(&b.host).is_some_and(|t| t.logins() >= f64::from(s.min_logins))
    };
    // Each backend's ratio and verdict, read once: every failing backend weighs all others.
    let health: Vec<(f64, bool)> = backends.iter().map(|b| (ratio_of(b), failing(b))).collect();
    let mut online: usize = backends.iter().filter(|b| b.online()).count();
    let mut decisions = Vec::new();
    // Why each backend cannot take a group, as far as it depends on the backend alone: judged
    // once, since each failing backend weighs every other (10,000 by 10,000 on a large site).
    let unfit: Vec<Option<&'static str>> =
        backends.iter().zip(&health).map(|(d, &(_, d_failing))| unfit_destination(d, d_failing, now, s)).collect();
    // The backends sent a group earlier in this pass, by position.
    let mut moved_to = vec![false; backends.len()];
    for (b, &(ratio, b_failing)) in backends.iter().zip(&health) {
        let t = traffic.get(&b.host).copied().unwrap_or_default();
        let mut numbers = HostFailureInputs {
            backend: b.id,
            logins_5m: t.logins(),
            failure_ratio: ratio,
            threshold: s.ratio,
            min_logins: s.min_logins,
            doveadm_reachable: b.reachable,
            group_users: None,
        };
        let decision = |reason: Reason,
                        action: Option<Action>,
                        summary: String,
                        numbers: &HostFailureInputs,
                        rejected: Vec<(String, String)>| Decision {
            feature: Feature::HostFailure,
            reason,
            action,
            summary,
            inputs: DecisionInputs::HostFailure(numbers.clone()),
            rejected,
        };
        if b.status == BackendStatus::Offline {
            let ours = b.status_reason.starts_with(REASON_PREFIX);
            let healthy_traffic = t.logins_ok >= 1.0 && ratio < s.ratio;
            // Offline backends get no logins to judge by: after the cool time, with its doveadm
            // API answering, it is tried again (and set offline again if it still fails).
            // Waiting a whole window too means the failures that sent it offline have aged out.
            let retry_after = s.cool_time.max(s.window);
            let quiet_long_enough = t.logins() == 0.0
                && offline_since(&b.status_reason).is_some_and(|since| cooled(Some(since), now, retry_after));
            if ours && b.reachable && (healthy_traffic || quiet_long_enough) {
                let (reason, why) = if healthy_traffic {
                    (Reason::Recovered, format!("failure ratio {ratio:.2} below {:.2}", s.ratio))
                } else {
                    let why = format!(
                        "doveadm API answers and {} s have passed without traffic: trying it again",
                        retry_after.as_secs()
                    );
                    (Reason::RetriedAfterQuiet, why)
                };
                decisions.push(decision(
                    reason,
                    Some(Action::SetOnline { backend: b.id }),
                    format!("{} recovered: {why}", b.host),
                    &numbers,
                    vec![],
                ));
                online += 1;
            }
            continue;
        }
        if !b.online() || t.logins() < f64::from(s.min_logins) || !b_failing {
            continue;
        }
        if !b.reachable {
            if online <= 1 {
                decisions.push(decision(
                    Reason::LastOnlineBackend,
                    None,
                    format!("{} is failing ({:.2}) but is the last online backend: left online", b.host, ratio),
                    &numbers,
                    vec![],
                ));
                continue;
            }
            online -= 1;
            decisions.push(decision(
                Reason::FailingAndUnreachable,
                Some(Action::SetOffline { backend: b.id }),
                format!("{} set offline: failure ratio {:.2} and its doveadm API does not answer", b.host, ratio),
                &numbers,
                vec![],
            ));
            continue;
        }
        if !cooled(b.last_moved_from, now, s.cool_time) {
            decisions.push(decision(
                Reason::SourceCooling,
                None,
                format!("{} is failing ({:.2}) but moved a group away less than the cool time ago", b.host, ratio),
                &numbers,
                vec![],
            ));
            continue;
        }
        let mut rejected = Rejections::default();
        let mut best: Option<(usize, f64)> = None;
        for (i, d) in backends.iter().enumerate().filter(|(_, d)| d.id != b.id) {
            match unfit[i].or(moved_to[i].then_some(COOLING)) {
                Some(reason) => rejected.push(&d.host, reason),
                None => {
                    let d_ratio = health[i].0;
                    if best.is_none_or(|(_, br)| d_ratio < br) {
                        best = Some((i, d_ratio));
                    }
                }
            }
        }
        let Some((dest_at, _)) = best else {
            decisions.push(decision(
                Reason::NoDestination,
                None,
                format!("{} is failing ({:.2}) but no backend can take a group", b.host, ratio),
                &numbers,
                rejected.into_vec(),
            ));
            continue;
        };
        // Indexed when a first group is to be picked: usually no backend gets that far.
        let Some(group) = groups.by_backend().pick(b.id, now, Duration::ZERO) else {
            decisions.push(decision(
                Reason::NoMovableGroup,
                None,
                format!("{} is failing ({:.2}) but has no movable group", b.host, ratio),
                &numbers,
                rejected.into_vec(),
            ));
            continue;
        };
        numbers.group_users = Some(group.users);
        moved_to[dest_at] = true;
        let dest = &backends[dest_at];
        decisions.push(decision(
            Reason::FailingAndReachable,
            Some(Action::MoveGroup { group: group.name.clone(), from: b.id, to: dest.id }),
            format!(
                "{} is failing ({:.2} > {:.2}) and its doveadm API answers: move {} to {}",
                b.host, ratio, s.ratio, group.name, dest.host
            ),
            &numbers,
            rejected.into_vec(),
        ));
    }
    if decisions.is_empty() {
        decisions.push(all_healthy(backends, &health, traffic, s));
    }
    decisions
}

/// Why a destination was turned down for having received a group recently.
const COOLING: &str = "received a group less than the cool time ago";

/// Why `d` cannot take a failing backend's group, before this pass's own moves are counted.
fn unfit_destination(
    d: &BackendState,
    d_failing: bool,
    now: DateTime<Utc>,
    s: &HostFailureSettings,
) -> Option<&'static str> {
    if !d.online() {
        Some("not online")
    } else if !d.reachable {
        Some("doveadm API unreachable")
    } else if d.load_factor <= 0 {
        Some("load factor 0")
    } else if d_failing {
        Some("failing too")
    } else if !cooled(d.last_moved_to, now, s.cool_time) {
        Some(COOLING)
    } else {
        None
    }
}

/// The pass's verdict when no backend needs anything: how many were judged on enough logins,
/// and the worst ratio among them, so the decision log says why nothing was done.
fn all_healthy(
    backends: &[BackendState],
    health: &[(f64, bool)],
    traffic: &BTreeMap<String, HostTraffic>,
    s: &HostFailureSettings,
) -> Decision {
    let logins_of = |b: &BackendState| traffic.get(&b.host).map_or(0.0, HostTraffic::logins);
    let judged: Vec<(&BackendState, f64)> = backends
        .iter()
        .zip(health)
        .filter(|(b, _)| b.online() && logins_of(b) >= f64::from(s.min_logins))
        .map(|(b, &(ratio, _))| (b, ratio))
        .collect();
    let worst = judged.iter().map(|(_, ratio)| *ratio).fold(0.0, f64::max);
    let online = backends.iter().filter(|b| b.online()).count();
    let (reason, summary) = if judged.is_empty() {
        (Reason::NoneJudged, format!("no backend had {} logins in the window: none judged", s.min_logins))
    } else {
        let summary = format!(
            "no backend is failing: {} of {} online judged, worst failure ratio {:.2} (threshold {:.2})",
            judged.len(),
            online,
            worst,
            s.ratio
        );
        (Reason::NoneFailing, summary)
    };
    Decision {
        feature: Feature::HostFailure,
        reason,
        action: None,
        summary,
        inputs: DecisionInputs::HostFailureOverview(HostFailureOverview {
            backends_judged: judged.len() as u64,
            backends_online: online as u64,
            logins_5m: judged.iter().map(|(b, _)| logins_of(b)).sum(),
            worst_failure_ratio: worst,
            threshold: s.ratio,
            min_logins: s.min_logins,
        }),
        rejected: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::fixtures::{backend, group};

    fn traffic(ok: f64, failed: f64) -> HostTraffic {
        HostTraffic { logins_ok: ok, logins_failed: failed, deliveries_ok: 0.0, deliveries_failed: 0.0 }
    }

    fn settings() -> HostFailureSettings {
        HostFailureSettings {
            min_logins: 10,
            ratio: 0.1,
            cool_time: Duration::from_secs(3600),
            window: Duration::from_secs(300),
        }
    }

    #[test]
    fn a_backend_that_answers_its_probe_is_never_set_offline_by_its_ratio_alone() {
        let backends = [backend(1), backend(2)];
        let groups = [group("g1", 1, 10), group("g2", 2, 10)];
        // Everything fails: what a bot makes of a ratio when the proxies count wrong passwords.
        let traffic =
            BTreeMap::from([("be1".to_string(), traffic(0.0, 30.0)), ("be2".to_string(), traffic(50.0, 0.0))]);
        let decisions = plan(&backends, &SiteGroups::new(&groups), &traffic, Utc::now(), &settings());
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        let d = &decisions[0];
        assert!(matches!(d.action, Some(Action::MoveGroup { .. })), "at most one group per cool time: {d:?}");
        let DecisionInputs::HostFailure(inputs) = &d.inputs else { panic!("{d:?}") };
        assert!(inputs.doveadm_reachable);
        assert_eq!((d.reason, inputs.failure_ratio), (Reason::FailingAndReachable, 1.0));
        assert!(d.summary.contains("its doveadm API answers"), "{}", d.summary);
    }

    #[test]
    fn a_failing_backend_whose_probe_fails_too_is_set_offline_and_says_both() {
        let mut be1 = backend(1);
        be1.reachable = false;
        let backends = [be1, backend(2)];
        let traffic =
            BTreeMap::from([("be1".to_string(), traffic(5.0, 10.0)), ("be2".to_string(), traffic(50.0, 0.0))]);
        let decisions = plan(&backends, &SiteGroups::new(&[group("g1", 1, 10)]), &traffic, Utc::now(), &settings());
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        assert_eq!(decisions[0].action, Some(Action::SetOffline { backend: uuid::Uuid::from_u128(1) }));
        let DecisionInputs::HostFailure(inputs) = &decisions[0].inputs else { panic!("{decisions:?}") };
        assert!(!inputs.doveadm_reachable);
        assert_eq!(decisions[0].summary, "be1 set offline: failure ratio 0.67 and its doveadm API does not answer");
    }

    #[test]
    fn a_pass_with_nothing_to_do_says_how_many_backends_it_judged() {
        let backends = [backend(1), backend(2), backend(3)];
        let traffic = BTreeMap::from([
            ("be1".to_string(), traffic(19.0, 1.0)),
            ("be2".to_string(), traffic(30.0, 0.0)),
            ("be3".to_string(), traffic(2.0, 0.0)),
        ]);
        let decisions = plan(&backends, &SiteGroups::new(&[]), &traffic, Utc::now(), &settings());
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        let d = &decisions[0];
        assert_eq!(d.action, None);
        assert_eq!(d.summary, "no backend is failing: 2 of 3 online judged, worst failure ratio 0.05 (threshold 0.10)");
        let DecisionInputs::HostFailureOverview(inputs) = &d.inputs else { panic!("{d:?}") };
        assert_eq!((d.reason, inputs.backends_judged, inputs.logins_5m), (Reason::NoneFailing, 2, 50.0));
        let quiet = plan(&backends, &SiteGroups::new(&[]), &BTreeMap::new(), Utc::now(), &settings());
        assert_eq!(quiet[0].summary, "no backend had 10 logins in the window: none judged");
        assert_eq!(quiet[0].reason, Reason::NoneJudged);
    }

    #[test]
    fn two_failing_backends_give_their_median_groups_to_two_healthy_ones() {
        let s = settings();
        let backends = [backend(1), backend(2), backend(3), backend(4)];
        let groups = [group("g1", 1, 10), group("g4", 2, 5), group("g2", 1, 12), group("g5", 3, 1), group("g3", 1, 11)];
        let traffic = BTreeMap::from([
            ("be1".to_string(), traffic(70.0, 30.0)),
            ("be2".to_string(), traffic(60.0, 40.0)),
            ("be3".to_string(), traffic(100.0, 0.0)),
            ("be4".to_string(), traffic(95.0, 5.0)),
        ]);
        let decisions = plan(&backends, &SiteGroups::new(&groups), &traffic, Utc::now(), &s);
        let moves: Vec<(&str, u128, u128)> = decisions
            .iter()
            .filter_map(|d| match &d.action {
                Some(Action::MoveGroup { group, from, to }) => Some((group.as_str(), from.as_u128(), to.as_u128())),
                _ => None,
            })
            .collect();
        // be3 fails least, but has just received g3: be2's group goes to be4.
        assert_eq!(moves, [("g3", 1, 3), ("g4", 2, 4)]);
        let rejected = &decisions[1].rejected;
        assert!(rejected.contains(&("be1".to_string(), "failing too".to_string())), "{rejected:?}");
    }
}
