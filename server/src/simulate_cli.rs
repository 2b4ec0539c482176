//! `palomar simulate …`: run the cluster simulator, seed a cluster at scale, inject faults.
//!
//! The arguments are parsed (clap) before anything is read: the configuration is loaded only by
//! the subcommands that need it (running the simulator, seeding), and `fault` and `topology`
//! read nothing but `SIM_CONTROL_URL`.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use crate::cluster_cli::client::encode;
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use palomar_core::ports::{GeoDb, SystemClock};

use crate::{
    adapters::{cassandra::CassandraStore, embedded::EmbeddedStore},
    config::{sim_control_url, Config},
    seed::{seed_sample_cluster, seed_with_progress, SampleSize},
};

use domain::doveadm::DovecotLine;
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, ServeOptions},
    DoveadmMode, Faults, PasswordCheck, SimSettings, Simulator,
};

const RUN_SETTINGS: &str = "\
Settings (environment):
  CASSANDRA_*             the GeoDB to simulate (not read with --embedded)
  DOVEADM_API_KEY, DOVEADM_PASSWORD
                          the credentials the simulated backends accept (the controller's own)
  Every setting is validated at start-up, as for `palomar serve` (see `palomar config`).";

const SEED_SETTINGS: &str = "\
Settings (environment):
  CASSANDRA_*   the GeoDB to write into (CASSANDRA_SERVERS, CASSANDRA_PORT, CASSANDRA_KEYSPACE, …)
  Every setting is validated at start-up, as for `palomar serve` (see `palomar config`).";

const CONTROL_SETTINGS: &str = "\
Settings (environment):
  SIM_CONTROL_URL   the running simulator's control API [default: http://127.0.0.1:9700]
  Nothing else is read.";

/// `palomar simulate`: with no subcommand, runs the simulator until Ctrl-C.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    long_about = "Bring simulated proxies and backends to life on a GeoDB (Cassandra, or --embedded for a \
                  demo cluster): their metrics, doveadm HTTP APIs and a control API for faults. Runs until \
                  Ctrl-C. The subcommands seed a GeoDB at scale and talk to a running simulator.",
    after_help = RUN_SETTINGS
)]
pub struct SimulateArgs {
    #[command(subcommand)]
    command: Option<SimulateCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum SimulateCommand {
    /// Write a consistent sample cluster into Cassandra, printing rows per second.
    #[command(after_help = SEED_SETTINGS)]
    Seed(SeedArgs),
    /// Set or clear a simulated backend's faults (through the simulator's control API).
    #[command(after_help = CONTROL_SETTINGS)]
    Fault(FaultArgs),
    /// Print where every simulated server listens (from the simulator's control API).
    #[command(after_help = CONTROL_SETTINGS)]
    Topology,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Simulate a demo cluster in memory instead of the GeoDB in Cassandra.
    #[arg(long)]
    embedded: bool,
    /// Where the control API listens; the simulated servers listen on the same IP.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9700")]
    control: SocketAddr,
    /// Write the Prometheus file_sd targets of the simulated servers to PATH.
    #[arg(long, value_name = "PATH")]
    file_sd: Option<PathBuf>,
    /// Logins each proxy sees per second [default: the simulator's, 10].
    #[arg(long, value_name = "N")]
    logins_per_second: Option<f64>,
    /// Users a source backend moves per second in one group move [default: the simulator's, 50].
    #[arg(long, value_name = "USERS_PER_SEC")]
    move_rate: Option<f64>,
    /// Who refuses a wrong password: the proxy (Dovecot Pro) or the backend (Dovecot CE with the
    /// route passdb's nopassword=y, where the proxy's filter leaves it out).
    #[arg(long, value_enum, default_value_t = PasswordCheck::Proxy)]
    password_check: PasswordCheck,
    /// The Dovecot CE line whose doveadm answers the simulated backends give where 2.3 and 2.4
    /// differ (the wording of a refused request).
    #[arg(long, value_enum, default_value_t = DovecotLine::Ce23)]
    line: DovecotLine,
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// Sites to create.
    #[arg(long, value_name = "S", default_value_t = 2)]
    sites: usize,
    /// Backends per site.
    #[arg(long, value_name = "B", default_value_t = 3)]
    backends: usize,
    /// Groups per site.
    #[arg(long, value_name = "G", default_value_t = 100)]
    groups: usize,
    /// Users in all.
    #[arg(long, value_name = "U", default_value_t = 20_000)]
    users: usize,
    /// Writes in flight.
    #[arg(long, value_name = "N", default_value_t = 128)]
    concurrency: usize,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["host", "site", "link"])))]
struct FaultArgs {
    /// The simulated backend's host name, e.g. be1.dc1a.example.net.
    host: Option<String>,
    /// Every backend of this site at once (e.g. `--site dc2a --doveadm unreachable --login-fail 100`
    /// cuts the whole site).
    #[arg(long, value_name = "SITE")]
    site: Option<String>,
    /// The link from one site to another, `FROM:TO`: cut it (the sessions FROM's proxies send to
    /// TO's load balancer fail), or restore it with `--clear`.
    #[arg(long, value_name = "FROM:TO", conflicts_with_all = ["login_fail", "bad_passwords", "delivery_fail", "hot", "doveadm", "stall", "slow"])]
    link: Option<String>,
    /// Clear every fault of HOST or SITE, or restore LINK.
    #[arg(long, conflicts_with_all = ["login_fail", "bad_passwords", "delivery_fail", "hot", "doveadm", "stall", "slow"])]
    clear: bool,
    /// Percentage of logins that fail at HOST (0–100).
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    login_fail: f64,
    /// Percentage of the logins to HOST's users that bring a wrong password (0–100): password
    /// guessing. Counted against HOST by no proxy filter we ship (see --password-check).
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    bad_passwords: f64,
    /// Percentage of deliveries that fail temporarily at HOST (0–100).
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    delivery_fail: f64,
    /// CPU, memory and metacache near full: a hot backend.
    #[arg(long)]
    hot: bool,
    /// How HOST's doveadm API answers.
    #[arg(long, value_enum, default_value_t = DoveadmArg::Ok)]
    doveadm: DoveadmArg,
    /// HOST never starts a group move it is the source of.
    #[arg(long)]
    stall: bool,
    /// Multiplies HOST's user move rate (e.g. 0.1 for a slow backend); 0 means 1.
    #[arg(long, value_name = "FACTOR", default_value_t = 0.0)]
    slow: f64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DoveadmArg {
    Ok,
    Unreachable,
    Error,
}

/// Runs `palomar simulate …`.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    match args.command {
        Some(SimulateCommand::Seed(seed_args)) => seed(Config::from_env()?, seed_args).await,
        Some(SimulateCommand::Fault(fault_args)) => fault(fault_args).await,
        Some(SimulateCommand::Topology) => {
            let url = format!("{}/topology", control_url());
            let body = reqwest::get(url).await?.error_for_status()?.text().await?;
            println!("{body}");
            Ok(())
        }
        None => simulate(Config::from_env()?, args.run).await,
    }
}

fn control_url() -> String {
    sim_control_url(&|name| std::env::var(name).ok())
}

async fn seed(config: Config, args: SeedArgs) -> anyhow::Result<()> {
    let size = SampleSize {
        sites: args.sites,
        backends_per_site: args.backends,
        groups_per_site: args.groups,
        users: args.users,
    };
    let concurrency = args.concurrency;
    let store: Arc<dyn GeoDb> = Arc::new(CassandraStore::connect(&config.cassandra).await?);
    println!("seeding {size:?} into keyspace {} with {concurrency} writes in flight", config.cassandra.keyspace);
    // Drawn on the terminal only (stderr); hidden when the output goes to a file or a pipe.
    let bar = indicatif::ProgressBar::new(size.users as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} users, {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = seed_with_progress(store, size, concurrency, |users| bar.set_position(users as u64)).await;
    bar.finish_and_clear();
    let report = report?;
    println!(
        "wrote {} rows in {:.1} s: {:.0} rows per second",
        report.rows,
        report.elapsed.as_secs_f64(),
        report.rows_per_second()
    );
    Ok(())
}

async fn fault(args: FaultArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let (url, what) = match (&args.host, &args.site, &args.link) {
        (Some(host), _, _) => (format!("{}/faults/{}", control_url(), encode(host)), format!("faults of {host}")),
        (_, Some(site), _) => {
            (format!("{}/site-faults/{}", control_url(), encode(site)), format!("faults of every backend of {site}"))
        }
        (_, _, Some(link)) => {
            let Some((from, to)) = link.split_once(':') else { bail!("--link takes FROM:TO, two site names") };
            (format!("{}/links/{}/{}", control_url(), encode(from), encode(to)), format!("link {from} → {to}"))
        }
        (None, None, None) => bail!("name a HOST, --site or --link"),
    };
    let response = if args.clear {
        client.delete(&url).send().await?
    } else if args.link.is_some() {
        client.put(&url).send().await?
    } else {
        let mut faults = if args.hot { Faults::hot() } else { Faults::default() };
        faults.login_fail_percent = args.login_fail;
        faults.bad_password_percent = args.bad_passwords;
        faults.delivery_fail_percent = args.delivery_fail;
        faults.stall_moves = args.stall;
        faults.move_rate_factor = args.slow;
        faults.doveadm = match args.doveadm {
            DoveadmArg::Ok => DoveadmMode::Ok,
            DoveadmArg::Unreachable => DoveadmMode::Unreachable,
            DoveadmArg::Error => DoveadmMode::Error,
        };
        client.put(&url).json(&faults).send().await?
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("the simulator refused: {status} {body}");
    }
    println!("{what} updated");
    Ok(())
}

async fn simulate(config: Config, args: RunArgs) -> anyhow::Result<()> {
    let store: Arc<dyn GeoDb> = if args.embedded {
        let store = Arc::new(EmbeddedStore::new());
        seed_sample_cluster(store.clone(), SampleSize::DEMO, 1).await?;
        store
    } else {
        Arc::new(CassandraStore::connect(&config.cassandra).await?)
    };
    let mut settings = SimSettings::default();
    settings.logins_per_second = args.logins_per_second.unwrap_or(settings.logins_per_second);
    settings.user_move_rate = args.move_rate.unwrap_or(settings.user_move_rate);
    settings.password_check = args.password_check;
    let sim = Simulator::load(store, Arc::new(SystemClock), settings, rand::random()).await?;
    let options = ServeOptions {
        ip: args.control.ip(),
        control: args.control,
        credentials: credentials(&config),
        line: args.line,
        tick: Some(Duration::from_secs(1)),
    };
    let running = start(sim, options).await?;
    println!("simulator control API: {}", running.topology.control_url);
    println!("DOVEADM_ENDPOINTS={}", running.topology.doveadm_endpoints());
    if let Some(path) = &args.file_sd {
        let targets = serde_json::to_string_pretty(&running.topology.file_sd())?;
        std::fs::write(path, targets).with_context(|| format!("cannot write {}", path.display()))?;
        println!("Prometheus targets written to {}", path.display());
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The doveadm credentials simulated backends accept: the controller's own.
pub fn credentials(config: &Config) -> DoveadmCredentials {
    DoveadmCredentials {
        password: config.doveadm.password.as_ref().map(|s| s.0.clone()),
        api_key: config.doveadm.api_key.as_ref().map(|s| s.0.clone()),
    }
}
