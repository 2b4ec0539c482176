//! The controller's `/metrics` text, with every metric family filled, passes
//! `promtool check metrics` without a single lint problem (HELP and TYPE for every series,
//! counter names ending in `_total`, well-formed escaping). Needs `PALOMAR_TEST_PROMETHEUS`
//! (promtool is looked up next to that binary, then on PATH); skipped without it.

use crate::common;

use palomar_core::controller::Telemetry;

/// Every family, with label values that need escaping and several series per family.
fn filled() -> Telemetry {
    let t = Telemetry::default();
    for (name, seconds) in [("leader", 0.002), ("reachability", 0.3), ("pass", 1.7), ("supervision", 12.0)] {
        t.loop_ran(name, "ran", seconds);
    }
    t.loop_ran("pass", "skipped", 0.0001);
    t.loop_ran("group_balance_plan", "failed", 45.0);
    t.loop_error("pass", "not_leader");
    t.loop_error("group_balance_plan", "missing_data");
    t.decision("host_failure", "on", "applied");
    t.decision("load_balance", "dryrun", "dry");
    t.decision("evacuation", "on", "refused");
    for initiator in ["load_balance", "host_failure", "operator"] {
        t.move_started(initiator);
    }
    t.move_ended("done");
    t.move_ended("forced");
    t.moves_active(2);
    t.leader("dc1a", true);
    t.backend_reachable("be1.dc1a.example.net", true);
    t.backend_reachable("be2.dc1a.example.net", false);
    t.backend_reachable("odd \"host\" \\ with\nnewline", false);
    t
}

#[test]
fn the_exposition_passes_promtool_check_metrics() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    let text = filled().render();
    for family in [
        "palomar_controller_loop_runs_total",
        "palomar_controller_loop_duration_seconds",
        "palomar_controller_errors_total",
        "palomar_controller_decisions_total",
        "palomar_controller_group_moves_started_total",
        "palomar_controller_group_moves_total",
        "palomar_controller_group_moves_active",
        "palomar_controller_leader",
        "palomar_controller_backend_reachable",
    ] {
        assert!(text.contains(&format!("\n{family}")), "{family} has no series in\n{text}");
    }
    let (ok, printed) = common::prometheus::run_promtool(&promtool, &["check", "metrics"], Some(&text));
    assert!(ok, "promtool check metrics failed:\n{printed}\non\n{text}");
    assert!(printed.trim().is_empty(), "promtool check metrics reported problems:\n{printed}\non\n{text}");
}
