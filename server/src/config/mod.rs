//! Typed configuration from the environment.
//!
//! Every controller setting of the seed is read under its exact name with the seed's default.
//! Where the seed has two names for one setting, both are accepted; setting both to different
//! values is an error. A bad value stops start-up with a message naming the variable and the
//! expected form. See the README's settings table for each decision.
//!
//! Each concern reads its own settings through the one [`Reader`] (`env.rs`); [`Config`]
//! composes them. Parsing ([`Config::parse`]) is a pure function of the variables and of the
//! [`Process`] facts the defaults need; only [`Config::from_env`] looks at the process and host.
//! Adapters take these typed values; nothing here depends on an adapter.

mod cassandra;
mod controller;
mod doveadm;
mod dovecot;
mod env;
mod prometheus;
mod redis;
mod replay_overrides;
mod services;
#[cfg(test)]
mod tests;
mod web;

pub use cassandra::{CassandraSettings, ConsistencyLevel, LoadBalancingPolicy, Replication};
pub use doveadm::{parse_endpoints, DoveadmCredential, DoveadmSettings};
pub use env::{parse_bool, ConfigError, ConfigErrors, Effective, Process, Secret, Source};

use env::Reader;
pub use prometheus::PrometheusSettings;
pub use redis::RedisSettings;
pub use replay_overrides::ReplayOverrides;
pub use services::{HostCheck, ServicesSettings};
pub use web::{origin_of, IpNet, WebSettings};

/// The whole configuration, one part per concern.
#[derive(Debug, Clone)]
pub struct Config {
    /// The GeoDB (`CASSANDRA_*`).
    pub cassandra: CassandraSettings,
    /// Redis (`CELERY_*`).
    pub redis: RedisSettings,
    /// The web server and sessions (`CONTROLLER_API_URL`, `SESSION_*`, `LEPTOS_SITE_ROOT`).
    pub web: WebSettings,
    /// The controller of this site: its loops and planners.
    pub controller: palomar_core::controller::ControllerSettings,
    /// The census and the backend host check.
    pub services: ServicesSettings,
    /// The metrics source (`PROMETHEUS_*`).
    pub prometheus: PrometheusSettings,
    /// The backends' doveadm API (`DOVEADM_*`).
    pub doveadm: DoveadmSettings,
    /// The route API for Dovecot CE proxies (`ROUTE_API_*`).
    pub route_api: palomar_core::services::RouteApiSettings,
    /// The controller's variables as set, for replays that change some.
    pub replay_overrides: ReplayOverrides,
    /// The value and source of every variable, for `palomar config`.
    pub effective: Effective,
}

impl Config {
    /// Reads the process environment, with this process's host name and pid for the defaults
    /// that need them. The only impure way in: everything else is [`Config::parse`].
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::parse(&|name| std::env::var(name).ok(), &Process::current())
    }

    /// Reads through `lookup` (a variable name to its value) alone: the process facts are fixed
    /// (`CONTROLLER_INSTANCE` defaults to `palomar-0`), so the result depends on `lookup` only.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        Self::parse(lookup, &Process { hostname: "palomar".into(), pid: 0 })
    }

    /// Parses the configuration from `lookup` and `process`. Pure: touches no file, no host.
    pub fn parse(lookup: &dyn Fn(&str) -> Option<String>, process: &Process) -> Result<Self, ConfigErrors> {
        let mut r = Reader::new(lookup);
        // The order of reads is the order errors are reported in.
        let cassandra = CassandraSettings::read(&mut r);
        let redis = RedisSettings::read(&mut r);
        let web = WebSettings::read(&mut r);
        let controller = controller::read(&mut r, process);
        let services = ServicesSettings::read(&mut r);
        let prometheus = PrometheusSettings::read(&mut r);
        let doveadm = DoveadmSettings::read(&mut r);
        let route_api = dovecot::route_api(&mut r);
        let (effective, errors) = r.finish();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let replay_overrides = ReplayOverrides::new(lookup, process);
        Ok(Config {
            cassandra,
            redis,
            web,
            controller,
            services,
            prometheus,
            doveadm,
            route_api,
            replay_overrides,
            effective,
        })
    }

    /// The effective configuration as `NAME=value  (source)` lines, secrets redacted.
    pub fn render(&self) -> String {
        self.effective
            .iter()
            .map(|(name, (value, source))| {
                let source = match source {
                    Source::Default => "default".to_string(),
                    Source::Env(var) if var == name => "env".to_string(),
                    Source::Env(var) => format!("env {var}"),
                };
                format!("{name}={value}  ({source})\n")
            })
            .collect()
    }

    /// The controller's settings for this site.
    pub fn controller_settings(&self) -> palomar_core::controller::ControllerSettings {
        self.controller.clone()
    }
}

/// `SIM_CONTROL_URL`, the simulator's control API, read on its own: `palomar simulate fault`
/// and `topology` need nothing else, so an unrelated bad setting does not stop them.
pub fn sim_control_url(lookup: &dyn Fn(&str) -> Option<String>) -> String {
    Reader::new(lookup).string(&["SIM_CONTROL_URL"], "http://127.0.0.1:9700")
}
