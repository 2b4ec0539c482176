//! A window of a site's history gathered from the GeoDB, the records and the metrics, and set
//! up for the replay engine with the settings in force or an operator's what-if.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ReplayAsk, Replays};
use crate::{
    controller::ControllerSettings,
    ports::{read_all, Metrics},
};
use domain::{
    decisions::DecisionRecord,
    feature::{feature_states, resolve_mode, Feature, FeatureState, FEATURE_SECTION},
    metrics::HistoryGrid,
    moves::MoveRecord,
    page::MAX_PAGE_SIZE,
    planning::{BackendState, GroupState},
    replay::{reconstruct, History, Replay, ReplayResult, ReplaySettings, Window, MAX_PASSES},
    AppError, PageRequest, Site,
};

/// The longest window a replay covers: the simulator's and a default Prometheus' day of
/// history at least.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// The most decisions and moves a replay reads: a day of passes at 10 s with a few decisions
/// each.
const MAX_RECORDS: usize = 200_000;

impl Replays {
    /// Reads what a replay of `site` over the asked window needs (the state now, the records
    /// of the window and of the cool times before it, the metrics at each pass) and sets the
    /// replay up; [`PreparedReplay::advance`] then reads the metrics a slice at a time and
    /// replays them.
    pub async fn prepare(&self, site: &Site, ask: ReplayAsk) -> Result<PreparedReplay, AppError> {
        let now = self.ports.clock.now();
        let s = &ask.settings;
        let pass = chrono::Duration::from_std(s.intervals.pass).unwrap_or(chrono::Duration::MAX);
        check_window(ask.from, ask.to, now, pass)?;
        let lookback = [
            s.host_failure.cool_time.max(s.host_failure.window),
            s.load_balance.host_cool_time,
            s.load_balance.group_cool_time,
        ]
        .into_iter()
        .max()
        .unwrap_or_default()
        .min(MAX_WINDOW);
        let since = ask.from - chrono::Duration::from_std(lookback).unwrap_or_default();
        let decisions = self.decisions(site.id, since, ask.to).await?;
        let moves = self.moves(site.id, since).await?;
        let modes = self.modes(site.id, s, &ask.modes).await?;
        let grid = pass_grid(&decisions, ask.from, ask.to, s.intervals.pass);
        let geodb = self.ports.geodb.as_ref();
        let rows = read_all(|page| geodb.list_backends(site.id, page)).await?;
        let backends: Vec<BackendState> = rows.iter().map(|b| BackendState::from_row(b, true)).collect();
        let census = self.census.latest();
        let groups: Vec<GroupState> = read_all(|page| geodb.list_groups(site.id, page))
            .await?
            .iter()
            .map(|g| GroupState::from_row(g, census.users_in(site.id, &g.name), None))
            .collect();
        let (start, notes) = reconstruct(&backends, &groups, &moves, &decisions, grid.start);
        let settings = ReplaySettings {
            modes,
            host_failure: s.host_failure,
            load_balance: s.load_balance,
            supervision: s.supervision,
            pass_interval: s.intervals.pass,
            supervision_interval: s.intervals.supervision,
            changed: ask.overrides.iter().map(ToString::to_string).collect(),
        };
        let history = History { passes: Vec::new(), decisions, moves, reachability: Vec::new() };
        let window = Window { from: grid.start, to: grid.end, passes: grid.len() };
        Ok(PreparedReplay {
            replay: Replay::new(site.id, start, notes, history, settings, window),
            grid,
            next: grid.start,
            site: site.name.clone(),
            windows: (s.host_failure.window, s.score_window),
            metrics: self.ports.metrics.clone(),
        })
    }

    /// The site's decisions from `since` to `to`, oldest first.
    async fn decisions(
        &self,
        site_id: Uuid,
        since: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DecisionRecord>, AppError> {
        let mut all = Vec::new();
        let mut day = since.date_naive();
        let last = to.date_naive();
        while day <= last {
            let mut page = PageRequest::first(MAX_PAGE_SIZE);
            loop {
                let got = self.ports.records.list_decisions(site_id, day, page.clone()).await?;
                all.extend(got.items.into_iter().filter(|d| d.at >= since && d.at <= to));
                if all.len() > MAX_RECORDS {
                    return Err(too_many("decisions"));
                }
                let Some(next) = got.next else { break };
                page = PageRequest { cursor: Some(next), ..page };
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        all.sort_by_key(|d| (d.at, d.id));
        Ok(all)
    }

    /// The site's moves created since `since`, and those still active.
    async fn moves(&self, site_id: Uuid, since: DateTime<Utc>) -> Result<Vec<MoveRecord>, AppError> {
        let mut all: Vec<MoveRecord> = Vec::new();
        let mut page = PageRequest::first(MAX_PAGE_SIZE);
        loop {
            let got = self.ports.records.list_moves(site_id, page.clone()).await?;
            let older = got.items.iter().any(|m| m.created_at < since);
            all.extend(got.items.into_iter().filter(|m| m.created_at >= since || m.state.is_active()));
            if all.len() > MAX_RECORDS {
                return Err(too_many("moves"));
            }
            match got.next {
                Some(next) if !older => page = PageRequest { cursor: Some(next), ..page },
                _ => break,
            }
        }
        Ok(all)
    }

    /// The features' modes for the replay: the site's stored states with the asked ones
    /// instead, each made effective as the controller makes it (`DRY_RUN`,
    /// `GROUP_BALANCE_ENABLED`).
    async fn modes(
        &self,
        site_id: Uuid,
        s: &ControllerSettings,
        asked: &BTreeMap<Feature, FeatureState>,
    ) -> Result<BTreeMap<Feature, FeatureState>, AppError> {
        let rows = read_all(|page| self.ports.geodb.list_settings(FEATURE_SECTION, page)).await?;
        Ok(feature_states(&rows, site_id)
            .into_iter()
            .map(|(f, stored)| {
                let state = asked.get(&f).copied().unwrap_or(stored);
                (f, resolve_mode(f, state, s.dry_run, s.group_balance_enabled).effective)
            })
            .collect())
    }
}

/// Passes read from the metrics at a time: an hour of minute passes, a few megabytes for a site
/// of a thousand backends.
const PASSES_PER_SLICE: i32 = 60;

/// A replay set up, with the metrics still to read.
pub struct PreparedReplay {
    replay: Replay,
    grid: HistoryGrid,
    /// The first pass not read yet.
    next: DateTime<Utc>,
    site: String,
    /// The traffic and the score windows.
    windows: (Duration, Duration),
    metrics: Arc<dyn Metrics>,
}

impl PreparedReplay {
    /// Passes run, and passes in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.replay.done(), self.replay.total())
    }

    pub fn is_done(&self) -> bool {
        self.next > self.grid.end
    }

    /// Reads the next slice of the history and replays it; the replay's own work runs off the
    /// async threads.
    pub async fn advance(mut self) -> Result<Self, AppError> {
        if self.is_done() {
            return Ok(self);
        }
        let step = chrono::Duration::seconds(self.grid.step_secs);
        let end = (self.next + step * (PASSES_PER_SLICE - 1)).min(self.grid.end);
        let slice = HistoryGrid { start: self.next, end, step_secs: self.grid.step_secs };
        let (traffic_window, score_window) = self.windows;
        let passes = self
            .metrics
            .pass_history(&self.site, &slice, traffic_window, score_window)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        self.next = end + step;
        let mut replay = self.replay;
        replay.feed(passes);
        self.replay = tokio::task::spawn_blocking(move || {
            replay.run(usize::MAX);
            replay
        })
        .await
        .map_err(|e| AppError::Internal(format!("the replay stopped: {e}")))?;
        Ok(self)
    }

    /// Reads and replays the rest of the window.
    pub async fn run_to_end(mut self) -> Result<ReplayResult, AppError> {
        while !self.is_done() {
            self = self.advance().await?;
        }
        Ok(self.finish())
    }

    /// The result of the passes replayed.
    pub fn finish(self) -> ReplayResult {
        self.replay.finish()
    }
}

fn too_many(what: &str) -> AppError {
    AppError::invalid("from", format!("the window holds more than {MAX_RECORDS} {what}: replay a shorter one"))
}

/// A window is in the past, `from` before `to`, at most [`MAX_WINDOW`] and [`MAX_PASSES`]
/// passes long.
fn check_window(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    pass: chrono::Duration,
) -> Result<(), AppError> {
    if from >= to {
        return Err(AppError::invalid("to", "the window must end after it starts"));
    }
    if to > now {
        return Err(AppError::invalid("to", "the window must end by now: a replay replays what happened"));
    }
    let longest = chrono::Duration::from_std(MAX_WINDOW).unwrap_or(chrono::Duration::MAX);
    if to - from > longest {
        return Err(AppError::invalid("from", format!("the window is at most {} hours long", longest.num_hours())));
    }
    if pass > chrono::Duration::zero()
        && (to - from).num_milliseconds() / pass.num_milliseconds().max(1) >= MAX_PASSES as i64
    {
        return Err(AppError::invalid(
            "from",
            format!("the window holds more than {MAX_PASSES} passes: replay a shorter one"),
        ));
    }
    Ok(())
}

/// The passes' times: every pass interval from the window's start, on the phase of the
/// recorded passes (a recorded pass decision's time), so that each replayed pass reads the
/// metrics as the live pass read them.
fn pass_grid(decisions: &[DecisionRecord], from: DateTime<Utc>, to: DateTime<Utc>, interval: Duration) -> HistoryGrid {
    let step_secs = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1);
    let step = chrono::Duration::seconds(step_secs);
    let phase = decisions.iter().find(|d| d.at >= from && Feature::PASS.contains(&d.decision.feature)).map(|d| d.at);
    let start = match phase {
        Some(at) => {
            let behind = (at - from).num_milliseconds() % step.num_milliseconds();
            from + chrono::Duration::milliseconds(behind)
        }
        None => from,
    };
    HistoryGrid { start, end: to.max(start), step_secs }
}
