//! Site health in the pass (docs/multi-site.md, "Site health"): what the planner needs beyond
//! the site's snapshot (every site, the reachability rows, when the controller took its own site
//! offline), and the writes of its two actions, each conditional on what was read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{snapshot::Snapshot, Controller};
use crate::ports::{read_all, StoreError};
use domain::{
    geodb::{ClusterSetting, Reachability},
    metrics::HostTraffic,
    planning::{
        site_health::{self, SiteHealthMemory, SiteHealthSettings, SiteHealthView},
        BackendState, Decision, DecisionInputs,
    },
    Site, SiteStatus, WriteError,
};

/// The `cluster_settings` section where the controller notes that it took its own site
/// offline (ours: the GeoDB's `sites` row has no reason column), so that only it brings the
/// site back, even after a restart.
pub const SITE_STATE_SECTION: &str = "controller_site_state";
const OFFLINE_SINCE: &str = "offline_since";

fn offline_marker(site_id: Uuid, value: String) -> ClusterSetting {
    ClusterSetting {
        section: SITE_STATE_SECTION.into(),
        site_id,
        backend_id: Uuid::nil(),
        setting_name: OFFLINE_SINCE.into(),
        setting_value: value,
    }
}

impl Controller {
    fn site_health_settings(&self) -> SiteHealthSettings {
        let hf = &self.settings.host_failure;
        SiteHealthSettings { min_logins: hf.min_logins, ratio: hf.ratio, cool_time: hf.cool_time }
    }

    /// Plans site health on the pass's snapshot, backends and traffic. `acting` (the feature is
    /// on) lets it clear a stale offline note; a dry pass or the dry evaluation writes nothing.
    pub(super) async fn plan_site_health(
        &self,
        snap: &Snapshot,
        backends: &[BackendState],
        traffic: &BTreeMap<String, HostTraffic>,
        acting: bool,
    ) -> Result<Vec<Decision>, StoreError> {
        let geodb = self.ports.geodb.as_ref();
        let sites = read_all(|page| geodb.list_sites(page)).await?;
        let reachability = read_all(|page| geodb.list_reachability(page)).await?;
        let Some(own) = sites.iter().find(|s| s.id == snap.site_id) else { return Ok(Vec::new()) };
        let mut marker = geodb.get_setting(&offline_marker(snap.site_id, String::new())).await?;
        if let Some(stale) = marker.as_ref().filter(|_| own.status != SiteStatus::Offline) {
            // The site is no longer offline (an operator brought it back or changed it): the note
            // no longer holds, and must not let a later offline of the operators' pass for ours.
            if acting {
                if let Err(err) = geodb.remove_setting(stale).await {
                    tracing::warn!(error = %err, "could not clear a stale offline note of the site");
                }
            }
            marker = None;
        }
        let memory = SiteHealthMemory {
            reachability_changed: self.rt(|rt| rt.site_reachability_changed.clone()),
            offline_since: marker
                .and_then(|m| DateTime::parse_from_rfc3339(&m.setting_value).ok())
                .map(|t| t.with_timezone(&Utc)),
        };
        let view =
            SiteHealthView { own, sites: &sites, reachability: &reachability, traffic, backends, memory: &memory };
        Ok(site_health::plan(&view, self.now(), &self.site_health_settings()))
    }

    /// Writes this site's reachability of `dest`, if the row is still as the planner read it.
    pub(super) async fn write_reachability(
        &self,
        snap: &Snapshot,
        decision: &Decision,
        dest: Uuid,
        reachable: bool,
    ) -> Result<(), WriteError> {
        let DecisionInputs::SiteReachability(inputs) = &decision.inputs else {
            return Err(WriteError::invalid("inputs", "a reachability decision without its inputs"));
        };
        let row = |reachable: bool| Reachability {
            src_site_id: snap.site_id,
            dest_site_id: dest,
            reachable: i32::from(reachable),
        };
        let seen = inputs.reachable_before.map(row);
        if !self.ports.geodb.write_reachability(seen.as_ref(), &row(reachable)).await? {
            return Err(WriteError::Refused(
                "the reachability row changed meanwhile (conditional write refused)".into(),
            ));
        }
        let now = self.now();
        self.rt(|rt| rt.site_reachability_changed.insert(dest, now));
        Ok(())
    }

    /// Sets the controller's own site online or offline, if its status is still what the
    /// planner saw, and notes (or clears) that the controller took it offline.
    pub(super) async fn set_site_status(&self, site_id: Uuid, online: bool) -> Result<(), WriteError> {
        let geodb = self.ports.geodb.as_ref();
        let seen: Site = geodb.get_site(site_id).await?.ok_or_else(|| WriteError::NotFound("the site".into()))?;
        let (from, to) =
            if online { (SiteStatus::Offline, SiteStatus::Online) } else { (SiteStatus::Online, SiteStatus::Offline) };
        if seen.status != from {
            return Err(WriteError::Refused(format!("the site is {} now, no longer {from}", seen.status)));
        }
        let marker_key = offline_marker(site_id, String::new());
        let marker = geodb.get_setting(&marker_key).await?;
        let wanted = Site { status: to, ..seen.clone() };
        if !geodb.write_site(Some(&seen), &wanted).await? {
            return Err(WriteError::Refused("the site changed meanwhile (conditional write refused)".into()));
        }
        // The note follows the site's write, so that it never claims an offline that did not
        // happen; should it fail, the site stays offline until an operator brings it back.
        if !online {
            let since = offline_marker(site_id, self.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            if !geodb.write_setting(marker.as_ref(), &since).await? {
                return Err(WriteError::Refused("the site's offline note changed meanwhile".into()));
            }
        }
        if online {
            if let Some(marker) = marker {
                // Left behind if this fails: the next offline overwrites it.
                if let Err(err) = geodb.remove_setting(&marker).await {
                    tracing::warn!(error = %err, "could not clear the site's offline note");
                }
            }
        }
        super::end_force_moves(geodb, site_id, None, wanted.status.as_str()).await;
        // CE proxies cache routes: the site's new status must reach them now.
        self.moves.handoff().flush_proxy_caches().await;
        Ok(())
    }
}
