//! The Palomar controller server: configuration, adapters, the demo data and the web server.

pub mod adapters;
pub mod config;
pub mod demo;
pub mod web;
