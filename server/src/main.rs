//! `palomar`: the cluster controller and its admin UI.
//!
//! Subcommands (clap; `palomar help [COMMAND]` or `--help` for each, with the settings it reads):
//!   serve                          run on Cassandra and Redis (the default with no subcommand)
//!   demo                           run on the embedded store with a sample cluster
//!   config                         print the effective configuration, secrets redacted
//!   operator add --role ROLE NAME  create an operator; password from PALOMAR_OPERATOR_PASSWORD or stdin
//!   simulate [seed|fault|topology] the cluster simulator (see `palomar simulate --help`)
//!
//! The arguments are parsed before anything else happens: `--help` and argument errors (exit 2)
//! read no configuration and contact nothing. The configuration is then loaded from the
//! environment by the subcommands that need it; a configuration or runtime error exits 1.

mod operator_cli;

/// Rendering a page allocates and frees many small strings on every worker thread at once;
/// glibc's allocator spent a quarter of the server's time under load in malloc, free and its
/// arena locks. mimalloc keeps per-thread free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use domain::logtext::Untrusted;
use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use domain::{
    feature::{Feature, FeatureState, FEATURE_SECTION},
    geodb::ClusterSetting,
    Role,
};
use leptos::prelude::LeptosOptions;
use palomar_core::{
    controller::{Census, Controller},
    ports::{
        AuditLog, BalancePlanStore, Doveadm, GeoDb, GroupMembers, HostResolver, LeaderLease, Metrics, OperatorStore,
        Ports, RecordStore, SettingTable, SystemClock,
    },
    services::{Caller, Services},
};
use palomar_server::{
    adapters::{
        cassandra::CassandraStore,
        doveadm_http::{DoveadmAuth, DoveadmHttp},
        embedded::EmbeddedStore,
        prometheus::PrometheusMetrics,
        redis_lease::RedisLease,
        redis_plans::RedisPlans,
        redis_sessions::RedisSessionStore,
        sim_metrics::SimulatorMetrics,
        DnsResolver, SyntaxOnlyResolver,
    },
    config::{parse_endpoints, Config, DoveadmCredential, HostCheck, Secret},
    request_load::{self, RequestLoad},
    seed::{seed_sample_cluster, SampleSize},
    simulate_cli::{self, credentials, SimulateArgs},
    web::{bind, router, serve_until, SessionSettings},
};
use palomar_sim::{
    servers::{start, ServeOptions},
    SimSettings, Simulator,
};
use rand::{distributions::Alphanumeric, Rng};
use tracing_subscriber::EnvFilter;

const SERVE_SETTINGS: &str = "\
Settings (environment; each is in the README's Settings table, `palomar config` shows their values):
  CASSANDRA_*          the GeoDB: CASSANDRA_SERVERS, CASSANDRA_PORT, CASSANDRA_KEYSPACE, CASSANDRA_LOCAL_DC,
                       CASSANDRA_USERNAME, CASSANDRA_PASSWORD, CASSANDRA_CONSISTENCY, CASSANDRA_REPLICATION, …
  CELERY_BROKER_URL    Redis: sessions, the leader lease, group-balance plans
  SESSION_SECRET       required, at least 64 characters; SESSION_IDLE_TIMEOUT_SECS,
                       SESSION_ABSOLUTE_TIMEOUT_SECS, SESSION_MAX_MOVE_STREAMS
  API_REQUESTS_PER_SECOND
                       requests per API token and second
  CONTROLLER_API_URL   where to listen
  CONTROLLER_PUBLIC_URL
                       the URL browsers use (default CONTROLLER_API_URL): changes are accepted
                       only from its origin; https sets the cookies' Secure flag
  TRUSTED_PROXIES      proxies whose X-Forwarded-For names the client
  LEPTOS_SITE_ROOT     the built CSS, JS and wasm
  PROMETHEUS_URL, PROMETHEUS_JOB_NAME
                       the metrics
  DOVEADM_*            the backends' doveadm API: DOVEADM_HTTP_PORT, DOVEADM_HTTP_SCHEME, DOVEADM_API_KEY,
                       DOVEADM_PASSWORD, DOVEADM_ENDPOINTS
  DOVECOT_EDITION, DOVECOT_PROXIES, CLUSTER_DEFAULT_GROUP_COUNT
                       pro or ce; the CE proxies whose auth cache a move flushes; default-N groups
  ROUTE_API_TOKEN, ROUTE_API_CACHE_SECS
                       the route API for Dovecot CE proxies (off without a token)
  CLUSTER_SITE, DRY_RUN, CONTROLLER_INSTANCE, CONTROLLER_*, BACKEND_REACHABILITY_*, HOST_FAILURE_*,
  HOST_LOAD_BALANCE_*, GROUP_BALANCE_*, GROUP_MOVE_*
                       the controller's loops and planners
  BACKEND_HOST_CHECK, CENSUS_INTERVAL_SECS, RUST_LOG
Every setting is validated at start-up: a bad value stops it, naming the variable and the expected form.";

const DEMO_SETTINGS: &str = "\
Settings (environment): the same as `palomar serve`, all validated, but Cassandra, Redis,
Prometheus and SESSION_SECRET are not used: the store and sessions are in memory, the metrics
come from the simulator, and the doveadm password is random unless DOVEADM_API_KEY or
DOVEADM_PASSWORD is set. CONTROLLER_API_URL, LEPTOS_SITE_ROOT, CLUSTER_SITE and the
controller's settings apply.";

const CONFIG_SETTINGS: &str = "\
Settings (environment): every setting of the README's Settings table; each line shows its value
(secrets redacted) and its source: the default, or the variable it was read from.";

const OPERATOR_SETTINGS: &str = "\
Settings (environment):
  PALOMAR_OPERATOR_PASSWORD   the password; when unset, one line is read from stdin
  CASSANDRA_*                 the GeoDB the account is written to
  Every setting is validated at start-up, as for `palomar serve` (see `palomar config`).";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "palomar",
    bin_name = "palomar",
    version,
    about = "The Palomar cluster controller for Dovecot and its admin UI",
    long_about = "The Palomar cluster controller for Dovecot and its admin UI. With no subcommand, \
                  `palomar serve`. Settings come from the environment (see each subcommand's --help, \
                  the README's Settings table, and `palomar config`).",
    after_help = "Settings (environment): see `palomar <COMMAND> --help` for the ones each command reads."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller and the admin UI on Cassandra and Redis (the default).
    #[command(after_help = SERVE_SETTINGS)]
    Serve,
    /// Run on the embedded store with a sample cluster, the simulator and a demo operator.
    #[command(after_help = DEMO_SETTINGS)]
    Demo,
    /// Print the effective configuration (secrets redacted) and where each value came from.
    #[command(after_help = CONFIG_SETTINGS)]
    Config,
    /// Manage operator accounts.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The cluster simulator: run it, seed a GeoDB at scale, inject faults.
    Simulate(SimulateArgs),
    /// The cluster as `doveadm cluster` names it, through the controller's API with a token.
    #[command(after_help = palomar_server::cluster_cli::CLUSTER_SETTINGS)]
    Cluster(palomar_server::cluster_cli::ClusterArgs),
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Create an operator. The password comes from PALOMAR_OPERATOR_PASSWORD or one line on stdin.
    #[command(after_help = OPERATOR_SETTINGS)]
    Add {
        /// What the operator may do.
        #[arg(long, value_enum, ignore_case = true)]
        role: RoleArg,
        /// The operator's login name.
        username: String,
    },
    /// Set a new password for an operator (and end its sessions): how an admin who forgot the
    /// password, or who is locked out, gets back in. The password comes as for `add`.
    #[command(after_help = OPERATOR_SETTINGS)]
    ResetPassword {
        /// The operator's login name.
        username: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Viewer,
    Operator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

fn main() -> ExitCode {
    // First, so that help and argument errors (exit 2) happen before anything is read or started.
    let cli = Cli::parse();
    if let Some(Command::Cluster(args)) = cli.command {
        return cluster(args);
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let result = tokio::runtime::Runtime::new().context("cannot start the async runtime").and_then(|runtime| {
        let result = runtime.block_on(run(cli.command.unwrap_or(Command::Serve)));
        // Work still running (a loop's pass, a census, a password hash) does not hold the exit.
        runtime.shutdown_timeout(Duration::from_secs(2));
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("palomar: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(load_config()?).await,
        Command::Demo => demo(load_config()?).await,
        Command::Config => {
            print!("{}", load_config()?.render());
            Ok(())
        }
        Command::Operator(OperatorCommand::Add { role, username }) => {
            operator_cli::add(load_config()?, role.into(), &username).await
        }
        Command::Operator(OperatorCommand::ResetPassword { username }) => {
            operator_cli::reset_password(load_config()?, &username).await
        }
        Command::Simulate(args) => simulate_cli::run(args).await,
        Command::Cluster(args) => Ok(palomar_server::cluster_cli::run(args).await?),
    }
}

/// `palomar cluster`: no logging, and doveadm-like exit codes (see its `--help`).
fn cluster(args: palomar_server::cluster_cli::ClusterArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("palomar cluster: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(palomar_server::cluster_cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("palomar cluster: {}", err.describe());
            ExitCode::from(err.exit_code())
        }
    }
}

fn load_config() -> anyhow::Result<Config> {
    Ok(Config::from_env()?)
}

fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("palomar")
        .site_root(config.web.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.web.bind_addr)
        .build()
}

/// Production: the GeoDB in Cassandra, sessions in Redis.
async fn serve(config: Config) -> anyhow::Result<()> {
    let secret = config
        .web
        .session_secret
        .as_ref()
        .context("SESSION_SECRET is not set: give at least 64 random characters (e.g. `openssl rand -base64 64`)")?
        .0
        .as_bytes()
        .to_vec();
    // The census gives way to the requests this server answers: on a small site, Cassandra
    // shares its cores.
    let requests = Arc::new(RequestLoad::default());
    let store = Arc::new(CassandraStore::connect(&config.cassandra).await?.giving_way_to(requests.clone()));
    tracing::info!(keyspace = %store.keyspace(), "GeoDB schema ready");
    let redis = &config.redis.url.0;
    let sessions = RedisSessionStore::connect(redis).await.context("cannot connect to Redis (CELERY_BROKER_URL)")?;
    let metrics = Arc::new(PrometheusMetrics::new(&config.prometheus.url, &config.prometheus.job_name)?);
    let lease = Arc::new(RedisLease::connect(redis).await.context("cannot connect to Redis for the leader lease")?);
    let plans = Arc::new(RedisPlans::connect(redis).await.context("cannot connect to Redis for group balance plans")?);
    let ports = ports_on(store, plans, lease, metrics, doveadm_client(&config)?, resolver(&config));
    let services = start_background(ports, &config, config.services.census_interval);
    let settings = SessionSettings::new(secret, &config.web);
    let app = router(services, leptos_options(&config), sessions, &settings)?
        .layer(axum::middleware::from_fn_with_state(requests, request_load::count));
    listen(&config, app).await
}

/// The demo: embedded store, in-memory sessions, a sample cluster with the simulator running
/// in-process (so the figures move), and a demo operator.
async fn demo(mut config: Config) -> anyhow::Result<()> {
    let store = Arc::new(EmbeddedStore::new());
    seed_sample_cluster(store.clone(), SampleSize::DEMO, 1).await?;
    // Every feature dry in the demo: its decisions show, nothing moves until someone says so.
    for feature in Feature::ALL {
        let row = ClusterSetting {
            section: FEATURE_SECTION.into(),
            site_id: uuid::Uuid::nil(),
            backend_id: uuid::Uuid::nil(),
            setting_name: feature.as_str().into(),
            setting_value: FeatureState::Dryrun.as_str().into(),
        };
        store.put_setting(&row).await?;
    }
    if config.doveadm.credential().is_none() {
        config.doveadm.password = Some(Secret(random_string(24)));
    }
    let sim = Simulator::load(store.clone(), Arc::new(SystemClock), SimSettings::default(), rand::random()).await?;
    let options = |control: &str| -> anyhow::Result<ServeOptions> {
        Ok(ServeOptions {
            ip: [127, 0, 0, 1].into(),
            control: control.parse()?,
            credentials: credentials(&config),
            line: domain::doveadm::DovecotLine::Ce23,
            tick: Some(Duration::from_secs(1)),
        })
    };
    // The control API's usual port, or any free one when it is taken.
    let simulator = match start(sim.clone(), options("127.0.0.1:9700")?).await {
        Ok(running) => running,
        Err(_) => start(sim.clone(), options("127.0.0.1:0")?).await?,
    };
    let metrics: Arc<dyn Metrics> = Arc::new(SimulatorMetrics::new(sim));
    // The controller reaches the simulated backends where the simulator listens.
    config.doveadm.endpoints = parse_endpoints(&simulator.topology.doveadm_endpoints()).unwrap_or_default();
    let (plans, lease) = (store.clone(), store.clone());
    let ports = ports_on(store.clone(), plans, lease, metrics, doveadm_client(&config)?, Arc::new(SyntaxOnlyResolver));
    let services = start_background(ports, &config, Duration::from_secs(30));
    let password = random_string(20);
    services.operator_admin(&Caller::trusted_cli())?.add("demo", Role::Admin, &password).await?;
    let settings = SessionSettings::new(random_string(64).into_bytes(), &config.web);
    let app = router(services, leptos_options(&config), tower_sessions::MemoryStore::default(), &settings)?;
    println!("Palomar demo: embedded store with 2 sites, 6 backends, 200 groups, {} users", store.user_count());
    println!(
        "Simulator control API: {} (SIM_CONTROL_URL for `palomar simulate fault`)",
        simulator.topology.control_url
    );
    println!("Open {} and log in as  demo / {password}", config.web.api_url);
    listen(&config, app).await
}

async fn listen(config: &Config, app: axum::Router) -> anyhow::Result<()> {
    let addr = config.web.bind_addr;
    let listener = bind(addr).await.with_context(|| format!("cannot listen on {addr} (CONTROLLER_API_URL)"))?;
    tracing::info!(%addr, site = %config.controller.site, dry_run = config.controller.dry_run, "listening");
    serve_until(listener, app, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

fn doveadm_client(config: &Config) -> anyhow::Result<Arc<dyn Doveadm>> {
    let doveadm = &config.doveadm;
    let auth = doveadm.credential().map(|credential| match credential {
        DoveadmCredential::ApiKey(key) => DoveadmAuth::ApiKey(key.0.clone()),
        DoveadmCredential::Password(password) => DoveadmAuth::Password(password.0.clone()),
    });
    let client = DoveadmHttp::new(&doveadm.http_scheme, doveadm.http_port, auth, doveadm.endpoints.clone())
        .context("cannot build the doveadm HTTP client")?;
    Ok(match config.services.backend_host_check {
        HostCheck::Dns => Arc::new(client),
        HostCheck::Syntax => Arc::new(client.endpoints_only()),
    })
}

fn resolver(config: &Config) -> Arc<dyn HostResolver> {
    match config.services.backend_host_check {
        HostCheck::Dns => Arc::new(DnsResolver),
        HostCheck::Syntax => Arc::new(SyntaxOnlyResolver),
    }
}

/// Every port, on one store that holds the GeoDB and the controller's own tables (Cassandra,
/// or the embedded store), with the real clock: the one bundle the controller and the services
/// share.
fn ports_on<S>(
    store: Arc<S>,
    plans: Arc<dyn BalancePlanStore>,
    lease: Arc<dyn LeaderLease>,
    metrics: Arc<dyn Metrics>,
    doveadm: Arc<dyn Doveadm>,
    resolver: Arc<dyn HostResolver>,
) -> Ports
where
    S: GeoDb + OperatorStore + AuditLog + GroupMembers + RecordStore,
{
    Ports {
        geodb: store.clone(),
        operators: store.clone(),
        audit: store.clone(),
        members: store.clone(),
        records: store,
        plans,
        lease,
        metrics,
        doveadm,
        resolver,
        clock: Arc::new(SystemClock),
    }
}

/// Builds the site's controller and the services on `ports`, and starts the background tasks:
/// the census every `census_interval` and the controller's loops.
fn start_background(ports: Ports, config: &Config, census_interval: Duration) -> Arc<Services> {
    let controller = Controller::new(ports.clone(), Arc::new(Census::default()), config.controller_settings());
    let services = Arc::new(
        Services::new(ports, controller.clone())
            .with_route_api(config.route_api.clone())
            .with_census_interval(census_interval)
            .with_settings_overrides(Arc::new(config.replay_overrides.clone())),
    );
    spawn_census(services.clone(), census_interval, config.services.census_change_margin);
    palomar_core::controller::spawn(controller);
    services
}

/// Takes a census at start and then every `interval`; a failed one is retried next time. Its
/// log line (`census taken`) is what the benchmarks read.
fn spawn_census(services: Arc<Services>, interval: Duration, margin: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let started = std::time::Instant::now();
            match services.refresh_census(margin).await {
                Ok(report) => {
                    let seconds = started.elapsed().as_secs_f64();
                    tracing::info!(
                        users = report.users,
                        seconds,
                        rows_per_s = (report.users as f64 / seconds.max(1e-9)).round(),
                        members_written = report.members_written,
                        full = report.full,
                        "census taken"
                    );
                }
                Err(err) => tracing::warn!(error = %Untrusted(&err), "census failed; next try at the next interval"),
            }
        }
    });
}

fn random_string(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}
