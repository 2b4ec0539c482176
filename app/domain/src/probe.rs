//! The reachability probe of the backends' doveadm API: what one probe found and what the
//! probes make of it over time (docs/controller.md, "Reachability").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One backend's doveadm API as the reachability probe last saw it (docs/controller.md, "Reachability").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachabilityState {
    pub host: String,
    pub reachable: bool,
    pub since: DateTime<Utc>,
    pub last_error: String,
}

/// What one probe of a backend's doveadm API found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Answered,
    /// The host name did not resolve.
    NameNotResolved(String),
    /// Anything else: refused, timed out, an HTTP or doveadm error.
    Failed(String),
}

/// A backend's reachability as the probes saw it over time (docs/controller.md, "Reachability").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeState {
    pub reachable: bool,
    /// When `reachable` last changed (or the first probe).
    pub since: Option<DateTime<Utc>>,
    /// The start of the current run of name-resolution failures.
    pub first_dns_failure: Option<DateTime<Utc>>,
    pub last_error: String,
}

impl ProbeState {
    /// The state after one more probe. A name-resolution failure is tolerated for
    /// `dns_allowed` (the backend keeps its verdict); any other failure marks it unreachable
    /// at once; the first answer clears the mark.
    pub fn after(&self, outcome: ProbeOutcome, now: DateTime<Utc>, dns_allowed: std::time::Duration) -> ProbeState {
        let mut next = self.clone();
        match outcome {
            ProbeOutcome::Answered => {
                next.reachable = true;
                next.first_dns_failure = None;
                next.last_error.clear();
            }
            ProbeOutcome::NameNotResolved(error) => {
                let first = *next.first_dns_failure.get_or_insert(now);
                next.last_error = error;
                if now - first > chrono::Duration::from_std(dns_allowed).unwrap_or(chrono::Duration::MAX) {
                    next.reachable = false;
                }
            }
            ProbeOutcome::Failed(error) => {
                next.reachable = false;
                next.first_dns_failure = None;
                next.last_error = error;
            }
        }
        if next.reachable != self.reachable || self.since.is_none() {
            next.since = Some(now);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn name_resolution_failures_are_tolerated_for_the_allowed_time_only() {
        let t0 = Utc::now();
        let allowed = Duration::from_secs(10);
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let up = ProbeState::default().after(ProbeOutcome::Answered, at(0), allowed);
        assert!(up.reachable);
        let dns = |s: &ProbeState, t: i64| s.after(ProbeOutcome::NameNotResolved("dns error".into()), at(t), allowed);
        let blip = dns(&up, 1);
        assert!(blip.reachable, "a DNS failure is tolerated at first");
        let still = dns(&dns(&blip, 6), 11);
        assert!(still.reachable, "10 s allowed: still reachable at 10 s of failures");
        let gone = dns(&still, 12);
        assert!(!gone.reachable && gone.since == Some(at(12)), "unreachable after the allowed time");
        let back = gone.after(ProbeOutcome::Answered, at(13), allowed);
        assert!(back.reachable && back.first_dns_failure.is_none(), "the first answer clears the mark");
        let refused = back.after(ProbeOutcome::Failed("connection refused".into()), at(14), allowed);
        assert!(!refused.reachable, "any other failure marks it at once");
        let never_seen = dns(&ProbeState::default(), 0);
        assert!(!never_seen.reachable, "a backend never seen answering is not a destination");
    }
}
