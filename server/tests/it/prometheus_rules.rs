//! The shipped recording rules (deploy/prometheus/rules.yml) pass promtool's linter, and
//! their unit tests (rules_test.yml: one hot backend among four has the highest summed
//! Z-score) pass. Needs `PALOMAR_TEST_PROMETHEUS` (promtool is looked up next to that binary,
//! then on PATH); skipped without it.

use crate::common;

#[test]
fn the_recording_rules_pass_the_linter() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    let args = ["check", "rules", "--lint-fatal", "deploy/prometheus/rules.yml"];
    let (ok, printed) = common::prometheus::run_promtool(&promtool, &args, None);
    assert!(ok, "promtool check rules --lint-fatal failed:\n{printed}");
}

#[test]
fn the_summed_zscore_ranks_the_hot_backend_first() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    let args = ["test", "rules", "deploy/prometheus/rules_test.yml"];
    let (ok, printed) = common::prometheus::run_promtool(&promtool, &args, None);
    assert!(ok, "promtool test rules failed:\n{printed}");
    assert!(printed.contains("SUCCESS"), "promtool test rules said:\n{printed}");
}
