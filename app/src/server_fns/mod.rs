//! Server functions, one per file, by area. Each one checks the session and the role, then
//! calls a service from the context. All of them except `auth/login` need a session.

pub mod audit;
pub mod auth;
pub mod backends;
pub mod controller;
pub mod dashboard;
pub mod decisions;
pub mod force_moves;
pub mod groups;
pub mod moves;
pub mod operators;
pub mod replays;
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
use serde::{Deserialize, Serialize};

use domain::AppError;

/// A server function's failure as the browser receives it: the domain's [`AppError`], in JSON.
/// A type of the UI's own, because the domain does not depend on leptos (whose trait this
/// implements); it derefs to the [`AppError`] for the pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UiError(pub AppError);

impl From<AppError> for UiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl From<UiError> for AppError {
    fn from(error: UiError) -> Self {
        error.0
    }
}

impl std::ops::Deref for UiError {
    type Target = AppError;

    fn deref(&self) -> &AppError {
        &self.0
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self(match value {
            // Missing or malformed arguments are the caller's input, not our fault.
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                AppError::Invalid { field: String::new(), message: format!("bad request: {message}") }
            }
            other => AppError::Internal(other.to_string()),
        })
    }
}
