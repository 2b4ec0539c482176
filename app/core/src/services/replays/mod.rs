//! Replays (docs/replay.md): a site's history replayed through the planners with the settings
//! in force or an operator's what-if. One replay runs at a time per site, in the background;
//! its record, progress and result are kept in the records so that a link to it can be shared.

mod overrides;
mod prepare;
mod runner;

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use overrides::{NoSettingsOverrides, SettingsOverrides};
pub use prepare::{PreparedReplay, MAX_WINDOW};
pub(crate) use runner::ReplayRunner;

use crate::{
    controller::{Census, ControllerSettings},
    ports::Ports,
};
use domain::{
    feature::{Feature, FeatureState},
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
    /// What differs from the settings in force, as `NAME=VALUE`.
    pub changed: Vec<String>,
}

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

    /// The replay asked for: the window (`to` defaults to now, `from` to [`MAX_WINDOW`] before
    /// `to`) and the settings in force with `overrides` instead. A feature's name sets its
    /// state (`load_balance=on`); any other name is a controller setting, read as the server
    /// reads its variable at start-up.
    pub fn ask(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        overrides: &[SettingOverride],
    ) -> Result<ReplayAsk, AppError> {
        let to = to.unwrap_or_else(|| self.ports.clock.now());
        let window = chrono::Duration::from_std(MAX_WINDOW).unwrap_or(chrono::Duration::MAX);
        let from = from.unwrap_or(to - window);
        let mut modes = BTreeMap::new();
        let mut settings = Vec::new();
        for o in overrides {
            match o.name.parse::<Feature>() {
                Ok(feature) => {
                    let state = o.value.parse::<FeatureState>().map_err(|e| {
                        AppError::invalid("set", format!("{}: {e}", Untrusted(&o.name)))
                    })?;
                    modes.insert(feature, state);
                }
                Err(_) => settings.push(o.clone()),
            }
        }
        let settings =
            if settings.is_empty() { self.live.clone() } else { self.overrides.controller_settings(&settings)? };
        let changed = overrides.iter().map(ToString::to_string).collect();
        Ok(ReplayAsk { from, to, settings, modes, changed })
    }

    /// Starts a replay of `site` in the background and returns its record, running. Refused
    /// while another replay of the site runs here.
    pub async fn start(&self, site: &Site, overrides: Vec<SettingOverride>, ask: ReplayAsk) -> Result<ReplayRun, AppError> {
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
            overrides,
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

    /// A replay of `site` by its id.
    pub async fn get(&self, site: &Site, id: Uuid) -> Result<ReplayRun, AppError> {
        read(&self.ports, site, id).await
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
        read(&self.ports, site, id).await
    }
}

async fn read(ports: &Ports, site: &Site, id: Uuid) -> Result<ReplayRun, AppError> {
    let run = ports.records.get_replay(site.id, id).await?;
    let run = run.ok_or_else(|| AppError::NotFound(format!("replay {id} of site {}", site.name)))?;
    Ok(run.as_of(ports.clock.now()))
}
