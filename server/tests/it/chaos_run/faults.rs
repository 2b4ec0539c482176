//! The faults of a run, drawn from a seeded generator: each is applied, held a few seconds and
//! healed, and the stack is back to health before the next.

use std::{fmt, time::Duration};

use palomar_sim::Faults;
use rand::{rngs::StdRng, Rng};

use super::stack::{signal, Stack, SITE};
use crate::common;

/// Makes a fault of one kind, its target drawn.
type Maker = fn(&mut StdRng, &Stack) -> Fault;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL, then started again on its data.
    KillCassandra,
    /// SIGSTOP, then SIGCONT.
    StopCassandra,
    KillRedis,
    StopRedis,
    KillPrometheus,
    StopPrometheus,
    KillServer(usize),
    StopServer(usize),
    /// The chaos proxy drops every GeoDB connection of both servers and refuses new ones.
    CutGeoDb,
    CutRedis,
    /// A simulated backend goes down: logins and deliveries fail, its doveadm API refuses.
    BackendDown(String),
    /// Every backend of the site goes down.
    SiteDown,
    /// The simulator's clock jumps forward by this many seconds, and back when healed.
    ClockJump(i64),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::KillServer(i) => write!(f, "kill server {i}"),
            Fault::StopServer(i) => write!(f, "stop server {i}"),
            Fault::BackendDown(host) => write!(f, "backend {host} down"),
            Fault::ClockJump(secs) => write!(f, "simulator clock +{secs} s"),
            other => write!(f, "{}", format!("{other:?}").to_lowercase()),
        }
    }
}

impl Fault {
    /// One fault, drawn with weights: the slow ones (a Cassandra restart takes half a minute)
    /// less often.
    pub fn draw(rng: &mut StdRng, stack: &Stack) -> Fault {
        let weighted: [(u32, Maker); 13] = [
            (1, |_, _| Fault::KillCassandra),
            (2, |_, _| Fault::StopCassandra),
            (2, |_, _| Fault::KillRedis),
            (2, |_, _| Fault::StopRedis),
            (1, |_, _| Fault::KillPrometheus),
            (2, |_, _| Fault::StopPrometheus),
            (3, |rng, s| Fault::KillServer(rng.gen_range(0..s.servers.len()))),
            (3, |rng, s| Fault::StopServer(rng.gen_range(0..s.servers.len()))),
            (3, |_, _| Fault::CutGeoDb),
            (2, |_, _| Fault::CutRedis),
            (4, |rng, s| Fault::BackendDown(s.hosts[rng.gen_range(0..s.hosts.len())].clone())),
            (1, |_, _| Fault::SiteDown),
            (2, |rng, _| Fault::ClockJump(rng.gen_range(30..600))),
        ];
        let total: u32 = weighted.iter().map(|(w, _)| w).sum();
        let mut pick = rng.gen_range(0..total);
        for (weight, make) in weighted {
            if pick < weight {
                return make(rng, stack);
            }
            pick -= weight;
        }
        Fault::StopRedis
    }

    /// Whether the GeoDB is out of reach of the servers while this fault holds.
    pub fn cuts_geodb(&self) -> bool {
        matches!(self, Fault::KillCassandra | Fault::StopCassandra | Fault::CutGeoDb)
    }

    pub async fn apply(&self, stack: &mut Stack) {
        match self {
            Fault::KillCassandra => cassandra("kill").await,
            Fault::StopCassandra => signal(cassandra_pid(), "STOP"),
            Fault::KillRedis => stack.redis.kill().await,
            Fault::StopRedis => stack.redis.pid().into_iter().for_each(|pid| signal(pid, "STOP")),
            Fault::KillPrometheus => stack.prometheus.kill().await,
            Fault::StopPrometheus => stack.prometheus.pid().into_iter().for_each(|pid| signal(pid, "STOP")),
            Fault::KillServer(i) => stack.servers[*i].kill().await,
            Fault::StopServer(i) => stack.servers[*i].pid().into_iter().for_each(|pid| signal(pid, "STOP")),
            Fault::CutGeoDb => stack.geodb_proxy.cut(),
            Fault::CutRedis => stack.redis_proxy.cut(),
            Fault::BackendDown(host) => stack.sim.sim.set_faults(host, Faults::down()).expect("a known backend"),
            Fault::SiteDown => stack.sim.sim.set_site_faults(SITE, Faults::down()).expect("a known site"),
            Fault::ClockJump(secs) => stack.clock.jump(*secs),
        }
    }

    pub async fn heal(&self, stack: &mut Stack) {
        match self {
            Fault::KillCassandra => cassandra("resume").await,
            Fault::StopCassandra => signal(cassandra_pid(), "CONT"),
            Fault::KillRedis => stack.redis.start(),
            Fault::StopRedis => stack.redis.pid().into_iter().for_each(|pid| signal(pid, "CONT")),
            Fault::KillPrometheus => stack.prometheus.restart(),
            Fault::StopPrometheus => stack.prometheus.pid().into_iter().for_each(|pid| signal(pid, "CONT")),
            Fault::KillServer(i) => stack.servers[*i].start(),
            Fault::StopServer(i) => stack.servers[*i].pid().into_iter().for_each(|pid| signal(pid, "CONT")),
            Fault::CutGeoDb => stack.geodb_proxy.restore(),
            Fault::CutRedis => stack.redis_proxy.restore(),
            Fault::BackendDown(host) => stack.sim.sim.set_faults(host, Faults::default()).expect("a known backend"),
            Fault::SiteDown => stack.sim.sim.set_site_faults(SITE, Faults::default()).expect("a known site"),
            Fault::ClockJump(_) => stack.clock.jump(0),
        }
        for i in 0..stack.servers.len() {
            stack.wait_server(i, Duration::from_secs(120)).await;
        }
    }
}

/// The test Cassandra's pid (tools/cassandra keeps it in its run directory).
fn cassandra_pid() -> u32 {
    let dir = std::env::var("CASSANDRA_RUN_DIR").expect("CASSANDRA_RUN_DIR: the fault run kills the test Cassandra");
    let pid = std::fs::read_to_string(format!("{dir}/cassandra.pid")).expect("Cassandra's pid file");
    pid.trim().parse().expect("a pid")
}

/// `tools/cassandra/cassandra.sh kill|stop|resume`, which waits until the node is gone or ready.
pub async fn cassandra(action: &str) {
    let script = common::workspace_root().join("tools/cassandra/cassandra.sh");
    let status = tokio::process::Command::new("bash").arg(script).arg(action).status().await;
    assert!(status.is_ok_and(|s| s.success()), "cassandra.sh {action} failed");
}
