//! Site health (feature `site_health`, docs/multi-site.md, "Site health"): the controller of a
//! site judges how its proxies reach every other site and whether its own site can take users.
//!
//! * **Reachability.** For each other site, the sessions this site's proxies sent to that
//!   site's load balancer over the host-failure window, with host failure's formula, minimum
//!   count and threshold: above the threshold the site becomes unreachable (0); below half of
//!   it, reachable again (1); in between nothing changes. Without enough sessions nothing is
//!   written, except that a site marked unreachable gets no sessions at all (the proxies route
//!   around it), so after the cool time it is marked reachable again to be tried, as host
//!   failure tries an offline backend again. Marking a site unreachable happens at once;
//!   marking it reachable again waits for the cool time since the last change.
//! * **Its own status.** Offline when none of its backends can take users (online and
//!   answering its doveadm API); online again, after the cool time, when one can, but only
//!   when the controller set it offline. Standby, evacuate and any other status are the
//!   operators' and never touched. No other site's row is ever written.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{cooled, Action, BackendState, Decision, DecisionInputs, OwnSiteInputs, ReachabilityInputs, Reason};
use crate::{feature::Feature, geodb::Reachability, metrics::HostTraffic, routing::load_balancer_of, Site, SiteStatus};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteHealthSettings {
    pub min_logins: u32,
    pub ratio: f64,
    pub cool_time: Duration,
}

/// What the planner knows of the past: when the controller last changed each row it owns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteHealthMemory {
    /// When this site's reachability of another site was last changed, by site.
    pub reachability_changed: BTreeMap<Uuid, DateTime<Utc>>,
    /// When the controller set its own site offline; `None` when it did not.
    pub offline_since: Option<DateTime<Utc>>,
}

/// What one pass of site health looks at.
#[derive(Debug, Clone, Copy)]
pub struct SiteHealthView<'a> {
    /// The controller's own site.
    pub own: &'a Site,
    /// Every site, its own among them.
    pub sites: &'a [Site],
    /// The `site_reachability` rows (those from its own site count).
    pub reachability: &'a [Reachability],
    /// Its proxies' sessions per `dest_host` over the host-failure window.
    pub traffic: &'a BTreeMap<String, HostTraffic>,
    /// Its own site's backends.
    pub backends: &'a [BackendState],
    pub memory: &'a SiteHealthMemory,
}

/// Plans one pass for the site `view.own`.
pub fn plan(view: &SiteHealthView<'_>, now: DateTime<Utc>, s: &SiteHealthSettings) -> Vec<Decision> {
    let mut decisions: Vec<Decision> =
        view.sites.iter().filter(|d| d.id != view.own.id).filter_map(|d| reachability_of(view, d, now, s)).collect();
    decisions.extend(own_status(view.own, view.backends, view.memory, now, s));
    decisions
}

fn reachability_of(
    view: &SiteHealthView<'_>,
    dest: &Site,
    now: DateTime<Utc>,
    s: &SiteHealthSettings,
) -> Option<Decision> {
    let SiteHealthView { own, reachability: rows, traffic, memory, .. } = *view;
    let lb = load_balancer_of(dest);
    let t = traffic.get(lb).copied().unwrap_or_default();
    let before = rows.iter().find(|r| r.src_site_id == own.id && r.dest_site_id == dest.id).map(|r| r.reachable != 0);
    let enough = t.logins() >= f64::from(s.min_logins);
    let ratio = t.worst_ratio(f64::from(s.min_logins));
    let inputs = ReachabilityInputs {
        site: dest.id,
        load_balancer: lb.to_string(),
        sessions_5m: t.logins(),
        failure_ratio: ratio,
        threshold: s.ratio,
        min_logins: s.min_logins,
        reachable_before: before,
    };
    let cool = cooled(memory.reachability_changed.get(&dest.id).copied(), now, s.cool_time);
    let (reachable, reason, why) = match (enough, ratio) {
        (true, Some(r)) if r > s.ratio => {
            (false, Reason::SiteUnreachable, format!("failure ratio {r:.2} > {:.2}", s.ratio))
        }
        (true, Some(r)) if r < s.ratio / 2.0 => {
            (true, Reason::SiteReachable, format!("failure ratio {r:.2} < {:.2}", s.ratio / 2.0))
        }
        _ if before == Some(false) && t.logins() == 0.0 => (
            true,
            Reason::SiteRetried,
            format!(
                "no sessions since it was marked unreachable, {} s ago or more: trying it again",
                s.cool_time.as_secs()
            ),
        ),
        _ => return None,
    };
    // The row already says so: nothing to write. A missing row is written once there is data.
    if before == Some(reachable) {
        return None;
    }
    let word = if reachable { "reachable" } else { "unreachable" };
    // Failing is acted on at once, as host failure does; coming back waits for the cool time
    // since the last change, so a flapping link is retried at most once per cool time.
    if reachable && !cool {
        let summary =
            format!("{} looks {word}: {why}, but its reachability changed less than the cool time ago", dest.name);
        return Some(decision(Reason::SiteCooling, None, summary, DecisionInputs::SiteReachability(inputs)));
    }
    Some(decision(
        reason,
        Some(Action::SetReachability { site: dest.id, reachable }),
        format!("{} marked {word} from {}: {why}", dest.name, own.name),
        DecisionInputs::SiteReachability(inputs),
    ))
}

fn own_status(
    own: &Site,
    backends: &[BackendState],
    memory: &SiteHealthMemory,
    now: DateTime<Utc>,
    s: &SiteHealthSettings,
) -> Option<Decision> {
    let taking = backends.iter().filter(|b| b.online() && b.reachable).count() as u64;
    let inputs = DecisionInputs::OwnSite(OwnSiteInputs {
        site: own.id,
        backends: backends.len() as u64,
        backends_taking_users: taking,
    });
    match &own.status {
        SiteStatus::Online if taking == 0 => Some(decision(
            Reason::NoBackendTakesUsers,
            Some(Action::SetSiteStatus { site: own.id, online: false }),
            format!("{} set offline: none of its {} backends can take users", own.name, backends.len()),
            inputs,
        )),
        SiteStatus::Offline if taking > 0 => {
            let since = memory.offline_since?;
            if !cooled(Some(since), now, s.cool_time) {
                let summary = format!(
                    "{} has {taking} backends taking users again, but went offline less than the cool time ago",
                    own.name
                );
                return Some(decision(Reason::SiteCooling, None, summary, inputs));
            }
            Some(decision(
                Reason::SiteRecovered,
                Some(Action::SetSiteStatus { site: own.id, online: true }),
                format!("{} back online: {taking} of its {} backends take users", own.name, backends.len()),
                inputs,
            ))
        }
        _ => None,
    }
}

fn decision(reason: Reason, action: Option<Action>, summary: String, inputs: DecisionInputs) -> Decision {
    Decision { feature: Feature::SiteHealth, reason, action, summary, inputs, rejected: vec![] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::fixtures::backend;

    const S: SiteHealthSettings =
        SiteHealthSettings { min_logins: 10, ratio: 0.1, cool_time: Duration::from_secs(600) };

    fn site(n: u128, status: SiteStatus) -> Site {
        Site { id: Uuid::from_u128(n), name: format!("dc{n}"), tag: None, load_balancer: format!("lb.dc{n}"), status }
    }

    fn sessions(ok: f64, failed: f64) -> HostTraffic {
        HostTraffic { logins_ok: ok, logins_failed: failed, ..HostTraffic::default() }
    }

    fn row(reachable: i32) -> Reachability {
        Reachability { src_site_id: Uuid::from_u128(1), dest_site_id: Uuid::from_u128(2), reachable }
    }

    fn run(rows: &[Reachability], lb_traffic: Option<HostTraffic>, memory: &SiteHealthMemory) -> Vec<Decision> {
        let sites = [site(1, SiteStatus::Online), site(2, SiteStatus::Online)];
        let traffic: BTreeMap<String, HostTraffic> =
            lb_traffic.map(|t| ("lb.dc2".to_string(), t)).into_iter().collect();
        let backends = [backend(1)];
        let view = SiteHealthView {
            own: &sites[0],
            sites: &sites,
            reachability: rows,
            traffic: &traffic,
            backends: &backends,
            memory,
        };
        plan(&view, Utc::now(), &S)
    }

    fn actions(decisions: &[Decision]) -> Vec<Option<Action>> {
        decisions.iter().map(|d| d.action.clone()).collect()
    }

    #[test]
    fn failing_sessions_to_a_sites_load_balancer_mark_it_unreachable_and_healthy_ones_reachable_again() {
        let mem = SiteHealthMemory::default();
        let cut = run(&[row(1)], Some(sessions(5.0, 20.0)), &mem);
        assert_eq!(actions(&cut), [Some(Action::SetReachability { site: Uuid::from_u128(2), reachable: false })]);
        assert_eq!(cut[0].reason, Reason::SiteUnreachable);
        let back = run(&[row(0)], Some(sessions(100.0, 1.0)), &mem);
        assert_eq!(actions(&back), [Some(Action::SetReachability { site: Uuid::from_u128(2), reachable: true })]);
        // Between half the threshold and the threshold nothing changes either way.
        assert!(run(&[row(0)], Some(sessions(92.0, 8.0)), &mem).is_empty());
        assert!(run(&[row(1)], Some(sessions(92.0, 8.0)), &mem).is_empty());
    }

    #[test]
    fn without_enough_sessions_nothing_is_written_but_an_unreachable_site_is_tried_after_the_cool_time() {
        let recent =
            SiteHealthMemory { reachability_changed: [(Uuid::from_u128(2), Utc::now())].into(), offline_since: None };
        assert!(run(&[], Some(sessions(3.0, 3.0)), &recent).is_empty(), "too few sessions");
        assert!(run(&[row(1)], None, &recent).is_empty());
        let waiting = run(&[row(0)], None, &recent);
        assert_eq!((waiting[0].reason, &waiting[0].action), (Reason::SiteCooling, &None));
        let retried = run(&[row(0)], None, &SiteHealthMemory::default());
        assert_eq!(retried[0].reason, Reason::SiteRetried);
        assert_eq!(retried[0].action, Some(Action::SetReachability { site: Uuid::from_u128(2), reachable: true }));
    }

    #[test]
    fn a_missing_row_is_written_once_there_is_data() {
        let d = run(&[], Some(sessions(50.0, 0.0)), &SiteHealthMemory::default());
        assert_eq!(actions(&d), [Some(Action::SetReachability { site: Uuid::from_u128(2), reachable: true })]);
    }

    #[test]
    fn its_own_site_goes_offline_when_no_backend_takes_users_and_comes_back_only_if_the_controller_took_it_down() {
        let (mut b1, mut b2) = (backend(1), backend(2));
        b1.status = crate::geodb::BackendStatus::Offline;
        b2.reachable = false;
        let own = |status| site(1, status);
        let none = BTreeMap::new();
        let judge = |own: &Site, backends: &[BackendState], memory: &SiteHealthMemory| {
            let view = SiteHealthView { own, sites: &[], reachability: &[], traffic: &none, backends, memory };
            plan(&view, Utc::now(), &S)
        };
        let none_take = judge(&own(SiteStatus::Online), &[b1.clone(), b2.clone()], &SiteHealthMemory::default());
        assert_eq!(actions(&none_take), [Some(Action::SetSiteStatus { site: Uuid::from_u128(1), online: false })]);
        let healthy = [backend(1), backend(2)];
        let long_ago =
            SiteHealthMemory { offline_since: Some(Utc::now() - chrono::Duration::hours(1)), ..Default::default() };
        let just_now = SiteHealthMemory { offline_since: Some(Utc::now()), ..Default::default() };
        let offline = own(SiteStatus::Offline);
        let back = judge(&offline, &healthy, &long_ago);
        assert_eq!(actions(&back), [Some(Action::SetSiteStatus { site: Uuid::from_u128(1), online: true })]);
        let cooling = judge(&offline, &healthy, &just_now);
        assert_eq!((cooling[0].reason, &cooling[0].action), (Reason::SiteCooling, &None));
        // An operator's offline, standby or evacuate is theirs.
        assert!(judge(&offline, &healthy, &SiteHealthMemory::default()).is_empty());
        for status in [SiteStatus::Standby, SiteStatus::Evacuate] {
            assert!(judge(&own(status), &[b1.clone()], &long_ago).is_empty());
        }
    }
}
