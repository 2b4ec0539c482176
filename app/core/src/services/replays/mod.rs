//! Replays (docs/replay.md): a site's history replayed through the planners with the settings
//! in force or an operator's what-if. One replay runs at a time per site, in the background;
//! its record, progress and result are kept in the records so that a link to it can be shared.

mod overrides;
mod prepare;
mod runner;

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, DurationRound, Utc};
use uuid::Uuid;

pub use overrides::{NoSettingsOverrides, SettingsOverrides};
pub use prepare::{PreparedReplay, MAX_WINDOW};
pub(crate) use runner::ReplayRunner;

use crate::{
    controller::{Census, ControllerSettings},
    ports::{read_all, Ports},
};
use domain::{
    feature::{feature_states, Feature, FeatureState, FEATURE_SECTION},
    logtext::Untrusted,
    replay::{ReplayRun, ReplayStatus, SettingOverride},
    AppError, Site,
};

/// What an operator asks a replay for.
#[derive(Debug, Clone)]
pub struct ReplayAsk {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The controller's settings for the replay: those in force, some changed.
    pub settings: ControllerSettings,
    /// Feature states to replay with instead of the site's.
    pub modes: BTreeMap<Feature, FeatureState>,
    /// What differs from the settings in force.
    pub overrides: Vec<SettingOverride>,
}

/// The settings a replay plans with, by their variable names, as the replay page lists them
/// with their values in force; any other controller setting can be changed too.
pub const REPLAYED_SETTINGS: [&str; 14] = [
    "DRY_RUN",
    "HOST_FAILURE_RATIO",
    "HOST_FAILURE_MIN_LOGINS",
    "HOST_FAILURE_WINDOW_SECS",
    "HOST_FAILURE_COOL_TIME_SECS",
    "HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO",
    "HOST_LOAD_BALANCE_MIN_SAMPLES",
    "HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS",
    "HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS",
    "HOST_LOAD_BALANCE_SCORE_WINDOW_SECS",
    "GROUP_MOVE_START_TIMEOUT_SECS",
    "GROUP_MOVE_FINISH_TIMEOUT_SECS",
    "CONTROLLER_PASS_INTERVAL_SECS",
    "GROUP_MOVE_SUPERVISION_INTERVAL_SECS",
];

/// Starting replays of this controller's sites and reading them: operators, since a replay
/// costs CPU.
pub struct Replays {
    ports: Ports,
    census: Arc<Census>,
    live: ControllerSettings,
    overrides: Arc<dyn SettingsOverrides>,
    runner: Arc<ReplayRunner>,
    requested_by: String,
}

impl Replays {
    pub(in crate::services) fn new(
        ports: Ports,
        census: Arc<Census>,
        live: ControllerSettings,
        overrides: Arc<dyn SettingsOverrides>,
        runner: Arc<ReplayRunner>,
        requested_by: String,
    ) -> Self {
        Self { ports, census, live, overrides, runner, requested_by }
    }

    /// The settings in force.
    pub fn live_settings(&self) -> &ControllerSettings {
        &self.live
    }

    /// The settings in force for `site`, as a replay form starts from: each feature's stored
    /// state by the feature's name, then [`REPLAYED_SETTINGS`] with their values.
    pub async fn in_force(&self, site: &Site) -> Result<Vec<SettingOverride>, AppError> {
        let mut all = Vec::new();
        for (feature, state) in self.stored_states(site).await? {
            all.push(SettingOverride::new(feature.as_str(), state.as_str())?);
        }
        for name in REPLAYED_SETTINGS {
            if let Some(value) = self.overrides.in_force(name) {
                all.push(SettingOverride::new(name, &value)?);
            }
        }
        Ok(all)
    }

    /// The replay asked for: the window (`to` defaults to now, `from` to [`MAX_WINDOW`] before
    /// `to`) and the settings in force with `asked` instead, those equal to the value in force
    /// left out. A feature's name sets its state (`load_balance=on`); any other name is a
    /// controller setting, read as the server reads its variable at start-up.
    pub async fn ask(
        &self,
        site: &Site,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        asked: &[SettingOverride],
    ) -> Result<ReplayAsk, AppError> {
        let to = to.unwrap_or_else(|| self.ports.clock.now());
        let window = chrono::Duration::from_std(MAX_WINDOW).unwrap_or(chrono::Duration::MAX);
        let from = from.unwrap_or(to - window);
        let stored = self.stored_states(site).await?;
        let mut modes = BTreeMap::new();
        let mut settings = Vec::new();
        let mut overrides = Vec::new();
        for o in asked {
            match o.name.parse::<Feature>() {
                Ok(feature) => {
                    let state = o
                        .value
                        .parse::<FeatureState>()
                        .map_err(|e| AppError::invalid("set", format!("{}: {e}", Untrusted(&o.name))))?;
                    if stored.get(&feature) != Some(&state) {
                        modes.insert(feature, state);
                        overrides.push(SettingOverride::new(feature.as_str(), state.as_str())?);
                    }
                }
                Err(_) => {
                    let name = o.name.to_ascii_uppercase();
                    if self.overrides.in_force(&name).as_deref() != Some(o.value.as_str()) {
                        settings.push(SettingOverride::new(&name, &o.value)?);
                    }
                }
            }
        }
        let settings = if settings.is_empty() {
            self.live.clone()
        } else {
            let read = self.overrides.controller_settings(&settings)?;
            overrides.extend(settings);
            read
        };
        Ok(ReplayAsk { from, to, settings, modes, overrides })
    }

    /// Each feature's state as stored for `site`.
    async fn stored_states(&self, site: &Site) -> Result<BTreeMap<Feature, FeatureState>, AppError> {
        let rows = read_all(|page| self.ports.geodb.list_settings(FEATURE_SECTION, page)).await?;
        Ok(feature_states(&rows, site.id).into_iter().collect())
    }

    /// Starts a replay of `site` in the background and returns its record, running. Refused
    /// while another replay of the site runs here.
    pub async fn start(&self, site: &Site, ask: ReplayAsk) -> Result<ReplayRun, AppError> {
        let slot = self.runner.claim(site)?;
        let prepared = self.prepare(site, ask.clone()).await?;
        let now = self.ports.clock.now();
        let (done, total) = prepared.progress();
        let run = ReplayRun {
            id: Uuid::new_v4(),
            site_id: site.id,
            site: site.name.clone(),
            requested_by: self.requested_by.clone(),
            created_at: now,
            updated_at: now,
            from: ask.from,
            to: ask.to,
            overrides: ask.overrides,
            status: ReplayStatus::Running,
            done: done as u64,
            total: total as u64,
            error: None,
            result: None,
        };
        if !self.ports.records.insert_replay(&run).await? {
            return Err(AppError::Conflict(format!("replay {} is already recorded", run.id)));
        }
        tracing::info!(site = %site.name, replay = %run.id, operator = %Untrusted(&run.requested_by), "replay started");
        runner::spawn(slot, prepared, run.clone(), self.ports.clone());
        Ok(run)
    }
}

/// Reading replays: any role, so that a shared link opens for a viewer too.
pub struct ReplayReader {
    ports: Ports,
}

impl ReplayReader {
    pub(in crate::services) fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// A replay of `site` by its id.
    pub async fn get(&self, site: &Site, id: Uuid) -> Result<ReplayRun, AppError> {
        let run = self.ports.records.get_replay(site.id, id).await?;
        let run = run.ok_or_else(|| AppError::NotFound(format!("replay {id} of site {}", site.name)))?;
        Ok(run.as_of(self.ports.clock.now()))
    }

    /// The window a replay covers unless asked otherwise: the last [`MAX_WINDOW`], to the
    /// minute.
    pub fn default_window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let now = self.ports.clock.now();
        let to = now.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(now);
        let window = chrono::Duration::from_std(MAX_WINDOW).unwrap_or(chrono::Duration::MAX);
        (to - window, to)
    }
}
