//! Application services: the only way server functions and the CLI reach the stores.
//!
//! Access control is expressed in types: a mutating service can only be obtained from
//! [`Services`] with a [`Caller`] whose role allows it, so a handler that could misuse it
//! cannot even hold one. Every mutating service writes its audit record before it writes.

mod accounts;
mod audit;
mod operators;
mod topology;

use std::sync::Arc;

pub use accounts::Accounts;
pub use audit::AuditReader;
pub(crate) use audit::Auditor;
pub use operators::OperatorAdmin;
pub use topology::{TopologyAdmin, TopologyReader};

use crate::{
    domain::{AppError, Role},
    ports::{AuditLog, Clock, GeoDb, Metrics, OperatorStore, StoreError},
};

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The peer address, with the `X-Forwarded-For` chain in front when a proxy sent one.
    pub client_ip: String,
    pub user_agent: String,
}

/// An operator whose session has been checked against the operator store.
/// Only [`crate::api::support::caller`] (from a session) and [`Caller::trusted_cli`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    username: String,
    role: Role,
    origin: RequestOrigin,
}

impl Caller {
    pub(crate) fn from_checked_session(username: String, role: Role, origin: RequestOrigin) -> Self {
        Self { username, role, origin }
    }

    /// The local administrator running a server subcommand on the host itself.
    pub fn trusted_cli() -> Self {
        Self {
            username: "cli".into(),
            role: Role::Admin,
            origin: RequestOrigin { client_ip: "local".into(), user_agent: "palomar command line".into() },
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn origin(&self) -> &RequestOrigin {
        &self.origin
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

/// The adapters the services run on.
#[derive(Clone)]
pub struct Ports {
    pub geodb: Arc<dyn GeoDb>,
    pub operators: Arc<dyn OperatorStore>,
    pub audit: Arc<dyn AuditLog>,
    pub metrics: Arc<dyn Metrics>,
    pub clock: Arc<dyn Clock>,
}

/// Everything the services need, built once at start-up and shared through the Leptos context.
#[derive(Clone)]
pub struct Services {
    ports: Ports,
}

impl Services {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    fn auditor(&self, caller: &Caller) -> Auditor {
        Auditor::new(self.ports.audit.clone(), self.ports.clock.clone(), caller.clone())
    }

    /// Login checks. Needs no caller: logging in is how one becomes a caller.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.ports.operators.clone())
    }

    /// Read access to sites and tags: any role.
    pub fn topology(&self, _caller: &Caller) -> TopologyReader {
        TopologyReader::new(self.ports.geodb.clone(), self.ports.metrics.clone())
    }

    /// Changes to sites and tags: admins only.
    pub fn topology_admin(&self, caller: &Caller) -> Result<TopologyAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(TopologyAdmin::new(self.ports.geodb.clone(), self.auditor(caller)))
    }

    /// Operator accounts: admins only.
    pub fn operator_admin(&self, caller: &Caller) -> Result<OperatorAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(OperatorAdmin::new(self.ports.operators.clone(), self.auditor(caller), self.ports.clock.clone(), caller.clone()))
    }

    /// The audit log: admins only (it shows who did what from where).
    pub fn audit_log(&self, caller: &Caller) -> Result<AuditReader, AppError> {
        caller.require(Role::Admin)?;
        Ok(AuditReader::new(self.ports.audit.clone()))
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
