//! The real stack of a fault run, all on loopback: the test Cassandra (shared, killed and
//! resumed through tools/cassandra), a Redis and a Prometheus of the run's own, the simulator
//! in this process with a clock that can jump, and two `palomar serve` for site dc1a, which
//! reach Cassandra and Redis through chaos proxies.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use palomar_core::ports::{Clock, SiteTable};
use palomar_server::{
    adapters::cassandra::CassandraStore,
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, RunningSimulator, ServeOptions},
    SimSettings, Simulator,
};
use tokio::process::{Child, Command};

use crate::common::{self, chaos::ChaosProxy, prometheus::RunningPrometheus};

/// The site both servers control.
pub const SITE: &str = "dc1a";
/// Seeded users: the census must find every one of them after every fault.
pub const USERS: u64 = 1200;
/// The controller's timeouts in this run (seconds): a move that has not started within the
/// first or finished within the second is forced.
pub const START_TIMEOUT: u64 = 6;
pub const FINISH_TIMEOUT: u64 = 40;
/// The controller's pass and its lease's lifetime (seconds).
pub const PASS: u64 = 1;
pub const LEASE_TTL: u64 = 5;

/// The simulator's clock: the real one plus an offset a fault sets.
#[derive(Default)]
pub struct JumpingClock {
    offset_secs: AtomicI64,
}

impl JumpingClock {
    pub fn jump(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::SeqCst);
    }
}

impl Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Sends `signal` (`KILL`, `STOP`, `CONT`) to a process.
pub fn signal(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
}

/// A child process the run owns, started again with the same command after a kill.
pub struct Owned {
    name: String,
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Owned {
    fn new(name: &str, program: &str, args: Vec<String>, env: Vec<(String, String)>, dir: &Path) -> Self {
        let log = dir.join(format!("{name}.log"));
        Self { name: name.into(), program: program.into(), args, env, log, child: None }
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("a log file");
        let err = log.try_clone().expect("a log file");
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.name));
        self.child = Some(child);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

pub struct Stack {
    pub dir: PathBuf,
    /// The store the checker reads, straight on Cassandra (not through a proxy).
    pub store: Arc<CassandraStore>,
    pub site_id: uuid::Uuid,
    pub hosts: Vec<String>,
    pub groups: Vec<String>,
    pub sim: RunningSimulator,
    pub clock: Arc<JumpingClock>,
    pub redis: Owned,
    pub prometheus: RunningPrometheus,
    pub servers: Vec<Owned>,
    /// Where each server answers, `http://127.0.0.1:port`.
    pub urls: Vec<String>,
    pub geodb_proxy: ChaosProxy,
    pub redis_proxy: ChaosProxy,
    pub token: String,
}

impl Stack {
    pub async fn start(seed: u64) -> Stack {
        let cassandra = common::cassandra_address().expect("PALOMAR_TEST_CASSANDRA: the fault run needs Cassandra");
        let prometheus = common::prometheus::binary().expect("PALOMAR_TEST_PROMETHEUS: the fault run needs Prometheus");
        let dir = std::env::temp_dir().join(format!("palomar-chaos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a run directory");

        let store = Arc::new(common::cassandra_store("chaos_run").await.expect("Cassandra"));
        let size = SampleSize { sites: 2, backends_per_site: 4, groups_per_site: 12, users: USERS as usize * 2 };
        let report = seed_sample_cluster(store.clone(), size, (seed % 1_000_000) as usize).await.expect("seeding");
        let site = report.sites.iter().find(|s| s.name == SITE).expect("site dc1a").clone();
        let token = super::traffic::admin_token(store.clone()).await;
        // The test node does not flush schema changes (a start-up speed flag): a graceful
        // restart does, so that a crash of the node during the run keeps the run's keyspace.
        super::faults::cassandra("stop").await;
        super::faults::cassandra("resume").await;
        while store.get_site(site.id).await.is_err() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        let clock = Arc::new(JumpingClock::default());
        let settings = SimSettings {
            logins_per_second: 40.0,
            deliveries_per_second: 20.0,
            user_move_rate: 20.0,
            score_interval: Duration::from_secs(1),
            ..SimSettings::default()
        };
        let sim = Simulator::load(store.clone(), clock.clone(), settings, seed).await.expect("the simulator");
        let doveadm_password = format!("chaos-{seed}");
        let options = ServeOptions {
            ip: [127, 0, 0, 1].into(),
            control: "127.0.0.1:0".parse().expect("an address"),
            credentials: DoveadmCredentials { password: Some(doveadm_password.clone()), api_key: None },
            line: domain::doveadm::DovecotLine::Ce23,
            tick: Some(Duration::from_millis(250)),
        };
        let sim = start(sim, options).await.expect("the simulator's listeners");
        // In name order, so that a seed draws the same backends in every run (ids are random).
        let mut hosts: Vec<String> =
            sim.topology.backends.iter().filter(|b| b.site == SITE).map(|b| b.host.clone()).collect();
        hosts.sort();
        let groups = (1..=12).map(|n| format!("default-{n}")).collect();
        let prometheus = common::prometheus::start(&prometheus, &sim.topology, "chaos");

        let redis_port = free_port();
        let mut redis = Owned::new(
            "redis",
            "redis-server",
            ["--port", &redis_port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
                .map(String::from)
                .to_vec(),
            Vec::new(),
            &dir,
        );
        redis.start();

        let geodb_proxy = ChaosProxy::start(cassandra.parse::<SocketAddr>().expect("host:port")).await;
        let redis_proxy = ChaosProxy::start(SocketAddr::from(([127, 0, 0, 1], redis_port))).await;

        let palomar = env!("CARGO_BIN_EXE_palomar");
        let (mut servers, mut urls) = (Vec::new(), Vec::new());
        for name in ["a", "b"] {
            let url = format!("http://127.0.0.1:{}", free_port());
            let env = server_env(&url, name, &store, &geodb_proxy, &redis_proxy, &prometheus, &sim, &doveadm_password);
            let mut server = Owned::new(&format!("server-{name}"), palomar, vec!["serve".into()], env, &dir);
            server.start();
            servers.push(server);
            urls.push(url);
        }
        let stack = Stack {
            dir,
            store,
            site_id: site.id,
            hosts,
            groups,
            sim,
            clock,
            redis,
            prometheus,
            servers,
            urls,
            geodb_proxy,
            redis_proxy,
            token,
        };
        for i in 0..stack.servers.len() {
            stack.wait_server(i, Duration::from_secs(90)).await;
        }
        stack
    }

    /// Waits until server `i` answers `/healthz`; panics with its log if it does not in time.
    pub async fn wait_server(&self, i: usize, limit: Duration) {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("a client");
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            let answer = client.get(format!("{}/healthz", self.urls[i])).send().await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("server {i} did not answer /healthz within {limit:?}; its log:\n{}", self.servers[i].log_tail());
    }
}

#[allow(clippy::too_many_arguments)]
fn server_env(
    url: &str,
    name: &str,
    store: &CassandraStore,
    geodb: &ChaosProxy,
    redis: &ChaosProxy,
    prometheus: &RunningPrometheus,
    sim: &RunningSimulator,
    doveadm_password: &str,
) -> Vec<(String, String)> {
    let site_root =
        std::env::var("CARGO_TARGET_DIR").map(|t| format!("{t}/site")).unwrap_or_else(|_| "target/site".into());
    let pairs: Vec<(&str, String)> = vec![
        ("CASSANDRA_SERVERS", "127.0.0.1".into()),
        ("CASSANDRA_PORT", geodb.addr.port().to_string()),
        ("CASSANDRA_LOCAL_DC", "datacenter1".into()),
        ("CASSANDRA_KEYSPACE", store.keyspace().to_string()),
        ("CELERY_BROKER_URL", format!("redis://127.0.0.1:{}/1", redis.addr.port())),
        ("CONTROLLER_API_URL", url.into()),
        ("CONTROLLER_INSTANCE", format!("chaos-{name}")),
        ("CLUSTER_SITE", SITE.into()),
        ("SESSION_SECRET", "c".repeat(64)),
        ("LEPTOS_SITE_ROOT", site_root),
        ("BACKEND_HOST_CHECK", "syntax".into()),
        ("DOVEADM_ENDPOINTS", sim.topology.doveadm_endpoints()),
        ("DOVEADM_PASSWORD", doveadm_password.into()),
        ("PROMETHEUS_URL", prometheus.url.clone()),
        ("PROMETHEUS_JOB_NAME", "palomar-sim".into()),
        ("CENSUS_INTERVAL_SECS", "10".into()),
        ("CENSUS_CHANGE_MARGIN_SECS", "0".into()),
        ("CONTROLLER_PASS_INTERVAL_SECS", PASS.to_string()),
        ("CONTROLLER_LEASE_TTL_SECS", LEASE_TTL.to_string()),
        ("GROUP_MOVE_START_TIMEOUT_SECS", START_TIMEOUT.to_string()),
        ("GROUP_MOVE_FINISH_TIMEOUT_SECS", FINISH_TIMEOUT.to_string()),
        ("GROUP_MOVE_SUPERVISION_INTERVAL_SECS", "1".into()),
        ("BACKEND_REACHABILITY_INTERVAL_SECS", "2".into()),
        ("HOST_FAILURE_WINDOW_SECS", "20".into()),
        ("HOST_FAILURE_COOL_TIME_SECS", "10".into()),
        ("HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS", "10".into()),
        ("HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS", "30".into()),
        ("GROUP_BALANCE_PASS_INTERVAL_SECS", "20".into()),
        ("API_REQUESTS_PER_SECOND", "1000".into()),
        ("RUST_LOG", "warn,palomar=info,palomar_core=info".into()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
