//! Backend reachability (docs/controller.md, "Reachability"): every backend's doveadm API is asked for its status; the
//! verdicts keep unreachable backends from being chosen as destinations.

use domain::logtext::Untrusted;

use super::{snapshot::missing, Controller, Skip};
use crate::ports::read_all;
use domain::probe::ProbeOutcome;

impl Controller {
    pub(super) async fn probe_backends(&self) -> Result<String, Skip> {
        self.held_lease().ok_or(Skip::NotLeader)?;
        self.probe_once().await
    }

    pub(super) async fn probe_once(&self) -> Result<String, Skip> {
        let geodb = self.ports.geodb.as_ref();
        let site_id = self.site_id().await?;
        let backends = read_all(|page| geodb.list_backends(site_id, page)).await.map_err(missing("the backends"))?;
        let edition = self.settings.dovecot.edition;
        let probes = backends
            .iter()
            .map(|b| async move { (b.host.clone(), self.ports.doveadm.run(&b.host, &edition.probe(&b.host)).await) });
        let results = futures::future::join_all(probes).await;
        let now = self.now();
        let mut unreachable = Vec::new();
        self.rt(|rt| {
            rt.probes.retain(|host, _| backends.iter().any(|b| &b.host == host));
            for (host, result) in results {
                let outcome = match result {
                    Ok(_) => ProbeOutcome::Answered,
                    Err(err) if err.is_name_resolution_failure() => ProbeOutcome::NameNotResolved(err.to_string()),
                    Err(err) => ProbeOutcome::Failed(err.to_string()),
                };
                let before = rt.probes.get(&host).cloned().unwrap_or_default();
                let after = before.after(outcome, now, self.settings.dns_failure_allowed);
                if before.reachable && !after.reachable {
                    tracing::warn!(host = %Untrusted(&host), error = %Untrusted(&after.last_error), "backend doveadm API unreachable");
                }
                if !after.reachable {
                    unreachable.push(host.clone());
                }
                self.telemetry.backend_reachable(&host, after.reachable);
                rt.probes.insert(host, after);
            }
            rt.probed = true;
        });
        Ok(if unreachable.is_empty() {
            format!("{} backends reachable", backends.len())
        } else {
            format!("unreachable: {}", unreachable.join(", "))
        })
    }
}
