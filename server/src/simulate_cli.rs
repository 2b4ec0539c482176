//! `palomar simulate …`: run the cluster simulator, seed a cluster at scale, inject faults.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use app::ports::{GeoDb, SystemClock};

use crate::{
    adapters::{cassandra::CassandraStore, embedded::EmbeddedStore},
    config::Config,
    seed::{seed_sample_cluster, seed_with_progress, SampleSize},
    sim::{
        doveadm_api::DoveadmCredentials,
        servers::{start, ServeOptions},
        DoveadmMode, Faults, SimSettings, Simulator,
    },
};

pub const USAGE: &str = "usage:
  palomar simulate [--embedded] [--control ADDR] [--file-sd PATH] [--logins-per-second N] [--move-rate USERS_PER_SEC]
  palomar simulate seed --sites S --backends B --groups G --users U [--concurrency N]
  palomar simulate fault HOST [--login-fail PCT] [--delivery-fail PCT] [--hot] [--doveadm ok|unreachable|error]
                             [--stall] [--slow FACTOR] | --clear        (talks to SIM_CONTROL_URL)
  palomar simulate topology                                              (talks to SIM_CONTROL_URL)";

/// Reads `--name value` flags and bare switches.
struct Flags<'a> {
    args: &'a [&'a str],
}

impl<'a> Flags<'a> {
    fn value(&self, name: &str) -> Option<&'a str> {
        self.args.iter().position(|a| *a == name).and_then(|i| self.args.get(i + 1).copied())
    }

    fn switch(&self, name: &str) -> bool {
        self.args.contains(&name)
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.value(name) {
            Some(raw) => raw.parse().map_err(|_| anyhow::anyhow!("{name} expects a number, got {raw:?}")),
            None => Ok(default),
        }
    }
}

fn control_url() -> String {
    std::env::var("SIM_CONTROL_URL").unwrap_or_else(|_| "http://127.0.0.1:9700".into())
}

pub async fn run(config: Config, args: &[&str]) -> anyhow::Result<()> {
    match args {
        ["seed", rest @ ..] => seed(config, Flags { args: rest }).await,
        ["fault", host, rest @ ..] => fault(host, Flags { args: rest }).await,
        ["topology"] => {
            let body = reqwest::get(format!("{}/topology", control_url())).await?.error_for_status()?.text().await?;
            println!("{body}");
            Ok(())
        }
        rest if rest.first().is_none_or(|a| a.starts_with("--")) => simulate(config, Flags { args: rest }).await,
        _ => bail!("{USAGE}"),
    }
}

async fn seed(config: Config, flags: Flags<'_>) -> anyhow::Result<()> {
    let size = SampleSize {
        sites: flags.number("--sites", 2)?,
        backends_per_site: flags.number("--backends", 3)?,
        groups_per_site: flags.number("--groups", 100)?,
        users: flags.number("--users", 20_000)?,
    };
    let concurrency = flags.number("--concurrency", 128usize)?;
    let store: Arc<dyn GeoDb> = Arc::new(CassandraStore::connect(&config).await?);
    println!("seeding {size:?} into keyspace {} with {concurrency} writes in flight", config.cassandra_keyspace);
    let started = std::time::Instant::now();
    let report = seed_with_progress(store, size, concurrency, |users| {
        println!("  {users} users written ({:.0} users/s)", users as f64 / started.elapsed().as_secs_f64().max(1e-9));
    })
    .await?;
    println!("wrote {} rows in {:.1} s: {:.0} rows per second", report.rows, report.elapsed.as_secs_f64(), report.rows_per_second());
    Ok(())
}

async fn fault(host: &str, flags: Flags<'_>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("{}/faults/{host}", control_url());
    let response = if flags.switch("--clear") {
        client.delete(&url).send().await?
    } else {
        let mut faults = if flags.switch("--hot") { Faults::hot() } else { Faults::default() };
        faults.login_fail_percent = flags.number("--login-fail", 0.0)?;
        faults.delivery_fail_percent = flags.number("--delivery-fail", 0.0)?;
        faults.stall_moves = flags.switch("--stall");
        faults.move_rate_factor = flags.number("--slow", 0.0)?;
        faults.doveadm = match flags.value("--doveadm") {
            None | Some("ok") => DoveadmMode::Ok,
            Some("unreachable") => DoveadmMode::Unreachable,
            Some("error") => DoveadmMode::Error,
            Some(other) => bail!("--doveadm expects ok, unreachable or error, got {other:?}"),
        };
        client.put(&url).json(&faults).send().await?
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("the simulator refused: {status} {body}");
    }
    println!("faults of {host} updated");
    Ok(())
}

async fn simulate(config: Config, flags: Flags<'_>) -> anyhow::Result<()> {
    let store: Arc<dyn GeoDb> = if flags.switch("--embedded") {
        let store = Arc::new(EmbeddedStore::new());
        seed_sample_cluster(store.clone(), SampleSize::DEMO, 1).await?;
        store
    } else {
        Arc::new(CassandraStore::connect(&config).await?)
    };
    let mut settings = SimSettings::default();
    settings.logins_per_second = flags.number("--logins-per-second", settings.logins_per_second)?;
    settings.user_move_rate = flags.number("--move-rate", settings.user_move_rate)?;
    let sim = Simulator::load(store, Arc::new(SystemClock), settings, rand::random()).await?;
    let control: SocketAddr = flags.value("--control").unwrap_or("127.0.0.1:9700").parse().context("--control expects ip:port")?;
    let options = ServeOptions {
        ip: control.ip(),
        control,
        credentials: credentials(&config),
        tick: Some(Duration::from_secs(1)),
    };
    let running = start(sim, options).await?;
    println!("simulator control API: {}", running.topology.control_url);
    println!("DOVEADM_ENDPOINTS={}", running.topology.doveadm_endpoints());
    if let Some(path) = flags.value("--file-sd") {
        std::fs::write(path, serde_json::to_string_pretty(&running.topology.file_sd())?).with_context(|| format!("cannot write {path}"))?;
        println!("Prometheus targets written to {path}");
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The doveadm credentials simulated backends accept: the controller's own.
pub fn credentials(config: &Config) -> DoveadmCredentials {
    DoveadmCredentials {
        password: config.doveadm_password.as_ref().map(|s| s.0.clone()),
        api_key: config.doveadm_api_key.as_ref().map(|s| s.0.clone()),
    }
}
