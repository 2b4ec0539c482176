//! Application services: the only way server functions and the CLI reach the stores.
//!
//! Access control is expressed in types: a mutating service can only be obtained from
//! [`Services`] with a [`Caller`] whose role allows it, so a handler that could misuse it
//! cannot even hold one.

mod accounts;
mod topology;

use std::sync::Arc;

pub use accounts::Accounts;
pub use topology::{TopologyAdmin, TopologyReader};

use crate::{
    domain::{AppError, Role},
    ports::{Clock, GeoDb, Metrics, OperatorStore, StoreError},
};

/// An operator whose session has been checked against the operator store.
/// Only [`crate::auth::caller`] (from a session) and [`Caller::trusted_cli`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    username: String,
    role: Role,
}

impl Caller {
    pub(crate) fn from_checked_session(username: String, role: Role) -> Self {
        Self { username, role }
    }

    /// The local administrator running a server subcommand on the host itself.
    pub fn trusted_cli() -> Self {
        Self { username: "cli".into(), role: Role::Admin }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Succeeds when this caller's role is at least `need`.
    pub fn require(&self, need: Role) -> Result<(), AppError> {
        if self.role >= need {
            Ok(())
        } else {
            Err(AppError::Forbidden { need, have: self.role })
        }
    }
}

/// Everything the services need, built once at start-up and shared through the Leptos context.
#[derive(Clone)]
pub struct Services {
    geodb: Arc<dyn GeoDb>,
    operators: Arc<dyn OperatorStore>,
    metrics: Arc<dyn Metrics>,
    clock: Arc<dyn Clock>,
}

impl Services {
    pub fn new(geodb: Arc<dyn GeoDb>, operators: Arc<dyn OperatorStore>, metrics: Arc<dyn Metrics>, clock: Arc<dyn Clock>) -> Self {
        Self { geodb, operators, metrics, clock }
    }

    /// Login checks and operator accounts. Needs no caller: logging in is how one becomes a caller.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.operators.clone(), self.clock.clone())
    }

    /// Read access to sites and tags: any role.
    pub fn topology(&self, _caller: &Caller) -> TopologyReader {
        TopologyReader::new(self.geodb.clone(), self.metrics.clone())
    }

    /// Changes to sites and tags: admins only.
    pub fn topology_admin(&self, caller: &Caller) -> Result<TopologyAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(TopologyAdmin::new(self.geodb.clone()))
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(msg) => AppError::Unavailable(msg),
            StoreError::BadCursor => AppError::invalid("cursor", "this page link is no longer valid; start from the first page"),
            StoreError::Corrupt(msg) => AppError::Internal(msg),
        }
    }
}
