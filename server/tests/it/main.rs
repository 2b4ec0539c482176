//! The server's integration tests, one binary: each module is one area, `common` their shared setup.
//! Run one area with `cargo test -p server --test it <module>::`.

mod common;

mod api_coverage;
mod api_v1;
mod bounded_clients;
mod cassandra_schema;
mod ce_fidelity;
mod census_conformance;
mod chaos_run;
mod cli;
mod cluster_cli;
mod cluster_services;
mod controller_ce;
mod controller_chaos;
mod controller_end_to_end;
mod controller_scenarios;
mod dovecot24;
mod force_move;
mod form_races;
mod fuzz;
mod geodb_conformance;
mod leader_lease;
mod load;
mod log_injection;
mod metrics_exposition;
mod move_stream;
mod planners;
mod prometheus_pipeline;
mod prometheus_rules;
mod redis_sessions;
mod replay_end_to_end;
mod route_api;
mod simulator;
mod simulator_history;
mod topology_service;
mod web_auth;
mod web_security;
mod web_sessions;
mod write_races;
