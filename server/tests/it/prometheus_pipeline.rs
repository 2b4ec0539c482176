//! The metrics pipeline on a real Prometheus (Debian's package): the simulator's proxies and
//! backends are scraped with a short interval, the shipped recording rules compute Z-scores,
//! and the Prometheus adapter and the embedded adapter pass the same checks on the same traffic,
//! current figures, histories and the passes a replay reads alike.

use crate::common;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use domain::metrics::{HistoryGrid, HostMeasure};

use chrono::Utc;
use palomar_core::ports::{Metrics, SystemClock};
use palomar_server::{
    adapters::{embedded::EmbeddedStore, prometheus::PrometheusMetrics, sim_metrics::SimulatorMetrics},
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, ServeOptions},
    Faults, SimSettings, Simulator,
};

/// How close the measured failure ratio must be to the injected one.
const RATIO_TOLERANCE: f64 = 0.06;
const INJECTED_RATIO: f64 = 0.30;

/// The checks every metrics adapter must pass on the traffic below.
async fn conformance(name: &str, metrics: &dyn Metrics, site: &str, failing: &str, hot: &str, healthy: &str) -> f64 {
    let traffic = metrics.host_traffic(Duration::from_secs(300)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let ratio = |host: &str| {
        traffic.get(host).and_then(|t| t.failure_ratio()).unwrap_or_else(|| panic!("{name}: no traffic for {host}"))
    };
    let failing_ratio = ratio(failing);
    assert!((failing_ratio - INJECTED_RATIO).abs() < RATIO_TOLERANCE, "{name}: failing backend ratio {failing_ratio}");
    assert!(ratio(healthy) < 0.02, "{name}: healthy backend ratio {}", ratio(healthy));
    assert!(traffic.get(healthy).is_some_and(|t| t.logins() > 50.0), "{name}: logins counted");

    let scores = metrics.host_scores(site, Duration::from_secs(3600)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for s in &scores {
        *sums.entry(s.host.as_str()).or_default() += s.average;
        assert!(s.samples_24h > 0, "{name}: sample counts");
    }
    let hottest = sums.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(h, _)| *h);
    assert_eq!(hottest, Some(hot), "{name}: the hot backend has the highest summed Z-score: {sums:?}");
    failing_ratio
}

/// The three measures' histories over the last two minutes, on the same traffic: points for
/// the site's backends, oldest first, on the grid asked for, and values that agree with the
/// faults injected.
async fn history_conformance(name: &str, metrics: &dyn Metrics, site: &str, failing: &str, hot: &str) {
    let (end, range, step) = (Utc::now(), Duration::from_secs(120), Duration::from_secs(5));
    let mut last_points: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for measure in [HostMeasure::LoginsPerMinute, HostMeasure::FailureRatio, HostMeasure::SummedZScore] {
        let series = metrics
            .host_history(site, measure, end, range, step)
            .await
            .unwrap_or_else(|e| panic!("{name} {measure:?}: {e}"));
        for s in &series {
            assert!(!s.points.is_empty() && s.points.len() <= 25, "{name} {measure:?}: {} points", s.points.len());
            assert!(s.points.windows(2).all(|w| w[0].0 < w[1].0), "{name} {measure:?}: oldest first");
            assert!(s.points.iter().all(|(t, _)| *t <= end && *t >= end - chrono::Duration::seconds(120)));
        }
        let last: BTreeMap<&str, f64> =
            series.iter().filter_map(|s| Some((s.host.as_str(), s.points.last()?.1))).collect();
        assert!(last.contains_key(failing) && last.contains_key(hot), "{name} {measure:?}: hosts {last:?}");
        last_points.insert(format!("{measure:?}"), last.into_iter().map(|(h, v)| (h.to_string(), v)).collect());
    }
    let last = |measure: &str, host: &str| last_points[measure].get(host).copied().unwrap_or(f64::NAN);
    assert!(last("LoginsPerMinute", failing) > 60.0, "{name}: logins per minute {}", last("LoginsPerMinute", failing));
    let ratio = last("FailureRatio", failing);
    assert!((ratio - INJECTED_RATIO).abs() < RATIO_TOLERANCE, "{name}: failure ratio over time {ratio}");
    println!(
        "{name} history: {failing} at {:.0} logins a minute with a failure ratio of {ratio:.3}; {hot} summed Z-score {:.2}",
        last("LoginsPerMinute", failing),
        last("SummedZScore", hot)
    );
    let scores: &BTreeMap<String, f64> = &last_points["SummedZScore"];
    let hottest = scores.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(h, _)| h.as_str());
    assert_eq!(hottest, Some(hot), "{name}: the hot backend has the highest summed Z-score: {scores:?}");
}

/// The passes of the last two minutes as a replay reads them (`pass_history`): one per time of
/// the grid, in order, the latest with what `host_traffic` and `host_scores` answer now.
async fn pass_conformance(name: &str, metrics: &dyn Metrics, site: &str, failing: &str, hot: &str) {
    let end = Utc::now();
    let grid = HistoryGrid { start: end - chrono::Duration::seconds(120), end, step_secs: 30 };
    let (traffic_window, score_window) = (Duration::from_secs(300), Duration::from_secs(3600));
    let passes =
        metrics.pass_history(site, &grid, traffic_window, score_window).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let times: Vec<_> = passes.iter().map(|p| p.at).collect();
    assert_eq!(times, grid.times().collect::<Vec<_>>(), "{name}: one pass per time of the grid");
    let last = passes.last().unwrap_or_else(|| panic!("{name}: no pass"));
    let traffic = last.traffic.as_ref().unwrap_or_else(|| panic!("{name}: no traffic at the last pass"));
    let ratio = traffic.get(failing).and_then(|t| t.failure_ratio()).unwrap_or(f64::NAN);
    assert!((ratio - INJECTED_RATIO).abs() < RATIO_TOLERANCE, "{name}: failure ratio at the last pass {ratio}");
    let scores = last.scores.as_ref().unwrap_or_else(|| panic!("{name}: no scores at the last pass"));
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for s in scores {
        *sums.entry(s.host.as_str()).or_default() += s.average;
    }
    let hottest = sums.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(h, _)| *h);
    assert_eq!(hottest, Some(hot), "{name}: the hot backend is the hottest at the last pass: {sums:?}");
    println!("{name} passes: {} on a 30 s grid, {failing} at a failure ratio of {ratio:.3} at the last", passes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_embedded_metrics_agree_on_simulated_traffic() {
    let Some(prometheus) = common::prometheus::binary() else { return };
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 30, users: 3000 };
    let report = seed_sample_cluster(store.clone(), size, 1).await.unwrap();
    let site = report.sites[0].name.clone();
    let settings = SimSettings {
        logins_per_second: 60.0,
        deliveries_per_second: 30.0,
        score_interval: Duration::from_secs(1),
        ..SimSettings::default()
    };
    let sim = Simulator::load(store, Arc::new(SystemClock), settings, 11).await.unwrap();
    let (failing, hot, healthy) =
        (format!("be1.{site}.example.net"), format!("be2.{site}.example.net"), format!("be3.{site}.example.net"));
    sim.set_faults(&failing, Faults { login_fail_percent: 30.0, delivery_fail_percent: 30.0, ..Faults::default() })
        .unwrap();
    sim.set_faults(&hot, Faults::hot()).unwrap();
    let options = ServeOptions {
        ip: [127, 0, 0, 1].into(),
        control: "127.0.0.1:0".parse().unwrap(),
        credentials: DoveadmCredentials { password: Some("x".into()), api_key: None },
        line: domain::doveadm::DovecotLine::Ce23,
        tick: Some(Duration::from_millis(250)),
    };
    let running = start(sim.clone(), options).await.unwrap();

    let prometheus = common::prometheus::start(&prometheus, &running.topology, "pipeline");
    let url = prometheus.url.clone();

    let prom = PrometheusMetrics::new(&url, "palomar-sim").unwrap();
    let embedded = SimulatorMetrics::new(sim.clone());
    // Wait until Prometheus has scraped enough and recorded Z-scores for every host.
    let mut ready = false;
    for _ in 0..90 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let traffic = prom.host_traffic(Duration::from_secs(300)).await.unwrap_or_default();
        let scores = prom.host_scores(&site, Duration::from_secs(3600)).await.unwrap_or_default();
        let enough = traffic.get(&failing).is_some_and(|t| t.logins() > 400.0) && scores.len() >= 9;
        if enough {
            ready = true;
            break;
        }
    }
    if !ready {
        panic!("Prometheus never had enough data; its log:\n{}", prometheus.log());
    }
    let via_prometheus = conformance("prometheus", &prom, &site, &failing, &hot, &healthy).await;
    let embedded_ratio = conformance("embedded", &embedded, &site, &failing, &hot, &healthy).await;
    history_conformance("prometheus", &prom, &site, &failing, &hot).await;
    history_conformance("embedded", &embedded, &site, &failing, &hot).await;
    pass_conformance("prometheus", &prom, &site, &failing, &hot).await;
    pass_conformance("embedded", &embedded, &site, &failing, &hot).await;
    println!("failure ratio of {failing}: injected {INJECTED_RATIO}, via Prometheus {via_prometheus:.3}, embedded {embedded_ratio:.3} (tolerance {RATIO_TOLERANCE})");

    // The job filter really filters.
    let other_job = PrometheusMetrics::new(&url, "some-other-job").unwrap();
    assert!(other_job.host_traffic(Duration::from_secs(300)).await.unwrap().is_empty());
    drop(prometheus);
    drop(running);
}
