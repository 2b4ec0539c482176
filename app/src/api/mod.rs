//! Server functions, one per file, by area. Each one checks the session and the role, then
//! calls a service from the context. All of them except `auth/login` need a session.

pub mod audit;
pub mod auth;
pub mod operators;
pub mod sites;
pub mod tags;

#[cfg(feature = "ssr")]
pub mod support;
