//! The shipped Prometheus files: the recording rules (deploy/prometheus/rules.yml) and the
//! alerts (alerts.yml) pass promtool's linter and their unit tests (rules_test.yml: one hot
//! backend among four has the highest summed Z-score; alerts_test.yml: each alert fires on
//! what should fire it and not on healthy series), and every query of the Grafana dashboard
//! (deploy/grafana/palomar.json) parses. Needs `PALOMAR_TEST_PROMETHEUS` (promtool is looked
//! up next to that binary, then on PATH); skipped without it.

use crate::common;

use serde_json::Value;

#[test]
fn the_rules_and_alerts_pass_the_linter() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    for file in ["deploy/prometheus/rules.yml", "deploy/prometheus/alerts.yml"] {
        let (ok, printed) =
            common::prometheus::run_promtool(&promtool, &["check", "rules", "--lint-fatal", file], None);
        assert!(ok, "promtool check rules --lint-fatal {file} failed:\n{printed}");
    }
}

#[test]
fn the_summed_zscore_ranks_the_hot_backend_first() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    let args = ["test", "rules", "deploy/prometheus/rules_test.yml"];
    let (ok, printed) = common::prometheus::run_promtool(&promtool, &args, None);
    assert!(ok, "promtool test rules failed:\n{printed}");
    assert!(printed.contains("SUCCESS"), "promtool test rules said:\n{printed}");
}

#[test]
fn each_alert_fires_when_it_should_and_only_then() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    let args = ["test", "rules", "deploy/prometheus/alerts_test.yml"];
    let (ok, printed) = common::prometheus::run_promtool(&promtool, &args, None);
    assert!(ok, "promtool test rules failed:\n{printed}");
    let alerts =
        std::fs::read_to_string(common::workspace_root().join("deploy/prometheus/alerts.yml")).expect("alerts");
    let tests =
        std::fs::read_to_string(common::workspace_root().join("deploy/prometheus/alerts_test.yml")).expect("tests");
    for line in alerts.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(tests.contains(&format!("alertname: {line}")), "alerts_test.yml has no case for {line}");
    }
}

/// The dashboard's queries, with its template variables replaced as Grafana would for "All".
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or_default().replace("$site", ".*");
            queries.push((title.clone(), expr));
        }
    }
    queries
}

#[test]
fn every_dashboard_query_parses() {
    let Some(promtool) = common::prometheus::promtool() else { return };
    let text =
        std::fs::read_to_string(common::workspace_root().join("deploy/grafana/palomar.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "palomar");
    for panel in dashboard["panels"].as_array().expect("panels") {
        for key in ["id", "type", "title", "gridPos", "targets", "datasource"] {
            assert!(!panel[key].is_null(), "a panel without {key}: {panel}");
        }
    }
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 10, "{queries:?}");
    // promtool parses a query as a recording rule's expression: one rule per query.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (title, expr)) in queries.iter().enumerate() {
        assert!(!expr.is_empty(), "panel {title} has an empty query");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(expr).expect("quoted")
        ));
    }
    let file = std::env::temp_dir().join(format!("palomar-dashboard-{}.yml", std::process::id()));
    std::fs::write(&file, rules).expect("write the rules");
    let path = file.display().to_string();
    let (ok, printed) = common::prometheus::run_promtool(&promtool, &["check", "rules", &path], None);
    let _ = std::fs::remove_file(&file);
    assert!(ok, "a dashboard query does not parse:\n{printed}");
    // Every metric it reads is one this project exposes or records.
    for (title, expr) in &queries {
        let known = ["palomar_controller_", "dovecot_cluster:", "dovecot_proxy_session_"];
        assert!(known.iter().any(|k| expr.contains(k)), "panel {title} reads no Palomar metric: {expr}");
    }
}
