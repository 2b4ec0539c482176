//! The replay itself: supervision ticks and passes in time order over the history, each
//! pass planned on the replay's site and its decisions applied there as the controller applies
//! them (docs/replay.md, "A pass").

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    fidelity::{self, compared, Matcher},
    load,
    pace::{self, Paces},
    recorded::Recorded,
    world::World,
    Both, History, PassMetrics, RecordedEvent, ReplayResult, ReplaySettings, ReplayedDecision, SeriesPoint, StartNotes,
    StartState, Summary, Window,
};
use crate::{
    decisions::Outcome,
    feature::{Feature, FeatureState},
    geodb::BackendStatus,
    moves::{Initiator, MoveRecord},
    planning::{
        evacuation,
        group_move_timeouts::{self, Verdict},
        host_failure::{self, offline_reason},
        load_balance, Action, Decision, DecisionInputs, Reason, RepeatMemory, SiteGroups,
    },
};

mod series;

/// At most this many alternatives are repaired per pass, as the controller does.
const ALT_REPAIRS_PER_PASS: usize = 200;

/// A replay under way: [`Replay::feed`] it the history's passes (a slice at a time, so that a
/// day of a large site's metrics is never held at once), [`Replay::run`] them, then
/// [`Replay::finish`].
pub struct Replay {
    settings: ReplaySettings,
    window: Window,
    world: World,
    recorded: Recorded,
    /// Passes fed and not run yet.
    pending: VecDeque<PassMetrics>,
    /// Passes run, kept only as far as the reasons of disagreements need them: whether they
    /// had traffic and scores, and the traffic of the backends recorded decisions name.
    kept: Vec<PassMetrics>,
    named_hosts: HashSet<String>,
    next_pass: usize,
    next_tick: DateTime<Utc>,
    /// Moves others started, by creation time.
    external: Vec<MoveRecord>,
    next_external: usize,
    /// The doveadm API's reachability as the recorded host failure decisions saw it.
    reach: Vec<(DateTime<Utc>, Uuid, bool)>,
    next_reach: usize,
    reachable: HashMap<Uuid, bool>,
    paces: Paces,
    matcher: Matcher,
    repeats: RepeatMemory,
    decisions: Vec<ReplayedDecision>,
    recorded_events: Vec<RecordedEvent>,
    series: Vec<SeriesPoint>,
    summary: Both<Summary>,
    last_pass: Option<DateTime<Utc>>,
    notes: StartNotes,
    skipped_moves: Vec<String>,
}

impl Replay {
    /// A replay of `window` from `start`; `history.passes` may hold none of the passes yet.
    pub fn new(
        site_id: Uuid,
        start: StartState,
        notes: StartNotes,
        history: History,
        settings: ReplaySettings,
        window: Window,
    ) -> Self {
        let to = window.to;
        let mut external: Vec<MoveRecord> = history
            .moves
            .iter()
            .filter(|m| {
                !matches!(m.initiated_by, Initiator::Controller(_)) && m.created_at >= start.at && m.created_at <= to
            })
            .cloned()
            .collect();
        external.sort_by_key(|m| (m.created_at, m.id));
        // A recorded verdict holds from the pass nearest it on; an unreachable one from as early
        // as a replayed decision may be and still pair with it: the API went down with the
        // failures, which the history may show a pass before the live pass read them.
        let half_pass = chrono::Duration::from_std(settings.pass_interval / 2).unwrap_or(chrono::Duration::zero());
        let tolerance = chrono::Duration::from_std(settings.tolerance()).unwrap_or(chrono::Duration::zero());
        let mut reach: Vec<(DateTime<Utc>, Uuid, bool)> = history
            .decisions
            .iter()
            .filter_map(|d| match &d.decision.inputs {
                DecisionInputs::HostFailure(i) => {
                    let early = if i.doveadm_reachable { half_pass } else { tolerance };
                    Some((d.at - early, i.backend, i.doveadm_reachable))
                }
                _ => None,
            })
            .chain(history.reachability.iter().map(|m| (m.at, m.backend, m.reachable)))
            .collect();
        reach.sort_by_key(|(at, backend, _)| (*at, *backend));
        let recorded = Recorded::new(&start, &history.moves, &history.decisions);
        let world = World::new(site_id, &start);
        let host_of: HashMap<Uuid, &str> = world.backends.iter().map(|b| (b.id, b.host.as_str())).collect();
        let named_hosts = history
            .decisions
            .iter()
            .filter_map(|d| match &d.decision.inputs {
                DecisionInputs::HostFailure(i) => host_of.get(&i.backend).map(|h| h.to_string()),
                _ => None,
            })
            .collect();
        let summary = Both { recorded: series::recorded_summary(&history, start.at, to), replayed: Summary::default() };
        let recorded_events = history
            .decisions
            .iter()
            .filter(|d| d.at >= start.at && d.at <= to && d.outcome != Outcome::NoAction)
            .filter(|d| compared(d.decision.action.as_ref()))
            .map(|d| RecordedEvent {
                id: d.id,
                at: d.at,
                feature: d.decision.feature,
                action: d.decision.action.clone(),
                summary: d.decision.summary.clone(),
                outcome: d.outcome,
            })
            .collect();
        Self {
            recorded_events,
            matcher: Matcher::new(&history.decisions, start.at, to, settings.tolerance()),
            paces: Paces::new(&history.moves),
            world,
            recorded,
            pending: history.passes.into(),
            kept: Vec::new(),
            named_hosts,
            next_pass: 0,
            window,
            next_tick: start.at,
            external,
            next_external: 0,
            reach,
            next_reach: 0,
            reachable: HashMap::new(),
            repeats: RepeatMemory::default(),
            decisions: Vec::new(),
            series: Vec::new(),
            summary,
            last_pass: None,
            notes,
            skipped_moves: Vec::new(),
            settings,
        }
    }

    /// Passes in the window.
    pub fn total(&self) -> usize {
        self.window.passes
    }

    /// Passes run so far.
    pub fn done(&self) -> usize {
        self.next_pass
    }

    /// Adds the next passes of the history, oldest first.
    pub fn feed(&mut self, passes: Vec<PassMetrics>) {
        self.pending.extend(passes);
    }

    /// Runs up to `n` more of the passes fed (with the supervision ticks before each);
    /// returns the passes done so far.
    pub fn run(&mut self, n: usize) -> usize {
        let end = self.next_pass.saturating_add(n);
        while self.next_pass < end {
            let Some(metrics) = self.pending.pop_front() else { break };
            let at = metrics.at;
            let tick = chrono::Duration::from_std(self.settings.supervision_interval)
                .unwrap_or(chrono::Duration::MAX)
                .max(chrono::Duration::seconds(1));
            while self.next_tick <= at {
                let now = self.next_tick;
                self.until(now);
                self.supervise(now);
                self.next_tick = now + tick;
            }
            self.until(at);
            self.pass(&metrics, at);
            self.keep(metrics);
            self.next_pass += 1;
        }
        self.next_pass
    }

    fn keep(&mut self, mut metrics: PassMetrics) {
        if let Some(traffic) = &mut metrics.traffic {
            traffic.retain(|host, _| self.named_hosts.contains(host));
        }
        if let Some(scores) = &mut metrics.scores {
            scores.clear();
        }
        self.kept.push(metrics);
    }

    pub fn finish(mut self) -> ReplayResult {
        let passes = std::mem::take(&mut self.kept);
        let from = self.window.from;
        let hosts: HashMap<Uuid, String> = self.world.backends.iter().map(|b| (b.id, b.host.clone())).collect();
        let host_of = |id: Uuid| hosts.get(&id).cloned().unwrap_or_else(|| id.to_string());
        let changed = &self.settings.changed;
        let agreement = self.matcher.finish(|d| fidelity::why_not_replayed(d, &passes, changed, &host_of));
        ReplayResult {
            from,
            to: self.window.to,
            passes: self.next_pass as u64,
            recorded: self.recorded_events,
            decisions: self.decisions,
            series: self.series,
            summary: self.summary,
            agreement,
            start: self.notes,
            skipped_moves: self.skipped_moves,
        }
    }

    /// What happens between ticks up to `now`: moves others started, the sources' work, the
    /// record's own changes and its reachability verdicts.
    fn until(&mut self, now: DateTime<Utc>) {
        self.world.run_sources(now);
        while let Some(m) = self.external.get(self.next_external) {
            if m.created_at > now {
                break;
            }
            let m = m.clone();
            self.next_external += 1;
            let pace = pace::of_record(&m);
            match self.world.start_move(&m.group, m.destination, m.initiated_by.clone(), pace, m.created_at) {
                Ok(()) => self.summary.replayed.moves += 1,
                Err(why) => self.skipped_moves.push(format!(
                    "{} to {} at {} ({}): {why}",
                    m.group,
                    m.destination_host,
                    m.created_at.format("%H:%M:%S"),
                    m.initiated_by
                )),
            }
        }
        self.recorded.advance(now);
        while let Some((at, backend, reachable)) = self.reach.get(self.next_reach) {
            if *at > now {
                break;
            }
            self.reachable.insert(*backend, *reachable);
            self.next_reach += 1;
        }
    }

    /// Stores a decision as the controller would: dry and non-acting repeats are held back;
    /// an acting one is paired with the record, whose refusal it then shares (a refusal comes
    /// from outside the planner: another writer, or a lost lead).
    fn outcome(&mut self, decision: &Decision, mode: FeatureState, at: DateTime<Utc>) -> Option<Outcome> {
        let wanted = match (&decision.action, mode) {
            (None, _) => Outcome::NoAction,
            (Some(_), FeatureState::On) => Outcome::Applied,
            (Some(_), _) => Outcome::Dry,
        };
        if matches!(wanted, Outcome::Dry | Outcome::NoAction) && self.repeats.is_repeat(decision, at) {
            return None;
        }
        let Some(action) = decision.action.as_ref().filter(|a| compared(Some(a))) else {
            return Some(wanted);
        };
        let changed = &self.settings.changed;
        let why = || {
            if changed.is_empty() {
                "the record has no such decision near this time: an earlier difference, or the history, changed what the planner saw".to_string()
            } else {
                format!("the replay's settings differ: {}", changed.join(", "))
            }
        };
        let paired = self.matcher.pair(at, decision.feature, action, &decision.summary, why);
        let recorded = paired.map(|r| (r.id, r.outcome));
        let outcome = match recorded {
            Some((_, o @ (Outcome::Refused | Outcome::Failed | Outcome::Pending))) if wanted == Outcome::Applied => o,
            _ => wanted,
        };
        self.decisions.push(ReplayedDecision {
            at,
            decision: decision.clone(),
            outcome,
            recorded: recorded.map(|(id, _)| id),
        });
        Some(outcome)
    }

    fn supervise(&mut self, now: DateTime<Utc>) {
        let mode = self.settings.mode(Feature::GroupMoveTimeouts);
        let mut i = 0;
        while i < self.world.flights.len() {
            let flight = self.world.flights[i].clone();
            let seen = self.world.observe(&flight, now);
            let m = &flight.record;
            match group_move_timeouts::supervise(m, &seen, now, &self.settings.supervision) {
                Verdict::Running(next) => {
                    self.world.flights[i].record = next;
                    i += 1;
                }
                Verdict::Finished(_) | Verdict::Complete(_) => {
                    self.world.land(&m.group, m.destination, now);
                    self.summary.replayed.users_moved += m.users_total;
                    self.world.flights.remove(i);
                }
                Verdict::Aborted(..) => {
                    self.world.flights.remove(i);
                }
                Verdict::Force(next, reason, why, inputs) => {
                    let decision = group_move_timeouts::force_decision(m, reason, &why, inputs);
                    let outcome = match mode {
                        FeatureState::Off => None,
                        FeatureState::Dryrun => self.outcome(&decision, mode, now),
                        // A move without a known source is forced all the same.
                        FeatureState::On => match self.outcome(&decision, mode, now) {
                            None | Some(Outcome::NoAction) => Some(Outcome::Applied),
                            other => other,
                        },
                    };
                    if outcome == Some(Outcome::Applied) {
                        self.world.land(&m.group, m.destination, now);
                        self.summary.replayed.forced += 1;
                        self.summary.replayed.users_moved += m.users_total;
                        self.world.flights.remove(i);
                    } else {
                        self.world.flights[i].record = next;
                        i += 1;
                    }
                }
            }
        }
    }

    /// One pass at `at`: host failure, drain and load balancing planned on one view of the
    /// replay's site, then applied in that order (a load-balancing move waits when another
    /// move started in the pass).
    fn pass(&mut self, metrics: &PassMetrics, at: DateTime<Utc>) {
        for b in &mut self.world.backends {
            b.reachable = self.reachable.get(&b.id).copied().unwrap_or(true);
        }
        let s = self.settings.clone();
        let on = |f: Feature| s.mode(f) != FeatureState::Off;
        let scores = metrics.scores.as_ref().map(|scores| {
            let moved = load::displaced(&self.world.groups, &self.recorded.placement);
            let users = if moved.is_empty() {
                HashMap::new()
            } else {
                load::users_by_backend(&self.world.groups, &self.recorded.placement)
            };
            let hosts: HashMap<Uuid, String> = self.world.backends.iter().map(|b| (b.id, b.host.clone())).collect();
            let replayed = load::shifted_scores(scores, &moved, &users, &|id| hosts.get(&id).cloned());
            (scores.clone(), replayed)
        });
        let traffic = metrics.traffic.clone();
        let (world, backends, groups) = (&self.world, &self.world.backends, &self.world.groups);
        let site_groups = SiteGroups::new(groups);
        let mut planned: Vec<Decision> = Vec::new();
        if on(Feature::HostFailure) {
            if let Some(traffic) = traffic.as_ref().filter(|t| !t.is_empty()) {
                planned.extend(host_failure::plan(backends, &site_groups, traffic, at, &s.host_failure));
            }
        }
        if on(Feature::Evacuation) {
            planned.extend(evacuation::plan(backends, &site_groups, at));
            planned.extend(evacuation::repair_alternatives(backends, groups, ALT_REPAIRS_PER_PASS));
        }
        if on(Feature::LoadBalance) {
            if let Some((_, replayed)) = scores.as_ref().filter(|(_, r)| !r.is_empty()) {
                let last = world.last_load_balance_move;
                planned.push(load_balance::plan(backends, &site_groups, replayed, last, at, &s.load_balance));
            }
        }
        let seen: HashMap<Uuid, BackendStatus> = backends.iter().map(|b| (b.id, b.status.clone())).collect();
        let mut moved = false;
        for decision in planned {
            let mode = s.mode(decision.feature);
            let held = decision.feature == Feature::LoadBalance && moved && decision.action.is_some();
            let decision = if held {
                let summary = format!("held back: another move started this pass ({})", decision.summary);
                Decision { reason: Reason::HeldBack, action: None, summary, ..decision }
            } else {
                decision
            };
            if self.outcome(&decision, mode, at) != Some(Outcome::Applied) {
                continue;
            }
            let applied = self.apply(&decision, &seen, at);
            if !applied {
                if let Some(last) = self.decisions.last_mut().filter(|d| d.at == at && d.decision == decision) {
                    last.outcome = Outcome::Refused;
                }
                continue;
            }
            moved |= matches!(decision.action, Some(Action::MoveGroup { .. }));
        }
        self.sample(
            metrics,
            at,
            scores.as_ref().map(|(recorded, replayed)| (recorded.as_slice(), replayed.as_slice())),
        );
    }

    /// Applies an acting decision to the replay's site; false when the site refuses it as the
    /// GeoDB's conditional write would.
    fn apply(&mut self, decision: &Decision, seen: &HashMap<Uuid, BackendStatus>, at: DateTime<Utc>) -> bool {
        match &decision.action {
            Some(Action::SetOffline { backend }) => {
                let Some(was) = seen.get(backend) else { return false };
                let reason = offline_reason(at, &decision.summary);
                let set = self.world.set_status(*backend, was, BackendStatus::Offline, &reason);
                if set {
                    self.summary.replayed.set_offline += 1;
                }
                set
            }
            Some(Action::SetOnline { backend }) => {
                let Some(was) = seen.get(backend) else { return false };
                self.world.set_status(*backend, was, BackendStatus::Online, "")
            }
            Some(Action::MoveGroup { group, to, .. }) => {
                let pace = self.paces.lookup(group, *to, at, self.settings.tolerance());
                let initiator = Initiator::Controller(decision.feature);
                let started = self.world.start_move(group, *to, initiator, pace, at).is_ok();
                if started {
                    self.summary.replayed.moves += 1;
                    if decision.feature == Feature::LoadBalance {
                        self.world.last_load_balance_move = Some(at);
                    }
                }
                started
            }
            Some(Action::SetAltBackend { group, alt }) => {
                self.world.set_alt(group, *alt);
                true
            }
            Some(_) | None => true,
        }
    }
}
