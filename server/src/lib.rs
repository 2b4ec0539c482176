//! The Palomar controller server: configuration, adapters, the demo data and the web server.

pub mod adapters;
pub mod cluster_cli;
pub mod config;
pub mod request_load;
pub mod seed;
pub mod simulate_cli;
pub mod web;
