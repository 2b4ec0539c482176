use serde::{Deserialize, Serialize};

use super::Role;

/// The one error type every server function returns. It travels to the browser, so it only
/// carries what an operator may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please log in")]
    Unauthenticated,
    #[error("the {have} role may not do this; it needs {need}")]
    Forbidden { need: Role, have: Role },
    /// Bad input. `field` names the form field so the page can show the message beside it.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0} was not found")]
    NotFound(String),
    /// The request is valid but the current state refuses it (e.g. a move already running).
    #[error("{0}")]
    Conflict(String),
    /// The name the request gives is taken. `field` names the form field.
    #[error("{message}")]
    Exists { field: String, message: String },
    /// The request's `If-Match` names another version than the current one: nothing was changed.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A dependency (Cassandra, Redis) did not answer. Nothing was written.
    #[error("the store is unavailable, nothing was changed: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// Too many failed logins: try again after this many seconds. Says nothing of which part
    /// of the login was wrong.
    #[error("too many failed logins: try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// A change sent from a page of another origin than the controller's; the message names both.
    #[error("{0}")]
    ForeignOrigin(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_string(), message: message.into() }
    }

    pub fn exists(field: &str, message: impl Into<String>) -> Self {
        Self::Exists { field: field.to_string(), message: message.into() }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } | Self::Exists { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Short machine-readable kind, used as a metric label and in no-JS form redirects.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden { .. } => "forbidden",
            Self::Invalid { .. } => "invalid",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Exists { .. } => "exists",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
            Self::Throttled { .. } => "throttled",
            Self::ForeignOrigin(_) => "foreign_origin",
        }
    }

    /// The HTTP status a server function answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden { .. } => 403,
            Self::Invalid { .. } => 422,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::Exists { .. } => 409,
            Self::PreconditionFailed(_) => 412,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
            Self::Throttled { .. } => 429,
            Self::ForeignOrigin(_) => 403,
        }
    }
}

/// Why a write was not made. Every write path (a group move, its force or cancel, a status
/// change) answers with one of these, so the caller can tell a refusal from an outage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The current state refuses it: a conditional write found the row changed, the thing is
    /// busy, or this controller no longer leads. Nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// What the write names does not exist.
    #[error("{0} was not found")]
    NotFound(String),
    /// The request itself is wrong. `field` names the form field.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The store or a dependency did not answer; retrying later may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl WriteError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_string(), message: message.into() }
    }

    /// The error variant as a metric label or decision outcome reason.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Refused(_) => "refused",
            Self::NotFound(_) => "not_found",
            Self::Invalid { .. } => "invalid",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

impl From<WriteError> for AppError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Refused(why) => AppError::Conflict(why),
            WriteError::NotFound(what) => AppError::NotFound(what),
            WriteError::Invalid { field, message } => AppError::Invalid { field, message },
            WriteError::Unavailable(why) => AppError::Unavailable(why),
        }
    }
}
