//! The controller's own metrics, served at `/metrics` in Prometheus text format (spec g.5).

use std::{collections::BTreeMap, fmt::Write, sync::Mutex};

/// Counters and gauges keyed by metric name and label set.
#[derive(Default)]
pub struct Telemetry {
    values: Mutex<BTreeMap<(&'static str, String), f64>>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect::<Vec<_>>()
        .join(",")
}

const HELP: [(&str, &str, &str); 8] = [
    ("palomar_controller_loop_runs_total", "counter", "Controller loop runs by loop and result (ran, skipped, failed)."),
    ("palomar_controller_loop_duration_seconds_sum", "counter", "Seconds spent in each loop."),
    ("palomar_controller_loop_duration_seconds_count", "counter", "Timed runs of each loop."),
    ("palomar_controller_decisions_total", "counter", "Decisions by feature, mode and outcome."),
    ("palomar_controller_errors_total", "counter", "Errors by loop and kind."),
    ("palomar_controller_group_moves_active", "gauge", "Group moves being supervised."),
    ("palomar_controller_group_moves_total", "counter", "Ended group moves by outcome."),
    ("palomar_controller_leader", "gauge", "1 while this instance leads its site."),
];

impl Telemetry {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<(&'static str, String), f64>) -> R) -> R {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut values)
    }

    fn add(&self, name: &'static str, pairs: &[(&str, &str)], by: f64) {
        self.with(|v| *v.entry((name, labels(pairs))).or_default() += by);
    }

    fn set(&self, name: &'static str, pairs: &[(&str, &str)], value: f64) {
        self.with(|v| v.insert((name, labels(pairs)), value));
    }

    pub fn loop_ran(&self, name: &str, result: &str, seconds: f64) {
        self.add("palomar_controller_loop_runs_total", &[("loop", name), ("result", result)], 1.0);
        self.add("palomar_controller_loop_duration_seconds_sum", &[("loop", name)], seconds);
        self.add("palomar_controller_loop_duration_seconds_count", &[("loop", name)], 1.0);
    }
    pub fn loop_error(&self, loop_name: &str, kind: &str) {
        self.add("palomar_controller_errors_total", &[("loop", loop_name), ("kind", kind)], 1.0);
    }
    pub fn decision(&self, feature: &str, mode: &str, outcome: &str) {
        self.add("palomar_controller_decisions_total", &[("feature", feature), ("mode", mode), ("outcome", outcome)], 1.0);
    }
    pub fn move_started(&self, initiator: &str) {
        self.add("palomar_controller_group_moves_started_total", &[("initiator", initiator)], 1.0);
    }
    pub fn move_ended(&self, outcome: &str) {
        self.add("palomar_controller_group_moves_total", &[("outcome", outcome)], 1.0);
    }
    pub fn moves_active(&self, count: i64) {
        self.set("palomar_controller_group_moves_active", &[], count as f64);
    }
    pub fn leader(&self, site: &str, leads: bool) {
        self.set("palomar_controller_leader", &[("site", site)], if leads { 1.0 } else { 0.0 });
    }
    pub fn backend_reachable(&self, host: &str, reachable: bool) {
        self.set("palomar_controller_backend_reachable", &[("host", host)], if reachable { 1.0 } else { 0.0 });
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let values = self.with(|v| v.clone());
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for ((n, l), value) in values.iter().filter(|((n, _), _)| *n == name) {
                if l.is_empty() {
                    let _ = writeln!(out, "{n} {value}");
                } else {
                    let _ = writeln!(out, "{n}{{{l}}} {value}");
                }
            }
        }
        for ((n, l), value) in values.iter().filter(|((n, _), _)| !HELP.iter().any(|(h, _, _)| h == n)) {
            let _ = writeln!(out, "{n}{{{l}}} {value}");
        }
        out
    }
}

