//! Host failure handling (spec c.3): per backend over the last 5 minutes, skip it below
//! `HOST_FAILURE_MIN_LOGINS`; when the worse of its login and delivery failure ratios is
//! above `HOST_FAILURE_RATIO`, set it offline when practically
//! everything fails or it is unreachable, else move one group away (cool times on both hosts);
//! bring a backend the controller took offline back when it recovers. Never the last online
//! backend; never a standby backend (the operators' maintenance state).

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};

use super::{cooled, pick_group, Action, BackendState, Decision, GroupState};
use crate::domain::feature::Feature;
use crate::domain::{geodb::BackendStatus, metrics::HostTraffic};

/// The settings of this loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostFailureSettings {
    pub min_logins: u32,
    pub ratio: f64,
    pub cool_time: Duration,
    /// At or above this ratio the host is set offline rather than relieved group by group.
    pub offline_ratio: f64,
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
    groups: &[GroupState],
    traffic: &BTreeMap<String, HostTraffic>,
    now: DateTime<Utc>,
    s: &HostFailureSettings,
) -> Vec<Decision> {
    let ratio_of =
        |b: &BackendState| traffic.get(&b.host).and_then(|t| t.worst_ratio(f64::from(s.min_logins))).unwrap_or(0.0);
    let failing = |b: &BackendState| {
        ratio_of(b) > s.ratio && traffic.get(&b.host).is_some_and(|t| t.logins() >= f64::from(s.min_logins))
    };
    let mut online: usize = backends.iter().filter(|b| b.online()).count();
    let mut decisions = Vec::new();
    let mut moved_to: Vec<uuid::Uuid> = Vec::new();
    for b in backends {
        let t = traffic.get(&b.host).copied().unwrap_or_default();
        let ratio = ratio_of(b);
        let mut inputs = BTreeMap::from([
            ("logins_5m".to_string(), t.logins()),
            ("failure_ratio".to_string(), ratio),
            ("threshold".to_string(), s.ratio),
            ("min_logins".to_string(), f64::from(s.min_logins)),
        ]);
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
                let why = if healthy_traffic {
                    format!("failure ratio {ratio:.2} below {:.2}", s.ratio)
                } else {
                    format!(
                        "doveadm API answers and {} s have passed without traffic: trying it again",
                        retry_after.as_secs()
                    )
                };
                decisions.push(Decision {
                    feature: Feature::HostFailure,
                    action: Some(Action::SetOnline { backend: b.id }),
                    summary: format!("{} recovered: {why}", b.host),
                    inputs,
                    rejected: vec![],
                });
                online += 1;
            }
            continue;
        }
        if !b.online() || t.logins() < f64::from(s.min_logins) || !failing(b) {
            continue;
        }
        if ratio >= s.offline_ratio || !b.reachable {
            if online <= 1 {
                decisions.push(Decision {
                    feature: Feature::HostFailure,
                    action: None,
                    summary: format!(
                        "{} is failing ({:.2}) but is the last online backend: left online",
                        b.host, ratio
                    ),
                    inputs,
                    rejected: vec![],
                });
                continue;
            }
            online -= 1;
            decisions.push(Decision {
                feature: Feature::HostFailure,
                action: Some(Action::SetOffline { backend: b.id }),
                summary: format!(
                    "{} set offline: failure ratio {:.2}{}",
                    b.host,
                    ratio,
                    if b.reachable { "" } else { ", unreachable" }
                ),
                inputs,
                rejected: vec![],
            });
            continue;
        }
        if !cooled(b.last_moved_from, now, s.cool_time) {
            decisions.push(Decision {
                feature: Feature::HostFailure,
                action: None,
                summary: format!(
                    "{} is failing ({:.2}) but moved a group away less than the cool time ago",
                    b.host, ratio
                ),
                inputs,
                rejected: vec![],
            });
            continue;
        }
        let mut rejected = Vec::new();
        let mut best: Option<(&BackendState, f64)> = None;
        for d in backends.iter().filter(|d| d.id != b.id) {
            let why = if !d.online() {
                Some("not online")
            } else if !d.reachable {
                Some("doveadm API unreachable")
            } else if d.load_factor <= 0 {
                Some("load factor 0")
            } else if failing(d) {
                Some("failing too")
            } else if !cooled(d.last_moved_to, now, s.cool_time) || moved_to.contains(&d.id) {
                Some("received a group less than the cool time ago")
            } else {
                None
            };
            match why {
                Some(reason) => rejected.push((d.host.clone(), reason.to_string())),
                None => {
                    let r = ratio_of(d);
                    if best.is_none_or(|(_, br)| r < br) {
                        best = Some((d, r));
                    }
                }
            }
        }
        let Some((dest, _)) = best else {
            decisions.push(Decision {
                feature: Feature::HostFailure,
                action: None,
                summary: format!("{} is failing ({:.2}) but no backend can take a group", b.host, ratio),
                inputs,
                rejected,
            });
            continue;
        };
        let Some(group) = pick_group(groups, b.id, now, Duration::ZERO) else {
            decisions.push(Decision {
                feature: Feature::HostFailure,
                action: None,
                summary: format!("{} is failing ({:.2}) but has no movable group", b.host, ratio),
                inputs,
                rejected,
            });
            continue;
        };
        inputs.insert("group_users".into(), group.users as f64);
        moved_to.push(dest.id);
        decisions.push(Decision {
            feature: Feature::HostFailure,
            action: Some(Action::MoveGroup { group: group.name.clone(), from: b.id, to: dest.id }),
            summary: format!(
                "{} is failing ({:.2} > {:.2}): move {} to {}",
                b.host, ratio, s.ratio, group.name, dest.host
            ),
            inputs,
            rejected,
        });
    }
    decisions
}
