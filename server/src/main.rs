//! `palomar`: the cluster controller and its admin UI.
//!
//! Subcommands:
//!   serve                          run on Cassandra and Redis (the default)
//!   demo                           run on the embedded store with a sample cluster
//!   config                         print the effective configuration, secrets redacted
//!   operator add --role ROLE NAME  create an operator; password from PALOMAR_OPERATOR_PASSWORD or stdin
//!   simulate …                     the cluster simulator (see `palomar simulate --help`)

use std::{io::BufRead, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use app::{
    controller::{Controller, ControllerPorts},
    domain::Role,
    ports::{Doveadm, GeoDb, Metrics, SystemClock},
    services::{Caller, Ports, Services},
};
use leptos::prelude::LeptosOptions;
use palomar_server::{
    adapters::{
        cassandra::CassandraStore, doveadm_http::DoveadmHttp, embedded::EmbeddedStore, prometheus::PrometheusMetrics,
        redis_lease::RedisLease, redis_plans::RedisPlans, redis_sessions::RedisSessionStore, sim_metrics::SimulatorMetrics,
        DnsResolver, NoMetrics, SyntaxOnlyResolver,
    },
    config::Config,
    seed::{seed_sample_cluster, SampleSize},
    sim::{
        servers::{start, ServeOptions},
        SimSettings, Simulator,
    },
    simulate_cli::credentials,
    web::{router, SessionSettings},
};
use rand::{distributions::Alphanumeric, Rng};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: palomar [serve | demo | config | operator add --role viewer|operator|admin USERNAME | simulate …]";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("palomar: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["serve"] => serve(load_config()?).await,
        ["demo"] => demo(load_config()?).await,
        ["config"] => {
            print!("{}", load_config()?.render());
            Ok(())
        }
        ["operator", "add", rest @ ..] => operator_add(load_config()?, rest).await,
        ["simulate", rest @ ..] => palomar_server::simulate_cli::run(load_config()?, rest).await,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

fn load_config() -> anyhow::Result<Config> {
    Ok(Config::from_env()?)
}

fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("palomar")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.bind_addr)
        .build()
}

/// Production: the GeoDB in Cassandra, sessions in Redis.
async fn serve(config: Config) -> anyhow::Result<()> {
    let secret = config
        .session_secret
        .as_ref()
        .context("SESSION_SECRET is not set: give at least 64 random characters (e.g. `openssl rand -base64 64`)")?
        .0
        .as_bytes()
        .to_vec();
    let store = Arc::new(CassandraStore::connect(&config).await?);
    tracing::info!(keyspace = %store.keyspace(), "GeoDB schema ready");
    let sessions = RedisSessionStore::connect(&config.redis_url.0).await.context("cannot connect to Redis (CELERY_BROKER_URL)")?;
    let metrics = Arc::new(PrometheusMetrics::new(&config.prometheus_url, &config.prometheus_job_name)?);
    let lease = Arc::new(RedisLease::connect(&config.redis_url.0).await.context("cannot connect to Redis for the leader lease")?);
    let plans = Arc::new(RedisPlans::connect(&config.redis_url.0).await.context("cannot connect to Redis for group balance plans")?);
    let services = Services::new(Ports::on_store(store.clone(), metrics.clone(), resolver(&config)));
    let ports = ControllerPorts {
        geodb: store.clone(),
        store: store.clone(),
        plans,
        members: store,
        metrics,
        doveadm: doveadm_client(&config)?,
        lease,
        clock: Arc::new(SystemClock),
        census: services.census(),
    };
    let services = start_background(services, ports, &config, config.census_interval);
    let settings = SessionSettings { secret, secure: config.secure_cookies, idle_timeout: config.session_idle_timeout };
    listen(&config, router(services, leptos_options(&config), sessions, &settings)?).await
}

/// The demo: embedded store, in-memory sessions, a sample cluster with the simulator running
/// in-process (so the figures move), and a demo operator.
async fn demo(mut config: Config) -> anyhow::Result<()> {
    let store = Arc::new(EmbeddedStore::new());
    seed_sample_cluster(store.clone(), SampleSize::DEMO, 1).await?;
    // Every feature dry in the demo: its decisions show, nothing moves until someone says so.
    for feature in app::domain::cluster::FEATURES {
        let row = app::domain::geodb::ClusterSetting {
            section: app::domain::cluster::FEATURE_SECTION.into(),
            site_id: uuid::Uuid::nil(),
            backend_id: uuid::Uuid::nil(),
            setting_name: feature.into(),
            setting_value: app::domain::cluster::FeatureState::Dryrun.as_str().into(),
        };
        store.put_setting(&row).await?;
    }
    if config.doveadm_password.is_none() && config.doveadm_api_key.is_none() {
        config.doveadm_password = Some(palomar_server::config::Secret(random_string(24)));
    }
    let sim = Simulator::load(store.clone(), Arc::new(SystemClock), SimSettings::default(), rand::random()).await?;
    let options = |control: &str| -> anyhow::Result<ServeOptions> {
        Ok(ServeOptions { ip: [127, 0, 0, 1].into(), control: control.parse()?, credentials: credentials(&config), tick: Some(Duration::from_secs(1)) })
    };
    // The control API's usual port, or any free one when it is taken.
    let simulator = match start(sim.clone(), options("127.0.0.1:9700")?).await {
        Ok(running) => running,
        Err(_) => start(sim.clone(), options("127.0.0.1:0")?).await?,
    };
    let metrics: Arc<dyn Metrics> = Arc::new(SimulatorMetrics::new(sim));
    let services = Services::new(Ports::on_store(store.clone(), metrics.clone(), Arc::new(SyntaxOnlyResolver)));
    // The controller reaches the simulated backends where the simulator listens.
    config.doveadm_endpoints = palomar_server::adapters::doveadm_http::parse_endpoints(&simulator.topology.doveadm_endpoints()).unwrap_or_default();
    let ports = ControllerPorts {
        geodb: store.clone(),
        store: store.clone(),
        plans: store.clone(),
        members: store.clone(),
        metrics,
        doveadm: doveadm_client(&config)?,
        lease: store.clone(),
        clock: Arc::new(SystemClock),
        census: services.census(),
    };
    let services = start_background(services, ports, &config, Duration::from_secs(30));
    let password = random_string(20);
    services.operator_admin(&Caller::trusted_cli())?.add("demo", Role::Admin, &password).await?;
    let settings = SessionSettings {
        secret: random_string(64).into_bytes(),
        secure: config.secure_cookies,
        idle_timeout: config.session_idle_timeout,
    };
    let app = router(services, leptos_options(&config), tower_sessions::MemoryStore::default(), &settings)?;
    println!("Palomar demo: embedded store with 2 sites, 6 backends, 200 groups, {} users", store.user_count());
    println!("Simulator control API: {} (SIM_CONTROL_URL for `palomar simulate fault`)", simulator.topology.control_url);
    println!("Open {} and log in as  demo / {password}", config.controller_api_url);
    listen(&config, app).await
}

async fn operator_add(config: Config, args: &[&str]) -> anyhow::Result<()> {
    let (role, username) = match args {
        ["--role", role, username] | [username, "--role", role] => (role.parse::<Role>()?, *username),
        _ => bail!("{USAGE}"),
    };
    let password = match std::env::var("PALOMAR_OPERATOR_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!("password for {username} (one line on stdin):");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let store = Arc::new(CassandraStore::connect(&config).await?);
    let services = Services::new(Ports::on_store(store, Arc::new(NoMetrics), resolver(&config)));
    let operator = services.operator_admin(&Caller::trusted_cli())?.add(username, role, &password).await?;
    println!("operator {} added with role {}", operator.username, operator.role);
    Ok(())
}

async fn listen(config: &Config, app: axum::Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("cannot listen on {} (CONTROLLER_API_URL)", config.bind_addr))?;
    tracing::info!(addr = %config.bind_addr, site = %config.cluster_site, dry_run = config.dry_run, "listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
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
    let client = DoveadmHttp::new(&config.doveadm_http_scheme, config.doveadm_http_port, config.doveadm_auth(), config.doveadm_endpoints.clone())
        .context("cannot build the doveadm HTTP client")?;
    Ok(Arc::new(client))
}

fn resolver(config: &Config) -> Arc<dyn app::ports::HostResolver> {
    if config.backend_host_dns_check { Arc::new(DnsResolver) } else { Arc::new(SyntaxOnlyResolver) }
}

/// Attaches the site's controller to the services and starts the background tasks: the
/// census every `census_interval` and the controller's loops.
fn start_background(services: Services, ports: ControllerPorts, config: &Config, census_interval: Duration) -> Arc<Services> {
    let controller = Controller::new(ports, config.controller_settings());
    let services = Arc::new(services.with_controller(controller.clone()));
    spawn_census(services.clone(), census_interval);
    app::controller::spawn(controller);
    services
}

/// Takes a census at start and then every `interval`; a failed one is retried next time.
fn spawn_census(services: Arc<Services>, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let started = std::time::Instant::now();
            match services.refresh_census(interval * 2 + Duration::from_secs(60)).await {
                Ok(()) => tracing::info!(seconds = started.elapsed().as_secs_f64(), "census taken"),
                Err(err) => tracing::warn!(error = %err, "census failed; next try at the next interval"),
            }
        }
    });
}

fn random_string(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}
