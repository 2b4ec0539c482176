//! Server functions, one per file, by area. Each one checks the session and the role, then
//! calls a service from the context. All of them except `auth/login` need a session.

pub mod audit;
pub mod auth;
pub mod backends;
pub mod controller;
pub mod dashboard;
pub mod groups;
pub mod operators;
pub mod settings;
pub mod sites;
pub mod stats;
pub mod tags;
pub mod tokens;
pub mod users;

#[cfg(feature = "ssr")]
pub mod support;
pub mod support_client;

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

use crate::domain::AppError;

/// How a server function's failure travels: as an [`AppError`] in JSON. Kept here, at the
/// edge, so that the domain does not depend on leptos.
impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Missing or malformed arguments are the caller's input, not our fault.
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                Self::Invalid { field: String::new(), message: format!("bad request: {message}") }
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
