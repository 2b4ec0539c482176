//! Leadership of the site: the lease loop and the fencing check before every write.

use super::{Controller, Skip};
use crate::ports::Lease;
use domain::logtext::Untrusted;

impl Controller {
    /// The lease this instance holds, if it leads.
    pub fn held_lease(&self) -> Option<Lease> {
        self.rt(|rt| rt.lease.clone())
    }

    pub(super) fn not_leader_detail(&self) -> String {
        self.rt(|rt| match &rt.lease_problem {
            Some(problem) => format!("not leading: {problem}"),
            None => "standby: another instance leads".to_string(),
        })
    }

    pub(super) async fn renew_lease(&self) -> Result<String, Skip> {
        let site = &self.settings.site;
        let ttl = self.settings.intervals.lease_ttl;
        // A renewal that hangs must not leave this instance believing it leads once the lease
        // has expired: past a third of the lifetime, it counts as lost.
        let deadline = ttl / 3;
        let renewal = self.ports.lease.acquire_or_renew(site, &self.settings.instance, ttl);
        let (lease, problem) = match tokio::time::timeout(deadline, renewal).await {
            Ok(Ok(lease)) => (lease, None),
            Ok(Err(err)) => (None, Some(format!("leader lease unavailable ({err})"))),
            Err(_) => (None, Some(format!("leader lease store did not answer within {} ms", deadline.as_millis()))),
        };
        let previous = self.rt(|rt| {
            let previous = rt.lease.clone();
            rt.lease = lease.clone();
            rt.lease_problem = problem.clone();
            previous
        });
        self.telemetry.leader(site, lease.is_some());
        match (&previous, &lease) {
            (None, Some(l)) => tracing::info!(site = %site, token = l.token, "this instance now leads the site"),
            (Some(p), None) => {
                tracing::warn!(site = %site, token = p.token, problem = %Untrusted(problem.as_deref().unwrap_or_default()), "this instance no longer leads the site")
            }
            _ => {}
        }
        match (lease, problem) {
            (Some(l), _) => Ok(format!("leading with token {}", l.token)),
            (None, Some(problem)) => Err(Skip::MissingData(problem)),
            (None, None) => Err(Skip::NotLeader),
        }
    }

    /// Fencing: true only while the lease in Redis is still ours, with our token.
    pub(super) async fn still_leads(&self) -> Result<Lease, String> {
        let Some(mine) = self.held_lease() else {
            return Err("this instance does not lead the site".into());
        };
        match self.ports.lease.current(&self.settings.site).await {
            Ok(Some(current)) if current == mine => Ok(mine),
            Ok(Some(current)) => {
                self.rt(|rt| rt.lease = None);
                Err(format!("deposed: {} leads with token {}", current.holder, current.token))
            }
            Ok(None) => {
                self.rt(|rt| rt.lease = None);
                Err("the lease expired".into())
            }
            Err(err) => Err(format!("cannot check the lease: {err}")),
        }
    }
}
