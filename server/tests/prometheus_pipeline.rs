//! The metrics pipeline on a real Prometheus (Debian's package): the simulator's proxies and
//! backends are scraped with a short interval, the shipped recording rules compute Z-scores,
//! and the Prometheus adapter and the embedded adapter pass the same checks on the same traffic.

use std::{collections::BTreeMap, net::TcpListener, process::Stdio, sync::Arc, time::Duration};

use app::ports::{Metrics, SystemClock};
use palomar_server::{
    adapters::{embedded::EmbeddedStore, prometheus::PrometheusMetrics, sim_metrics::SimulatorMetrics},
    seed::{seed_sample_cluster, SampleSize},
    sim::{
        doveadm_api::DoveadmCredentials,
        servers::{start, ServeOptions},
        Faults, SimSettings, Simulator,
    },
};
use tokio::process::Command;

/// How close the measured failure ratio must be to the injected one.
const RATIO_TOLERANCE: f64 = 0.06;
const INJECTED_RATIO: f64 = 0.30;

/// The checks every metrics adapter must pass on the traffic below.
async fn conformance(name: &str, metrics: &dyn Metrics, site: &str, failing: &str, hot: &str, healthy: &str) -> f64 {
    let traffic = metrics.host_traffic(Duration::from_secs(300)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let ratio = |host: &str| traffic.get(host).and_then(|t| t.failure_ratio()).unwrap_or_else(|| panic!("{name}: no traffic for {host}"));
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(19090)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_embedded_metrics_agree_on_simulated_traffic() {
    let Ok(prometheus) = std::env::var("PALOMAR_TEST_PROMETHEUS") else {
        eprintln!("PALOMAR_TEST_PROMETHEUS is not set: skipping (scripts/test.sh sets it)");
        return;
    };
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 30, users: 3000 };
    let report = seed_sample_cluster(store.clone(), size, 1).await.unwrap();
    let site = report.sites[0].name.clone();
    let settings = SimSettings { logins_per_second: 60.0, deliveries_per_second: 30.0, score_interval: Duration::from_secs(1), ..SimSettings::default() };
    let sim = Simulator::load(store, Arc::new(SystemClock), settings, 11).await.unwrap();
    let (failing, hot, healthy) = (format!("be1.{site}.example.net"), format!("be2.{site}.example.net"), format!("be3.{site}.example.net"));
    sim.set_faults(&failing, Faults { login_fail_percent: 30.0, delivery_fail_percent: 30.0, ..Faults::default() }).unwrap();
    sim.set_faults(&hot, Faults::hot()).unwrap();
    let options = ServeOptions {
        ip: [127, 0, 0, 1].into(),
        control: "127.0.0.1:0".parse().unwrap(),
        credentials: DoveadmCredentials { password: Some("x".into()), api_key: None },
        tick: Some(Duration::from_millis(250)),
    };
    let running = start(sim.clone(), options).await.unwrap();

    let dir = std::env::temp_dir().join(format!("palomar-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("targets.json"), running.topology.file_sd().to_string()).unwrap();
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus/rules.yml")).unwrap();
    std::fs::write(dir.join("rules.yml"), rules.replace("interval: 15s", "interval: 1s")).unwrap();
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus/prometheus.yml")).unwrap();
    let config = shipped.replace("15s", "1s").replace("refresh_interval: 30s", "refresh_interval: 1s").replace("job_name: palomar", "job_name: palomar-sim");
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let mut child = Command::new(&prometheus)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("prometheus.log")).unwrap()))
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus");
    let url = format!("http://127.0.0.1:{port}");

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
        let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
        panic!("Prometheus never had enough data; its log:\n{log}");
    }
    let via_prometheus = conformance("prometheus", &prom, &site, &failing, &hot, &healthy).await;
    let embedded_ratio = conformance("embedded", &embedded, &site, &failing, &hot, &healthy).await;
    println!("failure ratio of {failing}: injected {INJECTED_RATIO}, via Prometheus {via_prometheus:.3}, embedded {embedded_ratio:.3} (tolerance {RATIO_TOLERANCE})");

    // The job filter really filters.
    let other_job = PrometheusMetrics::new(&url, "some-other-job").unwrap();
    assert!(other_job.host_traffic(Duration::from_secs(300)).await.unwrap().is_empty());
    let _ = child.kill().await;
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}
