//! Server functions, one per file, by area. Each one checks the session and the role, then
//! calls a service from the context. All of them except `auth/login` need a session.

pub mod audit;
pub mod auth;
pub mod backends;
pub mod controller;
pub mod groups;
pub mod operators;
pub mod settings;
pub mod sites;
pub mod stats;
pub mod tags;
pub mod users;

pub mod support_client;
#[cfg(feature = "ssr")]
pub mod support;
