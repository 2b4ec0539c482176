//! The GeoDB in Cassandra: `CASSANDRA_*`.

use std::{fmt, str::FromStr};

use super::env::{parse_bool, Reader, Secret};

/// How the driver picks the node for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancingPolicy {
    /// Every node in turn (token-aware).
    RoundRobin,
    /// Nodes of `CASSANDRA_LOCAL_DC` first (token-aware).
    DcAwareRoundRobin,
}

/// A CQL consistency level, spelled as cqlsh does (`LOCAL_QUORUM`).
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
    /// `SimpleStrategy` with this replication factor.
    Simple { factor: u32 },
    /// `NetworkTopologyStrategy` with a factor per data centre.
    NetworkTopology { per_dc: Vec<(String, u32)> },
}

/// How to reach the GeoDB and how to read and write it.
#[derive(Debug, Clone)]
pub struct CassandraSettings {
    /// `CASSANDRA_SERVERS`: the contact points' hosts.
    pub servers: Vec<String>,
    /// `CASSANDRA_PORT`.
    pub port: u16,
    /// `CASSANDRA_KEYSPACE` / `CASSANDRA_GEODB_KEYSPACE`.
    pub keyspace: String,
    /// `CASSANDRA_LOCAL_DC` / `CASSANDRA_SITE`: the DC a DC-aware policy prefers.
    pub local_dc: String,
    /// `CASSANDRA_LOAD_BALANCING_POLICY`.
    pub load_balancing_policy: LoadBalancingPolicy,
    /// `CASSANDRA_USED_HOSTS_PER_REMOTE_DC`: above 0 permits failover to remote DCs.
    pub used_hosts_per_remote_dc: u32,
    /// Always 4: the only version the driver speaks.
    pub protocol_version: u8,
    /// Always false: TLS is refused at start-up rather than ignored.
    pub tls_enabled: bool,
    /// `CASSANDRA_USERNAME`: with the password, password authentication.
    pub username: Option<String>,
    /// `CASSANDRA_PASSWORD`.
    pub password: Option<Secret>,
    /// `CASSANDRA_CONSISTENCY`: for every read and write.
    pub consistency: ConsistencyLevel,
    /// `CASSANDRA_REPLICATION`: used only when the keyspace is created.
    pub replication: Replication,
}

impl CassandraSettings {
    /// Reads `CASSANDRA_*`.
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        let servers = r
            .get(&["CASSANDRA_SERVERS"], "localhost".to_string(), "a comma-separated list of host names or IPs", |s| {
                let hosts: Vec<&str> = s.split(',').map(str::trim).collect();
                hosts.iter().all(|h| !h.is_empty() && !h.contains(char::is_whitespace)).then(|| hosts.join(","))
            })
            .split(',')
            .map(str::to_string)
            .collect();
        Self {
            servers,
            port: r.number(&["CASSANDRA_PORT"], 9042u16, 1, u16::MAX),
            keyspace: r.get(
                &["CASSANDRA_KEYSPACE", "CASSANDRA_GEODB_KEYSPACE"],
                "d8s_cluster".to_string(),
                "a keyspace name: a letter, then up to 47 letters, digits or '_'",
                |s| is_cql_identifier(s).then(|| s.to_string()),
            ),
            local_dc: r.string(&["CASSANDRA_LOCAL_DC", "CASSANDRA_SITE"], "d8s_cluster"),
            load_balancing_policy: r.get(
                &["CASSANDRA_LOAD_BALANCING_POLICY"],
                LoadBalancingPolicy::DcAwareRoundRobin,
                "RoundRobin or DCAwareRoundRobin",
                |s| match s {
                    "RoundRobin" => Some(LoadBalancingPolicy::RoundRobin),
                    "DCAwareRoundRobin" => Some(LoadBalancingPolicy::DcAwareRoundRobin),
                    _ => None,
                },
            ),
            used_hosts_per_remote_dc: r.number(&["CASSANDRA_USED_HOSTS_PER_REMOTE_DC"], 0u32, 0, 1000),
            protocol_version: r.get(
                &["CASSANDRA_PROTOCOL_VERSION"],
                4u8,
                "4 (the protocol version the driver speaks)",
                |s| (s == "4").then_some(4),
            ),
            tls_enabled: r.get(
                &["CASSANDRA_TLS_ENABLED"],
                false,
                "false (TLS to Cassandra is not supported yet)",
                |s| parse_bool(s).filter(|b| !b),
            ),
            username: r.optional("CASSANDRA_USERNAME"),
            password: r.optional_secret("CASSANDRA_PASSWORD"),
            consistency: r.get(
                &["CASSANDRA_CONSISTENCY"],
                ConsistencyLevel::LocalQuorum,
                "ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM, EACH_QUORUM or ALL",
                |s| s.parse().ok(),
            ),
            replication: r.get(
                &["CASSANDRA_REPLICATION"],
                Replication::Simple { factor: 1 },
                "SimpleStrategy:N or NetworkTopologyStrategy:dc1=N,dc2=M",
                |s| s.parse().ok(),
            ),
        }
    }

    /// The contact points as `host:port`.
    pub fn contact_points(&self) -> Vec<String> {
        self.servers.iter().map(|h| format!("{h}:{}", self.port)).collect()
    }
}

fn is_cql_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 48
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
                        let valid =
                            !dc.is_empty() && dc.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                        if valid {
                            Ok((dc.to_string(), factor(n)?))
                        } else {
                            Err(())
                        }
                    })
                    .collect::<Result<Vec<_>, ()>>()?;
                Ok(Replication::NetworkTopology { per_dc })
            }
            _ => Err(()),
        }
    }
}
