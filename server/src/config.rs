//! Typed configuration from the environment.
//!
//! Every controller setting of the seed is read under its exact name with the seed's default.
//! Where the seed has two names for one setting, both are accepted; setting both to different
//! values is an error. A bad value stops start-up with a message naming the variable and the
//! expected form. See the README's settings table for each decision.

use std::{collections::BTreeMap, fmt, net::SocketAddr, str::FromStr, time::Duration};

/// How a setting got its value, for `palomar config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    Env(&'static str),
}

/// A start-up configuration error: which variable, what it should look like, what it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: expected {expected}, got {got:?}")]
pub struct ConfigError {
    pub var: &'static str,
    pub expected: String,
    pub got: String,
}

/// All errors found at once, so an operator fixes them in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancingPolicy {
    RoundRobin,
    DcAwareRoundRobin,
}

/// A CQL consistency level name as cqlsh spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsistencyLevel {
    One,
    Quorum,
    LocalQuorum,
    EachQuorum,
    LocalOne,
    All,
}

/// Keyspace replication, used only when the controller creates the keyspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    Simple { factor: u32 },
    NetworkTopology { per_dc: Vec<(String, u32)> },
}

impl Replication {
    /// The CQL map literal for `CREATE KEYSPACE … WITH replication = …`.
    pub fn cql(&self) -> String {
        match self {
            Replication::Simple { factor } => format!("{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}"),
            Replication::NetworkTopology { per_dc } => {
                let dcs: Vec<String> = per_dc.iter().map(|(dc, n)| format!("'{dc}': {n}")).collect();
                format!("{{'class': 'NetworkTopologyStrategy', {}}}", dcs.join(", "))
            }
        }
    }
}

/// A secret value: printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    // GeoDB (Cassandra)
    pub cassandra_servers: Vec<String>,
    pub cassandra_port: u16,
    pub cassandra_keyspace: String,
    pub cassandra_local_dc: String,
    pub cassandra_load_balancing_policy: LoadBalancingPolicy,
    pub cassandra_used_hosts_per_remote_dc: u32,
    pub cassandra_protocol_version: u8,
    pub cassandra_tls_enabled: bool,
    pub cassandra_username: Option<String>,
    pub cassandra_password: Option<Secret>,
    pub cassandra_consistency: ConsistencyLevel,
    pub cassandra_replication: Replication,
    // Redis
    pub redis_url: Secret,
    pub redis_result_url: Secret,
    pub redis_result_expires: Duration,
    // The controller
    pub cluster_site: String,
    pub controller_api_url: String,
    pub bind_addr: SocketAddr,
    pub secure_cookies: bool,
    pub dry_run: bool,
    pub group_balance_enabled: bool,
    pub group_balance_group_size_slack_percent: u32,
    pub group_balance_max_user_moves_per_pass: u32,
    pub group_balance_max_user_move_between_groups: u32,
    pub group_move_finish_timeout: Duration,
    pub group_move_start_timeout: Duration,
    pub host_failure_cool_time: Duration,
    pub host_failure_min_logins: u32,
    pub host_failure_ratio: f64,
    pub host_load_balance_group_min_cool_time: Duration,
    pub host_load_balance_min_cool_time: Duration,
    pub host_load_balance_min_samples: u32,
    pub host_load_balance_score_delta_threshold_ratio: f64,
    pub backend_reachability_dns_failure_allowed: Duration,
    pub prometheus_url: String,
    pub prometheus_job_name: String,
    // Beyond the seed
    pub doveadm_http_port: u16,
    pub doveadm_http_scheme: String,
    pub doveadm_api_key: Option<Secret>,
    pub doveadm_password: Option<Secret>,
    /// Explicit doveadm API base URLs per backend host (`host=http://ip:port,…`).
    pub doveadm_endpoints: BTreeMap<String, String>,
    pub session_secret: Option<Secret>,
    pub session_idle_timeout: Duration,
    /// Whether a new backend's host must resolve in DNS (true) or only be a valid name.
    pub backend_host_dns_check: bool,
    /// How often the census (users per group, groups per backend) is taken.
    pub census_interval: Duration,
    /// At or above this failure ratio a failing backend is set offline instead of relieved
    /// one group at a time (spec H-5).
    pub host_offline_ratio: f64,
    /// The traffic window host failure handling looks at ("the last 5 minutes").
    pub host_failure_window: Duration,
    /// The window the load scores are averaged over (spec H-2).
    pub host_load_balance_score_window: Duration,
    /// The controller's loop cadences (spec c.1) and leader lease.
    pub controller_intervals: app::controller::Intervals,
    /// This instance's name in the leader lease.
    pub controller_instance: String,
    /// Where the built CSS, JS and wasm are served from.
    pub site_root: String,
    /// The value and source of every variable, for `palomar config`.
    pub effective: BTreeMap<&'static str, (String, Source)>,
}

/// Reads variables through a lookup function, so tests need not touch the process environment.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
    effective: BTreeMap<&'static str, (String, Source)>,
}

/// Redis URLs may carry a password, so they are redacted too.
const SECRET_VARS: [&str; 6] =
    ["CASSANDRA_PASSWORD", "DOVEADM_API_KEY", "DOVEADM_PASSWORD", "SESSION_SECRET", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"];

impl<'a> Reader<'a> {
    /// The raw value of the first of `names` that is set, checking that aliases agree.
    fn raw(&mut self, names: &[&'static str]) -> Option<(&'static str, String)> {
        let mut found: Option<(&'static str, String)> = None;
        for &name in names {
            let Some(value) = (self.lookup)(name) else { continue };
            match &found {
                Some((first, first_value)) if first_value != &value => {
                    self.errors.push(ConfigError {
                        var: name,
                        expected: format!("the same value as its alias {first}, or to be unset"),
                        got: value,
                    });
                }
                Some(_) => {}
                None => found = Some((name, value)),
            }
        }
        found
    }

    fn record(&mut self, names: &[&'static str], shown: String, source: Source) {
        let shown = if SECRET_VARS.contains(&names[0]) && !shown.is_empty() { "<redacted>".into() } else { shown };
        for &name in names {
            self.effective.insert(name, (shown.clone(), source));
        }
    }

    /// Parses a setting with `parse`, or takes `default`.
    fn get<T: fmt::Display>(
        &mut self,
        names: &[&'static str],
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> T {
        match self.raw(names) {
            Some((var, raw)) => match parse(raw.trim()) {
                Some(value) => {
                    self.record(names, value.to_string(), Source::Env(var));
                    value
                }
                None => {
                    self.errors.push(ConfigError { var, expected: expected.to_string(), got: raw });
                    default
                }
            },
            None => {
                self.record(names, default.to_string(), Source::Default);
                default
            }
        }
    }

    fn string(&mut self, names: &[&'static str], default: &str) -> String {
        self.get(names, default.to_string(), "a string", |s| Some(s.to_string()))
    }

    fn optional(&mut self, name: &'static str) -> Option<String> {
        let value = self.get(&[name], String::new(), "a string", |s| Some(s.to_string()));
        (!value.is_empty()).then_some(value)
    }

    fn number<T: FromStr + fmt::Display + PartialOrd + Copy>(&mut self, names: &[&'static str], default: T, min: T, max: T) -> T {
        let expected = format!("a whole number from {min} to {max}");
        self.get(names, default, &expected, |s| s.parse::<T>().ok().filter(|v| *v >= min && *v <= max))
    }

    fn seconds(&mut self, names: &[&'static str], default: u64, min: u64) -> Duration {
        Duration::from_secs(self.number(names, default, min, 10 * 365 * 24 * 3600))
    }

    fn ratio(&mut self, names: &[&'static str], default: f64, expected: &str, ok: impl Fn(f64) -> bool) -> f64 {
        self.get(names, default, expected, |s| s.parse::<f64>().ok().filter(|v| v.is_finite() && ok(*v)))
    }

    fn boolean(&mut self, names: &[&'static str], default: bool) -> bool {
        self.get(names, default, "a boolean: true/false, yes/no, on/off or 1/0", parse_bool)
    }
}

/// Accepts the spellings Python settings use too (`True`, `False`).
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` (a variable name to its value).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut r = Reader { lookup, errors: Vec::new(), effective: BTreeMap::new() };

        let cassandra_servers: Vec<String> = r
            .get(&["CASSANDRA_SERVERS"], "localhost".to_string(), "a comma-separated list of host names or IPs", |s| {
                let hosts: Vec<&str> = s.split(',').map(str::trim).collect();
                hosts.iter().all(|h| !h.is_empty() && !h.contains(char::is_whitespace)).then(|| hosts.join(","))
            })
            .split(',')
            .map(str::to_string)
            .collect();
        let cassandra_port = r.number(&["CASSANDRA_PORT"], 9042u16, 1, u16::MAX);
        let cassandra_keyspace = r.get(
            &["CASSANDRA_KEYSPACE", "CASSANDRA_GEODB_KEYSPACE"],
            "d8s_cluster".to_string(),
            "a keyspace name: a letter, then up to 47 letters, digits or '_'",
            |s| is_cql_identifier(s).then(|| s.to_string()),
        );
        let cassandra_local_dc = r.string(&["CASSANDRA_LOCAL_DC", "CASSANDRA_SITE"], "d8s_cluster");
        let cassandra_load_balancing_policy = r.get(
            &["CASSANDRA_LOAD_BALANCING_POLICY"],
            LoadBalancingPolicy::DcAwareRoundRobin,
            "RoundRobin or DCAwareRoundRobin",
            |s| match s {
                "RoundRobin" => Some(LoadBalancingPolicy::RoundRobin),
                "DCAwareRoundRobin" => Some(LoadBalancingPolicy::DcAwareRoundRobin),
                _ => None,
            },
        );
        let cassandra_used_hosts_per_remote_dc = r.number(&["CASSANDRA_USED_HOSTS_PER_REMOTE_DC"], 0u32, 0, 1000);
        let cassandra_protocol_version =
            r.get(&["CASSANDRA_PROTOCOL_VERSION"], 4u8, "4 (the protocol version the driver speaks)", |s| {
                (s == "4").then_some(4)
            });
        let cassandra_tls_enabled =
            r.get(&["CASSANDRA_TLS_ENABLED"], false, "false (TLS to Cassandra is not supported yet)", |s| {
                parse_bool(s).filter(|b| !b)
            });
        let cassandra_username = r.optional("CASSANDRA_USERNAME");
        let cassandra_password = r.optional("CASSANDRA_PASSWORD").map(Secret);
        let cassandra_consistency = r.get(
            &["CASSANDRA_CONSISTENCY"],
            ConsistencyLevel::LocalQuorum,
            "ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM, EACH_QUORUM or ALL",
            |s| s.parse().ok(),
        );
        let cassandra_replication = r.get(
            &["CASSANDRA_REPLICATION"],
            Replication::Simple { factor: 1 },
            "SimpleStrategy:N or NetworkTopologyStrategy:dc1=N,dc2=M",
            |s| s.parse().ok(),
        );

        let redis_url = Secret(r.get(
            &["CELERY_BROKER_URL"],
            "redis://localhost:6379/0".to_string(),
            "a redis:// or rediss:// URL",
            parse_redis_url,
        ));
        let redis_result_url = Secret(r.get(
            &["CELERY_RESULT_BACKEND"],
            "redis://localhost:6379/0".to_string(),
            "a redis:// or rediss:// URL",
            parse_redis_url,
        ));
        for name in ["CELERY_BROKER_TRANSPORT_OPTIONS", "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS"] {
            r.get(&[name], "{}".to_string(), "{} (Redis Sentinel is not supported yet)", |s| {
                (s.replace(char::is_whitespace, "") == "{}").then(|| "{}".to_string())
            });
        }
        let redis_result_expires = r.seconds(&["CELERY_RESULT_EXPIRES_SECS"], 60, 1);

        let cluster_site = r.get(&["CLUSTER_SITE"], "dc1a".to_string(), "a site name (letters, digits, '.', '_', '-')", |s| {
            app::domain::validate::cluster_name("CLUSTER_SITE", s).ok()
        });
        let controller_api_url = r.get(
            &["CONTROLLER_API_URL"],
            "http://localhost:8000".to_string(),
            "an http:// or https:// URL with a host and port, e.g. http://0.0.0.0:8000",
            |s| parse_api_url(s).map(|_| s.to_string()),
        );
        let (bind_addr, secure_cookies) =
            parse_api_url(&controller_api_url).unwrap_or((SocketAddr::from(([127, 0, 0, 1], 8000)), false));
        let dry_run = r.boolean(&["DRY_RUN"], false);
        let group_balance_enabled = r.boolean(&["GROUP_BALANCE_ENABLED"], false);
        let group_balance_group_size_slack_percent =
            r.number(&["GROUP_BALANCE_GROUP_SIZE_SLACK_PERCENT", "GROUP_BALANCE_GROUP_SIZE_RATIO_SLACK"], 10u32, 0, 100);
        let group_balance_max_user_moves_per_pass =
            r.number(&["GROUP_BALANCE_MAX_USER_MOVES_PER_PASS"], 200u32, 0, 1_000_000);
        let group_balance_max_user_move_between_groups =
            r.number(&["GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS"], 100u32, 0, 1_000_000);
        let group_move_finish_timeout = r.seconds(&["GROUP_MOVE_FINISH_TIMEOUT_SECS"], 600, 1);
        let group_move_start_timeout = r.seconds(&["GROUP_MOVE_START_TIMEOUT_SECS"], 180, 1);
        let host_failure_cool_time = r.seconds(&["HOST_FAILURE_COOL_TIME_SECS"], 3600, 0);
        let host_failure_min_logins = r.number(&["HOST_FAILURE_MIN_LOGINS"], 10u32, 0, u32::MAX);
        let host_failure_ratio =
            r.ratio(&["HOST_FAILURE_RATIO"], 0.1, "a number strictly between 0 and 1, e.g. 0.1", |v| v > 0.0 && v < 1.0);
        let host_load_balance_group_min_cool_time = r.seconds(&["HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS"], 3600, 1);
        let host_load_balance_min_cool_time = r.seconds(&["HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS"], 3600, 1);
        let host_load_balance_min_samples = r.number(&["HOST_LOAD_BALANCE_MIN_SAMPLES"], 3000u32, 0, u32::MAX);
        let host_load_balance_score_delta_threshold_ratio = r.ratio(
            &["HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO"],
            0.5,
            "a number greater than 0, e.g. 0.5",
            |v| v > 0.0,
        );
        let backend_reachability_dns_failure_allowed =
            r.seconds(&["BACKEND_REACHABILITY_NAME_RESOLUTION_FAILURE_DURATION_ALLOWED_SECS"], 10, 0);
        let prometheus_url = r.get(
            &["PROMETHEUS_URL"],
            "http://localhost:9090/".to_string(),
            "an http:// or https:// URL",
            |s| (s.starts_with("http://") || s.starts_with("https://")).then(|| s.to_string()),
        );
        let prometheus_job_name = r.string(&["PROMETHEUS_JOB_NAME"], "");

        let doveadm_http_port = r.number(&["DOVEADM_HTTP_PORT"], 8080u16, 1, u16::MAX);
        let doveadm_http_scheme = r.get(&["DOVEADM_HTTP_SCHEME"], "http".to_string(), "http or https", |s| {
            matches!(s, "http" | "https").then(|| s.to_string())
        });
        let doveadm_api_key = r.optional("DOVEADM_API_KEY").map(Secret);
        let doveadm_password = r.optional("DOVEADM_PASSWORD").map(Secret);
        let doveadm_endpoints = r
            .get(&["DOVEADM_ENDPOINTS"], String::new(), "host=http://ip:port pairs separated by commas", |s| {
                crate::adapters::doveadm_http::parse_endpoints(s).map(|_| s.to_string())
            });
        let doveadm_endpoints = crate::adapters::doveadm_http::parse_endpoints(&doveadm_endpoints).unwrap_or_default();
        let session_secret = r
            .get(&["SESSION_SECRET"], String::new(), "at least 64 characters (e.g. `openssl rand -base64 64`)", |s| {
                (s.len() >= 64).then(|| s.to_string())
            });
        let session_secret = (!session_secret.is_empty()).then_some(Secret(session_secret));
        let session_idle_timeout = r.seconds(&["SESSION_IDLE_TIMEOUT_SECS"], 3600, 60);
        let site_root = r.string(&["LEPTOS_SITE_ROOT"], "target/site");
        let backend_host_dns_check = r.get(&["BACKEND_HOST_CHECK"], "dns".to_string(), "dns or syntax", |s| {
            matches!(s, "dns" | "syntax").then(|| s.to_string())
        }) == "dns";
        let census_interval = r.seconds(&["CENSUS_INTERVAL_SECS"], 3600, 10);
        let host_offline_ratio = r.ratio(&["HOST_OFFLINE_RATIO"], 0.9, "a number from 0 to 1, e.g. 0.9", |v| (0.0..=1.0).contains(&v));
        let host_failure_window = r.seconds(&["HOST_FAILURE_WINDOW_SECS"], 300, 10);
        let host_load_balance_score_window = r.seconds(&["HOST_LOAD_BALANCE_SCORE_WINDOW_SECS"], 3600, 60);
        let controller_intervals = app::controller::Intervals {
            reachability: r.seconds(&["BACKEND_REACHABILITY_INTERVAL_SECS"], 10, 1),
            pass: r.seconds(&["CONTROLLER_PASS_INTERVAL_SECS"], 60, 1),
            supervision: r.seconds(&["GROUP_MOVE_SUPERVISION_INTERVAL_SECS"], 10, 1),
            group_balance_pass: r.seconds(&["GROUP_BALANCE_PASS_INTERVAL_SECS"], 1800, 1),
            lease_ttl: r.seconds(&["CONTROLLER_LEASE_TTL_SECS"], 30, 3),
        };
        let default_instance = format!(
            "{}-{}",
            std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "palomar".into()),
            std::process::id()
        );
        let controller_instance = r.string(&["CONTROLLER_INSTANCE"], &default_instance);

        if r.errors.is_empty() {
            Ok(Config {
                cassandra_servers,
                cassandra_port,
                cassandra_keyspace,
                cassandra_local_dc,
                cassandra_load_balancing_policy,
                cassandra_used_hosts_per_remote_dc,
                cassandra_protocol_version,
                cassandra_tls_enabled,
                cassandra_username,
                cassandra_password,
                cassandra_consistency,
                cassandra_replication,
                redis_url,
                redis_result_url,
                redis_result_expires,
                cluster_site,
                controller_api_url,
                bind_addr,
                secure_cookies,
                dry_run,
                group_balance_enabled,
                group_balance_group_size_slack_percent,
                group_balance_max_user_moves_per_pass,
                group_balance_max_user_move_between_groups,
                group_move_finish_timeout,
                group_move_start_timeout,
                host_failure_cool_time,
                host_failure_min_logins,
                host_failure_ratio,
                host_load_balance_group_min_cool_time,
                host_load_balance_min_cool_time,
                host_load_balance_min_samples,
                host_load_balance_score_delta_threshold_ratio,
                backend_reachability_dns_failure_allowed,
                prometheus_url,
                prometheus_job_name,
                doveadm_http_port,
                doveadm_http_scheme,
                doveadm_api_key,
                doveadm_password,
                doveadm_endpoints,
                session_secret,
                session_idle_timeout,
                site_root,
                backend_host_dns_check,
                census_interval,
                host_offline_ratio,
                host_failure_window,
                host_load_balance_score_window,
                controller_intervals,
                controller_instance,
                effective: r.effective,
            })
        } else {
            Err(ConfigErrors(r.errors))
        }
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

    /// The contact points as `host:port`.
    pub fn cassandra_contact_points(&self) -> Vec<String> {
        self.cassandra_servers.iter().map(|h| format!("{h}:{}", self.cassandra_port)).collect()
    }
}

fn is_cql_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 48
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_redis_url(s: &str) -> Option<String> {
    (s.starts_with("redis://") || s.starts_with("rediss://")).then(|| s.to_string())
}

/// `CONTROLLER_API_URL` is where the server binds; https means cookies get the Secure flag.
fn parse_api_url(s: &str) -> Option<(SocketAddr, bool)> {
    let (secure, rest) = if let Some(rest) = s.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, s.strip_prefix("http://")?)
    };
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match host {
        "localhost" => std::net::IpAddr::from([127, 0, 0, 1]),
        other => other.parse().ok()?,
    };
    Some((SocketAddr::new(ip, port), secure))
}

impl fmt::Display for LoadBalancingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoadBalancingPolicy::RoundRobin => "RoundRobin",
            LoadBalancingPolicy::DcAwareRoundRobin => "DCAwareRoundRobin",
        })
    }
}

impl fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConsistencyLevel::One => "ONE",
            ConsistencyLevel::Quorum => "QUORUM",
            ConsistencyLevel::LocalQuorum => "LOCAL_QUORUM",
            ConsistencyLevel::EachQuorum => "EACH_QUORUM",
            ConsistencyLevel::LocalOne => "LOCAL_ONE",
            ConsistencyLevel::All => "ALL",
        })
    }
}

impl FromStr for ConsistencyLevel {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "ONE" => ConsistencyLevel::One,
            "QUORUM" => ConsistencyLevel::Quorum,
            "LOCAL_QUORUM" => ConsistencyLevel::LocalQuorum,
            "EACH_QUORUM" => ConsistencyLevel::EachQuorum,
            "LOCAL_ONE" => ConsistencyLevel::LocalOne,
            "ALL" => ConsistencyLevel::All,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Replication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Replication::Simple { factor } => write!(f, "SimpleStrategy:{factor}"),
            Replication::NetworkTopology { per_dc } => {
                let dcs: Vec<String> = per_dc.iter().map(|(dc, n)| format!("{dc}={n}")).collect();
                write!(f, "NetworkTopologyStrategy:{}", dcs.join(","))
            }
        }
    }
}

impl FromStr for Replication {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (class, rest) = s.split_once(':').ok_or(())?;
        let factor = |n: &str| n.trim().parse::<u32>().ok().filter(|n| (1..=20).contains(n)).ok_or(());
        match class.trim() {
            "SimpleStrategy" => Ok(Replication::Simple { factor: factor(rest)? }),
            "NetworkTopologyStrategy" => {
                let per_dc = rest
                    .split(',')
                    .map(|pair| {
                        let (dc, n) = pair.split_once('=').ok_or(())?;
                        let dc = dc.trim();
                        let valid = !dc.is_empty() && dc.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                        if valid { Ok((dc.to_string(), factor(n)?)) } else { Err(()) }
                    })
                    .collect::<Result<Vec<_>, ()>>()?;
                Ok(Replication::NetworkTopology { per_dc })
            }
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(&move |name| vars.get(name).cloned())
    }

    #[test]
    fn the_controller_gets_the_seed_settings_by_their_names() {
        let c = config(&[
            ("CLUSTER_SITE", "dc2b"),
            ("DRY_RUN", "true"),
            ("GROUP_MOVE_START_TIMEOUT_SECS", "5"),
            ("HOST_FAILURE_RATIO", "0.2"),
            ("HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS", "120"),
            ("HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS", "60"),
            ("GROUP_BALANCE_MAX_USER_MOVES_PER_PASS", "7"),
            ("CONTROLLER_PASS_INTERVAL_SECS", "2"),
        ])
        .unwrap();
        let s = c.controller_settings();
        assert_eq!((s.site.as_str(), s.dry_run), ("dc2b", true));
        assert_eq!(s.supervision.start_timeout, Duration::from_secs(5));
        assert_eq!(s.supervision.finish_timeout, Duration::from_secs(600));
        assert_eq!(s.host_failure.ratio, 0.2);
        assert_eq!((s.host_failure.offline_ratio, s.host_failure.window), (0.9, Duration::from_secs(300)));
        assert_eq!((s.load_balance.host_cool_time, s.load_balance.group_cool_time), (Duration::from_secs(120), Duration::from_secs(60)));
        assert_eq!(s.load_balance.min_samples, 3000);
        assert_eq!(s.group_balance_max_user_moves_per_pass, 7);
        assert_eq!(s.dns_failure_allowed, Duration::from_secs(10));
        assert_eq!((s.intervals.pass, s.intervals.reachability, s.intervals.supervision), (Duration::from_secs(2), Duration::from_secs(10), Duration::from_secs(10)));
        assert_eq!((s.intervals.group_balance_pass, s.intervals.lease_ttl), (Duration::from_secs(1800), Duration::from_secs(30)));
        assert!(config(&[("HOST_OFFLINE_RATIO", "1.5")]).is_err());
    }

    #[test]
    fn seed_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.cassandra_servers, vec!["localhost"]);
        assert_eq!(c.cassandra_port, 9042);
        assert_eq!(c.cassandra_keyspace, "d8s_cluster");
        assert_eq!(c.cassandra_local_dc, "d8s_cluster");
        assert_eq!(c.cassandra_load_balancing_policy, LoadBalancingPolicy::DcAwareRoundRobin);
        assert_eq!(c.cassandra_protocol_version, 4);
        assert!(!c.cassandra_tls_enabled);
        assert_eq!(c.cluster_site, "dc1a");
        assert_eq!(c.bind_addr, "127.0.0.1:8000".parse().unwrap());
        assert!(!c.dry_run);
        assert!(!c.group_balance_enabled);
        assert_eq!(c.group_balance_group_size_slack_percent, 10);
        assert_eq!(c.group_balance_max_user_moves_per_pass, 200);
        assert_eq!(c.group_balance_max_user_move_between_groups, 100);
        assert_eq!(c.group_move_finish_timeout, Duration::from_secs(600));
        assert_eq!(c.group_move_start_timeout, Duration::from_secs(180));
        assert_eq!(c.host_failure_cool_time, Duration::from_secs(3600));
        assert_eq!(c.host_failure_min_logins, 10);
        assert_eq!(c.host_failure_ratio, 0.1);
        assert_eq!(c.host_load_balance_group_min_cool_time, Duration::from_secs(3600));
        assert_eq!(c.host_load_balance_min_cool_time, Duration::from_secs(3600));
        assert_eq!(c.host_load_balance_min_samples, 3000);
        assert_eq!(c.host_load_balance_score_delta_threshold_ratio, 0.5);
        assert_eq!(c.prometheus_url, "http://localhost:9090/");
        assert_eq!(c.prometheus_job_name, "");
        assert_eq!(c.cassandra_consistency, ConsistencyLevel::LocalQuorum);
        assert_eq!(c.redis_result_expires, Duration::from_secs(60));
    }

    #[test]
    fn dry_run_is_a_switch() {
        assert!(config(&[("DRY_RUN", "true")]).unwrap().dry_run);
        assert!(config(&[("DRY_RUN", "True")]).unwrap().dry_run);
        assert!(!config(&[("DRY_RUN", "0")]).unwrap().dry_run);
        let err = config(&[("DRY_RUN", "200")]).unwrap_err();
        assert_eq!(err.0[0].var, "DRY_RUN");
        assert!(err.to_string().contains("DRY_RUN: expected a boolean"));
    }

    #[test]
    fn both_names_of_one_setting_are_accepted() {
        assert_eq!(config(&[("CASSANDRA_GEODB_KEYSPACE", "geo")]).unwrap().cassandra_keyspace, "geo");
        assert_eq!(config(&[("CASSANDRA_KEYSPACE", "geo")]).unwrap().cassandra_keyspace, "geo");
        assert_eq!(config(&[("CASSANDRA_SITE", "dc9")]).unwrap().cassandra_local_dc, "dc9");
        assert_eq!(config(&[("GROUP_BALANCE_GROUP_SIZE_RATIO_SLACK", "20")]).unwrap().group_balance_group_size_slack_percent, 20);
        let same = config(&[("CASSANDRA_KEYSPACE", "geo"), ("CASSANDRA_GEODB_KEYSPACE", "geo")]).unwrap();
        assert_eq!(same.cassandra_keyspace, "geo");
        let clash = config(&[("CASSANDRA_KEYSPACE", "a"), ("CASSANDRA_GEODB_KEYSPACE", "b")]).unwrap_err();
        assert_eq!(clash.0[0].var, "CASSANDRA_GEODB_KEYSPACE");
    }

    #[test]
    fn bad_values_name_the_variable_and_form() {
        let err = config(&[
            ("HOST_FAILURE_RATIO", "1.5"),
            ("CASSANDRA_PORT", "nine"),
            ("CONTROLLER_API_URL", "localhost"),
            ("CASSANDRA_LOAD_BALANCING_POLICY", "Random"),
            ("CASSANDRA_REPLICATION", "SimpleStrategy:x"),
        ])
        .unwrap_err();
        let vars: Vec<&str> = err.0.iter().map(|e| e.var).collect();
        assert_eq!(
            vars,
            ["CASSANDRA_PORT", "CASSANDRA_LOAD_BALANCING_POLICY", "CASSANDRA_REPLICATION", "CONTROLLER_API_URL", "HOST_FAILURE_RATIO"]
        );
        assert!(err.to_string().contains("HOST_FAILURE_RATIO: expected a number strictly between 0 and 1"));
    }

    #[test]
    fn api_url_sets_bind_address_and_cookie_security() {
        let c = config(&[("CONTROLLER_API_URL", "https://0.0.0.0:8443")]).unwrap();
        assert_eq!(c.bind_addr, "0.0.0.0:8443".parse().unwrap());
        assert!(c.secure_cookies);
    }

    #[test]
    fn replication_forms() {
        assert_eq!(
            "NetworkTopologyStrategy:dc1=3,dc2=2".parse::<Replication>().unwrap().cql(),
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
        );
        assert!("NetworkTopologyStrategy:dc1".parse::<Replication>().is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let c = config(&[("DOVEADM_PASSWORD", "hunter2"), ("SESSION_SECRET", &"s".repeat(64))]).unwrap();
        let shown = c.render();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("DOVEADM_PASSWORD=<redacted>  (env)"));
        assert!(!shown.contains(&"s".repeat(64)));
        assert!(format!("{c:?}").contains("<redacted>") && !format!("{c:?}").contains("hunter2"));
    }
}

impl Config {
    /// How the controller authenticates to backends' doveadm API (the API key wins).
    /// The controller's settings for this site.
    pub fn controller_settings(&self) -> app::controller::ControllerSettings {
        use app::domain::planning::{
            group_balance::GroupBalanceSettings, host_failure::HostFailureSettings, load_balance::LoadBalanceSettings,
            supervision::SupervisionSettings,
        };
        app::controller::ControllerSettings {
            site: self.cluster_site.clone(),
            instance: self.controller_instance.clone(),
            dry_run: self.dry_run,
            group_balance_enabled: self.group_balance_enabled,
            host_failure: HostFailureSettings {
                min_logins: self.host_failure_min_logins,
                ratio: self.host_failure_ratio,
                cool_time: self.host_failure_cool_time,
                offline_ratio: self.host_offline_ratio,
                window: self.host_failure_window,
            },
            load_balance: LoadBalanceSettings {
                min_samples: u64::from(self.host_load_balance_min_samples),
                delta_threshold: self.host_load_balance_score_delta_threshold_ratio,
                group_cool_time: self.host_load_balance_group_min_cool_time,
                host_cool_time: self.host_load_balance_min_cool_time,
            },
            supervision: SupervisionSettings { start_timeout: self.group_move_start_timeout, finish_timeout: self.group_move_finish_timeout },
            group_balance: GroupBalanceSettings {
                slack_percent: self.group_balance_group_size_slack_percent,
                max_between_groups: self.group_balance_max_user_move_between_groups,
            },
            group_balance_max_user_moves_per_pass: self.group_balance_max_user_moves_per_pass,
            dns_failure_allowed: self.backend_reachability_dns_failure_allowed,
            score_window: self.host_load_balance_score_window,
            intervals: self.controller_intervals,
        }
    }

    pub fn doveadm_auth(&self) -> Option<crate::adapters::doveadm_http::DoveadmAuth> {
        use crate::adapters::doveadm_http::DoveadmAuth;
        match (&self.doveadm_api_key, &self.doveadm_password) {
            (Some(key), _) => Some(DoveadmAuth::ApiKey(key.0.clone())),
            (None, Some(password)) => Some(DoveadmAuth::Password(password.0.clone())),
            (None, None) => None,
        }
    }
}
