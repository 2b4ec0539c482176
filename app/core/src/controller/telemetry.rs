//! The controller's own metrics, served at `/metrics`, kept as typed
//! `prometheus-client` families.
//!
//! The exposition is the Prometheus text format 0.0.4 rather than OpenMetrics: `promtool check
//! metrics` and older scrapers read 0.0.4, and in it a counter's HELP and TYPE lines carry the
//! same `_total` name as its samples, so every series is described.

use prometheus_client::{
    encoding::{prometheus_text, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Registry, Unit},
};

/// Upper bounds (seconds) of the loop duration buckets: loops take milliseconds when their
/// data is local and up to the doveadm and Prometheus timeouts (several seconds) when not.
const LOOP_SECONDS_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoopResultLabels {
    r#loop: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoopLabels {
    r#loop: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    r#loop: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    feature: String,
    mode: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InitiatorLabels {
    initiator: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabels {
    site: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabels {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeatureLabels {
    feature: String,
}

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

fn loop_histogram() -> Histogram {
    Histogram::new(LOOP_SECONDS_BUCKETS)
}

/// Every metric family of one controller and the registry that renders them.
///
/// The families are shared handles (clones of what the registry holds), so recording needs
/// only `&self`.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    loop_runs: Family<LoopResultLabels, Counter>,
    loop_duration: HistogramFamily<LoopLabels>,
    errors: Family<ErrorLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    moves_started: Family<InitiatorLabels, Counter>,
    moves_ended: Family<OutcomeLabels, Counter>,
    moves_active: Gauge,
    leader: Family<SiteLabels, Gauge>,
    backend_reachable: Family<HostLabels, Gauge>,
    route_lookups: Family<OutcomeLabels, Counter>,
    backends_offline: Family<FeatureLabels, Counter>,
    census_taken: Gauge,
}

impl Default for Telemetry {
    fn default() -> Self {
        let loop_runs = Family::default();
        let loop_duration: HistogramFamily<LoopLabels> = Family::new_with_constructor(loop_histogram);
        let errors = Family::default();
        let decisions = Family::default();
        let moves_started = Family::default();
        let moves_ended = Family::default();
        let moves_active = Gauge::default();
        let leader = Family::default();
        let backend_reachable = Family::default();
        let route_lookups = Family::default();
        let backends_offline = Family::default();
        let census_taken = Gauge::default();
        // Counters are registered without `_total`: the encoder appends it.
        let mut registry = Registry::with_prefix("palomar_controller");
        let help = "Controller loop runs by loop and result (ran, skipped, failed)";
        registry.register("loop_runs", help, loop_runs.clone());
        let help = "Time spent in each loop run";
        registry.register_with_unit("loop_duration", help, Unit::Seconds, loop_duration.clone());
        registry.register("errors", "Loop runs that did not act, by loop and kind", errors.clone());
        registry.register("decisions", "Decisions by feature, mode and outcome", decisions.clone());
        registry.register(
            "group_moves_started",
            "Group moves started, by initiator (the feature that decided, or operator)",
            moves_started.clone(),
        );
        registry.register("group_moves", "Ended group moves by outcome", moves_ended.clone());
        registry.register("group_moves_active", "Group moves being supervised", moves_active.clone());
        registry.register("leader", "1 while this instance leads its site, else 0", leader.clone());
        registry.register(
            "backend_reachable",
            "1 while the backend's doveadm API answers, else 0",
            backend_reachable.clone(),
        );
        registry.register(
            "route_lookups",
            "Route API lookups by outcome (a route's reason, or the error: unauthorized, invalid, no_backend, store)",
            route_lookups.clone(),
        );
        registry.register(
            "backends_taken_offline",
            "Backends this controller set offline, by the feature that decided (host_failure)",
            backends_offline.clone(),
        );
        registry.register_with_unit(
            "census_taken_timestamp",
            "When this instance last finished a census (Unix time; 0 before the first)",
            Unit::Seconds,
            census_taken.clone(),
        );
        Self {
            registry,
            loop_runs,
            loop_duration,
            errors,
            decisions,
            moves_started,
            moves_ended,
            moves_active,
            leader,
            backend_reachable,
            route_lookups,
            backends_offline,
            census_taken,
        }
    }
}

impl Telemetry {
    /// The `Content-Type` of [`Telemetry::render`]'s text (Prometheus text format 0.0.4).
    pub const CONTENT_TYPE: &'static str = prometheus_text::CONTENT_TYPE;

    /// One run of a loop: `result` is `ran`, `skipped` or `failed`.
    pub fn loop_ran(&self, loop_name: &str, result: &str, seconds: f64) {
        let labels = LoopResultLabels { r#loop: loop_name.to_string(), result: result.to_string() };
        self.loop_runs.get_or_create(&labels).inc();
        self.loop_duration.get_or_create(&LoopLabels { r#loop: loop_name.to_string() }).observe(seconds);
    }

    /// A loop run that did not act; `kind` is the reason (`not_leader`, `missing_data`, `off`).
    pub fn loop_error(&self, loop_name: &str, kind: &str) {
        self.errors.get_or_create(&ErrorLabels { r#loop: loop_name.to_string(), kind: kind.to_string() }).inc();
    }

    /// A recorded decision.
    pub fn decision(&self, feature: &str, mode: &str, outcome: &str) {
        let labels =
            DecisionLabels { feature: feature.to_string(), mode: mode.to_string(), outcome: outcome.to_string() };
        self.decisions.get_or_create(&labels).inc();
    }

    /// A group move started; `initiator` is e.g. `load_balance`, `host_failure` or `operator`.
    pub fn move_started(&self, initiator: &str) {
        self.moves_started.get_or_create(&InitiatorLabels { initiator: initiator.to_string() }).inc();
    }

    /// A group move ended with `outcome`.
    pub fn move_ended(&self, outcome: &str) {
        self.moves_ended.get_or_create(&OutcomeLabels { outcome: outcome.to_string() }).inc();
    }

    /// A route API lookup ended with `outcome`.
    pub fn route_lookup(&self, outcome: &str) {
        self.route_lookups.get_or_create(&OutcomeLabels { outcome: outcome.to_string() }).inc();
    }

    /// The number of group moves under supervision now.
    pub fn moves_active(&self, count: i64) {
        self.moves_active.set(count);
    }

    /// Whether this instance holds the leader lease of `site`.
    pub fn leader(&self, site: &str, leads: bool) {
        self.leader.get_or_create(&SiteLabels { site: site.to_string() }).set(i64::from(leads));
    }

    /// The latest reachability verdict for a backend's doveadm API.
    pub fn backend_reachable(&self, host: &str, reachable: bool) {
        self.backend_reachable.get_or_create(&HostLabels { host: host.to_string() }).set(i64::from(reachable));
    }

    /// A backend set offline by the controller, on `feature`'s decision.
    pub fn backend_taken_offline(&self, feature: &str) {
        self.backends_offline.get_or_create(&FeatureLabels { feature: feature.to_string() }).inc();
    }

    /// A census finished at `unix_seconds`.
    pub fn census_taken(&self, unix_seconds: i64) {
        self.census_taken.set(unix_seconds);
    }

    /// The exposition text served at /metrics.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would mean a bug in a label set,
        // and a partial page is then more useful to a scraper than none.
        if let Err(err) = prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!(error = %err, "could not encode the controller's metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_help_type_and_escaped_labels() {
        let t = Telemetry::default();
        t.loop_ran("host_failure", "ran", 0.5);
        t.loop_error("pass", "missing_data");
        t.decision("load_balance", "dryrun", "dry");
        t.move_started("load_balance");
        t.move_ended("forced");
        t.moves_active(3);
        t.leader("eu", true);
        t.backend_reachable("a\"b\\c\nd", false);
        t.backend_taken_offline("host_failure");
        t.census_taken(1_800_000_000);
        let text = t.render();
        for needle in [
            "palomar_controller_loop_runs_total{loop=\"host_failure\",result=\"ran\"} 1\n",
            "palomar_controller_loop_duration_seconds_bucket{loop=\"host_failure\",le=\"0.5\"} 1\n",
            "palomar_controller_loop_duration_seconds_sum{loop=\"host_failure\"} 0.5\n",
            "palomar_controller_loop_duration_seconds_count{loop=\"host_failure\"} 1\n",
            "palomar_controller_errors_total{loop=\"pass\",kind=\"missing_data\"} 1\n",
            "palomar_controller_decisions_total{feature=\"load_balance\",mode=\"dryrun\",outcome=\"dry\"} 1\n",
            "palomar_controller_group_moves_started_total{initiator=\"load_balance\"} 1\n",
            "palomar_controller_group_moves_total{outcome=\"forced\"} 1\n",
            "palomar_controller_group_moves_active 3\n",
            "palomar_controller_leader{site=\"eu\"} 1\n",
            "palomar_controller_backend_reachable{host=\"a\\\"b\\\\c\\nd\"} 0\n",
            "palomar_controller_backends_taken_offline_total{feature=\"host_failure\"} 1\n",
            "palomar_controller_census_taken_timestamp_seconds 1800000000\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        for (name, kind) in [
            ("palomar_controller_loop_runs_total", "counter"),
            ("palomar_controller_loop_duration_seconds", "histogram"),
            ("palomar_controller_errors_total", "counter"),
            ("palomar_controller_decisions_total", "counter"),
            ("palomar_controller_group_moves_started_total", "counter"),
            ("palomar_controller_group_moves_total", "counter"),
            ("palomar_controller_group_moves_active", "gauge"),
            ("palomar_controller_leader", "gauge"),
            ("palomar_controller_backend_reachable", "gauge"),
            ("palomar_controller_backends_taken_offline_total", "counter"),
            ("palomar_controller_census_taken_timestamp_seconds", "gauge"),
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "no HELP for {name} in\n{text}");
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "no TYPE for {name} in\n{text}");
        }
        assert!(!text.contains("# EOF"), "0.0.4 text has no EOF marker:\n{text}");
    }

    #[test]
    fn counts_accumulate_and_gauges_follow_the_latest_value() {
        let t = Telemetry::default();
        t.loop_ran("pass", "ran", 0.1);
        t.loop_ran("pass", "ran", 0.2);
        t.leader("eu", true);
        t.leader("eu", false);
        let text = t.render();
        assert!(text.contains("palomar_controller_loop_runs_total{loop=\"pass\",result=\"ran\"} 2\n"), "{text}");
        assert!(text.contains("palomar_controller_loop_duration_seconds_count{loop=\"pass\"} 2\n"), "{text}");
        assert!(text.contains("palomar_controller_leader{site=\"eu\"} 0\n"), "{text}");
    }
}
