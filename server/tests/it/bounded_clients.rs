//! The clients of outside services are bounded in time and size, and a
//! hanging metrics source cannot cost the leader its lease.
//!
//! Local TCP servers stand in for a doveadm API or a Prometheus that accepts and never
//! answers, and for one that sends a body without end.

use crate::common;
use domain::loops::LoopKind;

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use palomar_core::{
    controller::{Census, Controller, ControllerSettings, Intervals},
    ports::{DoveadmError, LeaderLease, Metrics, MetricsError, SettingTable},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    feature::{Feature, FeatureState, FEATURE_SECTION},
    geodb::ClusterSetting,
    loops::LoopResult,
    metrics::{HostMeasure, HostScore, HostSeries, HostTraffic},
};
use palomar_server::{
    adapters::{doveadm_http::DoveadmHttp, embedded::EmbeddedStore, prometheus::PrometheusMetrics},
    seed::{seed_sample_cluster, SampleSize},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// How a fake server answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Reads the request and never answers.
    Hang,
    /// Answers 200 and streams a body without end (no length: it ends when the client goes).
    Endless,
    /// Answers 200 with a Content-Length far above any cap.
    Declared,
}

/// A server on 127.0.0.1 behaving as told; returns its base URL.
async fn fake_server(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, behaviour));
        }
    });
    format!("http://{addr}")
}

async fn serve(mut socket: TcpStream, behaviour: Behaviour) {
    let mut request = [0u8; 4096];
    let _ = socket.read(&mut request).await;
    match behaviour {
        Behaviour::Hang => {
            // Holds the connection open for longer than any test waits.
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        Behaviour::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            // Bounded all the same (256 MiB), so that a client without a cap ends too.
            for _ in 0..4096 {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Behaviour::Declared => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n[";
            let _ = socket.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
    }
}

fn doveadm_at(url: &str, timeout: Duration) -> DoveadmHttp {
    let endpoints = BTreeMap::from([("be1.example.net".to_string(), url.to_string())]);
    DoveadmHttp::new("http", 8080, None, endpoints).expect("client").with_timeouts(timeout, timeout)
}

#[tokio::test]
async fn doveadm_gives_up_on_a_server_that_never_answers() {
    let url = fake_server(Behaviour::Hang).await;
    let started = Instant::now();
    let err =
        doveadm_at(&url, Duration::from_millis(300)).run_named("be1.example.net", "who", Default::default()).await;
    let took = started.elapsed();
    assert!(matches!(err, Err(DoveadmError::Unreachable { .. })), "{err:?}");
    assert!(took < Duration::from_secs(5), "gave up after {took:?}");
    println!("doveadm: a hanging server was given up after {took:?}");
}

#[tokio::test]
async fn doveadm_refuses_an_answer_past_its_cap() {
    for behaviour in [Behaviour::Endless, Behaviour::Declared] {
        let url = fake_server(behaviour).await;
        let err =
            doveadm_at(&url, Duration::from_secs(20)).run_named("be1.example.net", "who", Default::default()).await;
        match err {
            Err(DoveadmError::BadResponse { reason, .. }) => assert!(reason.contains("larger than 4 MiB"), "{reason}"),
            other => panic!("expected a refused answer, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn prometheus_gives_up_on_a_server_that_never_answers() {
    let url = fake_server(Behaviour::Hang).await;
    let metrics = PrometheusMetrics::new(&url, "").expect("client").with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = metrics.host_traffic(Duration::from_secs(300)).await;
    let took = started.elapsed();
    assert!(matches!(err, Err(MetricsError::Unreachable(_))), "{err:?}");
    assert!(took < Duration::from_secs(5), "gave up after {took:?}");
    println!("prometheus: a hanging server was given up after {took:?}");
}

#[tokio::test]
async fn prometheus_refuses_an_answer_past_its_cap() {
    for behaviour in [Behaviour::Endless, Behaviour::Declared] {
        let url = fake_server(behaviour).await;
        let metrics = PrometheusMetrics::new(&url, "").expect("client").with_timeout(Duration::from_secs(20));
        match metrics.host_traffic(Duration::from_secs(300)).await {
            Err(MetricsError::BadResponse(reason)) => assert!(reason.contains("larger than 16 MiB"), "{reason}"),
            other => panic!("expected a refused answer, got {other:?}"),
        }
    }
}

/// Credentials in a URL never show in the error of a failed request.
#[tokio::test]
async fn errors_do_not_show_url_credentials() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let url = format!("http://prom:prompw@127.0.0.1:{port}");
    let err = PrometheusMetrics::new(&url, "").expect("client").host_traffic(Duration::from_secs(60)).await;
    let text = format!("{:?} {}", err, err.as_ref().err().map(ToString::to_string).unwrap_or_default());
    assert!(matches!(err, Err(MetricsError::Unreachable(_))) && !text.contains("prompw"), "{text}");
    let doveadm = doveadm_at(&format!("http://doveadm:endpointpw@127.0.0.1:{port}"), Duration::from_secs(2));
    let err = doveadm.run_named("be1.example.net", "who", Default::default()).await.expect_err("nothing listens");
    assert!(!format!("{err:?} {err}").contains("endpointpw"), "{err:?}");
}

/// Metrics that never answer, and say when they were first asked.
struct HangingMetrics {
    asked: AtomicBool,
}

#[async_trait]
impl Metrics for HangingMetrics {
    async fn host_traffic(&self, _window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        self.asked.store(true, Ordering::SeqCst);
        std::future::pending().await
    }

    async fn host_scores(&self, _site: &str, _window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        self.asked.store(true, Ordering::SeqCst);
        std::future::pending().await
    }
    async fn host_history(
        &self,
        _site: &str,
        _measure: HostMeasure,
        _end: DateTime<Utc>,
        _range: Duration,
        _step: Duration,
    ) -> Result<Vec<HostSeries>, MetricsError> {
        self.asked.store(true, Ordering::SeqCst);
        std::future::pending().await
    }
}

/// A pass stuck on the metrics for three lease lifetimes: the lease is renewed throughout,
/// with the same token, so no other instance could have taken it meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_metrics_source_does_not_cost_the_lease() {
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 2, groups_per_site: 4, users: 10 };
    let report = seed_sample_cluster(store.clone(), size, 1).await.expect("seed");
    let site = report.sites[0].clone();
    let setting = ClusterSetting {
        section: FEATURE_SECTION.into(),
        site_id: site.id,
        backend_id: uuid::Uuid::nil(),
        setting_name: Feature::HostFailure.as_str().into(),
        setting_value: FeatureState::Dryrun.as_str().into(),
    };
    store.put_setting(&setting).await.expect("feature dry");
    let metrics = Arc::new(HangingMetrics { asked: AtomicBool::new(false) });
    let ttl = Duration::from_secs(3);
    let settings = ControllerSettings {
        intervals: Intervals {
            lease_ttl: ttl,
            pass: Duration::from_secs(1),
            reachability: Duration::from_secs(1),
            ..Intervals::default()
        },
        ..common::controller_settings(&site.name, "leader")
    };
    let ports = common::embedded_ports(store.clone(), metrics.clone());
    let controller = Controller::new(ports, Arc::new(Census::default()), settings);
    let running = palomar_core::controller::spawn(controller.clone());

    let deadline = Instant::now() + Duration::from_secs(10);
    while !metrics.asked.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the pass never asked the metrics");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = store.current(&site.name).await.expect("lease").expect("the controller leads");
    let stuck_since = Instant::now();
    let mut checks = 0;
    while stuck_since.elapsed() < ttl * 3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = store.current(&site.name).await.expect("lease");
        assert_eq!(now.as_ref(), Some(&first), "lost the lease after {:?} of a stuck pass", stuck_since.elapsed());
        assert_eq!(controller.held_lease().as_ref(), Some(&first));
        checks += 1;
    }
    let status = controller.status().await;
    let leader = &status.loops[&domain::loops::RunKey::Loop(LoopKind::Leader)];
    assert_eq!(leader.result, LoopResult::Ran, "{}", leader.detail);
    assert!(status.this_instance_leads);
    running.abort();
    println!("lease held with token {} through {checks} checks over {:?} of a hung pass", first.token, ttl * 3);
}
