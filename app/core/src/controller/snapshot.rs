//! What a loop starts from: one consistent read of the site, and the features' modes.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Controller, Skip};
use crate::ports::{read_all, site_id_by_name, StoreError};
use domain::{
    feature::{feature_states, resolve_mode, Feature, FeatureState, FEATURE_SECTION},
    geodb::{Backend, UserGroup},
    page::MAX_PAGE_SIZE,
    planning::{BackendState, GroupState},
    PageRequest,
};

/// One consistent read of the site for a pass.
pub(super) struct Snapshot {
    pub(super) site_id: Uuid,
    pub(super) backends: Vec<Backend>,
    pub(super) groups: Vec<UserGroup>,
    pub(super) group_states: Vec<GroupState>,
}

impl Snapshot {
    pub(super) fn host(&self, id: Uuid) -> String {
        self.backends.iter().find(|b| b.id == id).map(|b| b.host.clone()).unwrap_or_else(|| id.to_string())
    }
}

/// The modes of a site's features, effective now.
pub(super) type Modes = BTreeMap<Feature, FeatureState>;

/// The mode of one feature (off when unknown).
pub(super) fn mode_of(modes: &Modes, feature: Feature) -> FeatureState {
    modes.get(&feature).copied().unwrap_or(FeatureState::Off)
}

pub(super) fn missing(what: &str) -> impl Fn(StoreError) -> Skip + '_ {
    move |e| Skip::MissingData(format!("cannot read {what}: {e}"))
}

impl Controller {
    /// The id of this controller's site (`CLUSTER_SITE`).
    pub(super) async fn site_id(&self) -> Result<Uuid, Skip> {
        site_id_by_name(self.ports.geodb.as_ref(), &self.settings.site)
            .await
            .map_err(missing("the sites"))?
            .ok_or_else(|| Skip::MissingData(format!("site {} (CLUSTER_SITE) is not in the GeoDB", self.settings.site)))
    }

    pub(super) async fn snapshot(&self) -> Result<Snapshot, Skip> {
        let geodb = self.ports.geodb.as_ref();
        let site_id = self.site_id().await?;
        let backends = read_all(|page| geodb.list_backends(site_id, page)).await.map_err(missing("the backends"))?;
        let groups = read_all(|page| geodb.list_groups(site_id, page)).await.map_err(missing("the groups"))?;
        let census = self.census.latest();
        let recent = self
            .ports
            .records
            .list_moves(site_id, PageRequest::first(MAX_PAGE_SIZE))
            .await
            .map_err(missing("recent moves"))?;
        let mut last_moved: HashMap<&str, DateTime<Utc>> = HashMap::new();
        for m in &recent.items {
            let at = m.finished_at.unwrap_or(m.created_at);
            let entry = last_moved.entry(m.group.as_str()).or_insert(at);
            *entry = (*entry).max(at);
        }
        let group_states = groups
            .iter()
            .map(|g| {
                GroupState::from_row(g, census.users_in(site_id, &g.name), last_moved.get(g.name.as_str()).copied())
            })
            .collect();
        Ok(Snapshot { site_id, backends, groups, group_states })
    }

    /// The backends as the planners see them, with the reachability probe's verdicts.
    pub(super) fn backend_states(&self, snap: &Snapshot) -> Vec<BackendState> {
        self.rt(|rt| {
            snap.backends
                .iter()
                .map(|b| BackendState::from_row(b, rt.probes.get(&b.host).is_some_and(|p| p.reachable)))
                .collect()
        })
    }

    /// Effective modes of the site's features (feature state, global `DRY_RUN`,
    /// `GROUP_BALANCE_ENABLED`).
    pub(super) async fn modes(&self, site_id: Uuid) -> Result<Modes, Skip> {
        let rows = read_all(|page| self.ports.geodb.list_settings(FEATURE_SECTION, page))
            .await
            .map_err(|e| Skip::MissingData(format!("cannot read the feature states: {e}")))?;
        Ok(feature_states(&rows, site_id)
            .into_iter()
            .map(|(f, state)| {
                (f, resolve_mode(f, state, self.settings.dry_run, self.settings.group_balance_enabled).effective)
            })
            .collect())
    }
}
