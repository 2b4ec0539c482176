//! The simulator's network face: one listener per proxy (`/metrics`), two per backend
//! (the doveadm HTTP API, and node_exporter-style `/metrics`), the control API for fault
//! injection, and the tick loop.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, put},
    Json, Router,
};
use domain::doveadm::DovecotLine;
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, task::JoinHandle};

use super::{
    doveadm_api::{self, DoveadmCredentials},
    exposition::PROMETHEUS_TEXT_CONTENT_TYPE,
    stats_listener, DoveadmMode, Faults, Simulator,
};

/// Where each simulated server listens.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Topology {
    pub control_url: String,
    pub proxies: Vec<ProxyEndpoint>,
    pub backends: Vec<BackendEndpoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProxyEndpoint {
    pub site: String,
    pub host: String,
    pub metrics: SocketAddr,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackendEndpoint {
    pub site: String,
    pub host: String,
    pub doveadm: SocketAddr,
    pub metrics: SocketAddr,
}

impl Topology {
    /// `host=http://ip:port` pairs for `DOVEADM_ENDPOINTS`.
    pub fn doveadm_endpoints(&self) -> String {
        self.backends.iter().map(|b| format!("{}=http://{}", b.host, b.doveadm)).collect::<Vec<_>>().join(",")
    }

    /// A Prometheus `file_sd` target list: every proxy and backend with its `site` and `host` labels.
    pub fn file_sd(&self) -> serde_json::Value {
        let proxies = self.proxies.iter().map(|p| (p.metrics, &p.site, &p.host, "proxy"));
        let backends = self.backends.iter().map(|b| (b.metrics, &b.site, &b.host, "backend"));
        serde_json::Value::Array(
            proxies
                .chain(backends)
                .map(|(addr, site, host, role)| {
                    serde_json::json!({"targets": [addr.to_string()], "labels": {"site": site, "host": host, "role": role}})
                })
                .collect(),
        )
    }
}

/// A running simulator. Dropping it stops every listener and the tick loop.
pub struct RunningSimulator {
    pub sim: Arc<Simulator>,
    pub topology: Topology,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// How to run the servers.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub ip: IpAddr,
    /// The control API's address (port 0: any free port).
    pub control: SocketAddr,
    pub credentials: DoveadmCredentials,
    /// The Dovecot CE line whose doveadm answers the backends give where the lines differ.
    pub line: DovecotLine,
    /// How often the world advances; `None` leaves ticking to the caller (tests).
    pub tick: Option<Duration>,
}

async fn serve(listener: TcpListener, router: Router) {
    if let Err(err) = axum::serve(listener, router).await {
        tracing::warn!(error = %err, "simulator listener stopped");
    }
}

/// Binds every listener and starts the tick loop.
pub async fn start(sim: Arc<Simulator>, options: ServeOptions) -> std::io::Result<RunningSimulator> {
    let mut tasks = Vec::new();
    let mut topology = Topology::default();
    for (site, host) in sim.proxies() {
        let listener = TcpListener::bind((options.ip, 0)).await?;
        let addr = listener.local_addr()?;
        let router = stats_listener::router(sim.clone(), host.clone());
        tasks.push(tokio::spawn(serve(listener, router)));
        topology.proxies.push(ProxyEndpoint { site, host, metrics: addr });
    }
    let mut doveadm_addrs = BTreeMap::new();
    for backend in sim.backends() {
        let metrics_listener = TcpListener::bind((options.ip, 0)).await?;
        let metrics = metrics_listener.local_addr()?;
        let router =
            Router::new().route("/metrics", get(backend_metrics)).with_state((sim.clone(), backend.host.clone()));
        tasks.push(tokio::spawn(serve(metrics_listener, router)));
        let doveadm_listener = TcpListener::bind((options.ip, 0)).await?;
        let doveadm = doveadm_listener.local_addr()?;
        doveadm_addrs.insert(backend.host.clone(), (doveadm, Some(doveadm_listener)));
        topology.backends.push(BackendEndpoint { site: backend.site, host: backend.host, doveadm, metrics });
    }
    tasks.push(tokio::spawn(doveadm_supervisor(sim.clone(), doveadm_addrs, options.credentials.clone(), options.line)));

    let control_listener = TcpListener::bind(options.control).await?;
    topology.control_url = format!("http://{}", control_listener.local_addr()?);
    let control = Router::new()
        .route("/topology", get(|State((_, t)): State<(Arc<Simulator>, Topology)>| async move { Json(t) }))
        .route("/backends", get(|State((s, _)): State<(Arc<Simulator>, Topology)>| async move { Json(s.backends()) }))
        .route("/moves", get(|State((s, _)): State<(Arc<Simulator>, Topology)>| async move { Json(s.moves()) }))
        .route("/faults/{host}", put(set_faults).delete(clear_faults))
        .route("/site-faults/{site}", put(set_site_faults).delete(clear_site_faults))
        .route("/links/{from}/{to}", put(cut_link).delete(restore_link))
        .route("/geodb", get(geodb_health))
        .with_state((sim.clone(), topology.clone()));
    tasks.push(tokio::spawn(serve(control_listener, control)));

    if let Some(tick) = options.tick {
        tasks.push(spawn_ticker(sim.clone(), tick));
    }
    Ok(RunningSimulator { sim, topology, tasks })
}

fn spawn_ticker(ticker: Arc<Simulator>, tick: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(err) = ticker.tick(tick).await {
                tracing::warn!(error = %err, "simulator tick failed; retrying next tick");
            }
        }
    })
}

/// Keeps each backend's doveadm listener open or closed as its faults say.
async fn doveadm_supervisor(
    sim: Arc<Simulator>,
    mut listeners: BTreeMap<String, (SocketAddr, Option<TcpListener>)>,
    credentials: DoveadmCredentials,
    line: DovecotLine,
) {
    let mut running: BTreeMap<String, JoinHandle<()>> = BTreeMap::new();
    loop {
        for (host, (addr, pending)) in listeners.iter_mut() {
            let unreachable = sim.faults(host).is_some_and(|f| f.doveadm == DoveadmMode::Unreachable);
            match (unreachable, running.contains_key(host)) {
                (true, true) => {
                    if let Some(task) = running.remove(host) {
                        task.abort();
                    }
                }
                (false, false) => {
                    let listener = match pending.take() {
                        Some(listener) => Ok(listener),
                        None => TcpListener::bind(*addr).await,
                    };
                    match listener {
                        Ok(listener) => {
                            let router = doveadm_api::router(sim.clone(), host.clone(), credentials.clone(), line);
                            running.insert(host.clone(), tokio::spawn(serve(listener, router)));
                        }
                        Err(err) => tracing::warn!(host, error = %err, "cannot reopen the doveadm listener yet"),
                    }
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn backend_metrics(State((sim, host)): State<(Arc<Simulator>, String)>) -> Response {
    match sim.backend_metrics(&host) {
        Some(body) => ([(header::CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE)], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn set_faults(
    State((sim, _)): State<(Arc<Simulator>, Topology)>,
    Path(host): Path<String>,
    Json(faults): Json<Faults>,
) -> Response {
    match sim.set_faults(&host, faults) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(message) if message.starts_with("no backend") => (StatusCode::NOT_FOUND, message).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, message).into_response(),
    }
}

async fn clear_faults(State((sim, _)): State<(Arc<Simulator>, Topology)>, Path(host): Path<String>) -> Response {
    match sim.set_faults(&host, Faults::default()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(message) => (StatusCode::NOT_FOUND, message).into_response(),
    }
}

async fn set_site_faults(
    State((sim, _)): State<(Arc<Simulator>, Topology)>,
    Path(site): Path<String>,
    Json(faults): Json<Faults>,
) -> Response {
    refused_as_not_found(sim.set_site_faults(&site, faults))
}

async fn clear_site_faults(State((sim, _)): State<(Arc<Simulator>, Topology)>, Path(site): Path<String>) -> Response {
    refused_as_not_found(sim.set_site_faults(&site, Faults::default()))
}

async fn cut_link(
    State((sim, _)): State<(Arc<Simulator>, Topology)>,
    Path((from, to)): Path<(String, String)>,
) -> Response {
    refused_as_not_found(sim.set_link(&from, &to, true))
}

async fn restore_link(
    State((sim, _)): State<(Arc<Simulator>, Topology)>,
    Path((from, to)): Path<(String, String)>,
) -> Response {
    refused_as_not_found(sim.set_link(&from, &to, false))
}

/// 204, or 404 for an unknown site or host, 400 for anything else refused.
fn refused_as_not_found(result: Result<(), String>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(message) if message.starts_with("no ") => (StatusCode::NOT_FOUND, message).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, message).into_response(),
    }
}

/// `GET /geodb`: 200 when the simulator reads its GeoDB, else 503. A test that restarted the
/// GeoDB waits on it before it relies on the simulated backends again.
async fn geodb_health(State((sim, _)): State<(Arc<Simulator>, Topology)>) -> axum::http::StatusCode {
    match sim.geodb().list_sites(domain::PageRequest::first(1)).await {
        Ok(_) => axum::http::StatusCode::OK,
        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
    }
}
