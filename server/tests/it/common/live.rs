//! A site on the real parts, as the end-to-end tests run the controller: the GeoDB and the
//! controller's tables in Cassandra, the lease and plans in Redis, metrics through Prometheus
//! (with the shipped recording rules) scraping the simulator, and the simulated backends'
//! doveadm HTTP API.

use std::{sync::Arc, time::Duration};

use palomar_core::{
    controller::Census,
    ports::{Ports, SystemClock},
};
use palomar_server::adapters::{
    cassandra::CassandraStore,
    doveadm_http::{DoveadmAuth, DoveadmHttp},
    prometheus::PrometheusMetrics,
    redis_lease::RedisLease,
    redis_plans::RedisPlans,
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, RunningSimulator, ServeOptions},
    SimSettings, Simulator,
};

use super::prometheus::RunningPrometheus;

/// The running parts; dropping it stops the simulator's servers and Prometheus.
pub struct LiveSite {
    pub sim: Arc<Simulator>,
    pub running: RunningSimulator,
    pub prometheus: RunningPrometheus,
    pub ports: Ports,
    /// Taken once, at the start.
    pub census: Arc<Census>,
}

/// Starts the simulator on `store` with `settings`, a Prometheus named `name` scraping it, and
/// the ports on all of them.
pub async fn start_live_site(
    store: Arc<CassandraStore>,
    redis_url: &str,
    prometheus_bin: &str,
    settings: SimSettings,
    name: &str,
) -> LiveSite {
    let sim = Simulator::load(store.clone(), Arc::new(SystemClock), settings, 5).await.unwrap();
    let options = ServeOptions {
        ip: [127, 0, 0, 1].into(),
        control: "127.0.0.1:0".parse().unwrap(),
        credentials: DoveadmCredentials { password: Some("e2e".into()), api_key: None },
        line: domain::doveadm::DovecotLine::Ce23,
        tick: Some(Duration::from_millis(250)),
    };
    let running = start(sim.clone(), options).await.unwrap();
    let prometheus = super::prometheus::start(prometheus_bin, &running.topology, name);
    let endpoints =
        running.topology.backends.iter().map(|b| (b.host.clone(), format!("http://{}", b.doveadm))).collect();
    let doveadm =
        Arc::new(DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password("e2e".into())), endpoints).unwrap());
    let census = Arc::new(Census::default());
    census
        .refresh(store.as_ref(), store.as_ref(), store.as_ref(), Duration::from_secs(3600), &SystemClock)
        .await
        .unwrap();
    let ports = Ports {
        geodb: store.clone(),
        operators: store.clone(),
        audit: store.clone(),
        members: store.clone(),
        records: store,
        plans: Arc::new(RedisPlans::connect(redis_url).await.unwrap()),
        lease: Arc::new(RedisLease::connect(redis_url).await.unwrap()),
        metrics: Arc::new(PrometheusMetrics::new(&prometheus.url, "palomar-sim").unwrap()),
        doveadm,
        resolver: Arc::new(palomar_server::adapters::SyntaxOnlyResolver),
        clock: Arc::new(SystemClock),
    };
    LiveSite { sim, running, prometheus, ports, census }
}
