//! Adapters: the ports' implementations. Real: `cassandra`, `redis_sessions`, `doveadm_http`,
//! `prometheus`. Embedded, for the demo and the fast tests: `embedded` (GeoDB and operators)
//! and `sim_metrics` (metrics read from the in-process simulator).

pub mod cassandra;
pub mod doveadm_http;
pub mod embedded;
pub mod prometheus;
pub mod redis_sessions;
pub mod sim_metrics;
