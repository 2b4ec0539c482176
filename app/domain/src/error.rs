use serde::{Deserialize, Serialize};

use super::{closed_set::closed_set, Role};

closed_set! {
    /// The kinds of [`AppError`]. After a form post made without JavaScript, the page's address
    /// carries only this word (`?error=`); the message stays in the session, so no address can
    /// make a page show a text of its choosing.
    pub enum ErrorKind("error kind", "error") {
        Unauthenticated = "unauthenticated",
        Forbidden = "forbidden",
        Invalid = "invalid",
        NotFound = "not_found",
        Conflict = "conflict",
        Exists = "exists",
        PreconditionFailed = "precondition_failed",
        Unavailable = "unavailable",
        Internal = "internal",
        Throttled = "throttled",
        ForeignOrigin = "foreign_origin",
    }
}

impl ErrorKind {
    /// What a page shows for an error of this kind when the session holds no message for it
    /// (an address followed or typed, not a form just sent).
    pub fn standing_text(self) -> &'static str {
        match self {
            Self::Unauthenticated => "please log in",
            Self::Forbidden => "your role may not do this",
            Self::Invalid => "a value in the form was refused: check it and send the form again",
            Self::NotFound => "what the form named was not found",
            Self::Conflict | Self::PreconditionFailed => {
                "it changed meanwhile or is busy; nothing was overwritten: reload the page, then decide"
            }
            Self::Exists => "that name is taken",
            Self::Unavailable => "the store is unavailable, nothing was changed: try again in a moment",
            Self::Internal => "something went wrong on the server; nothing was changed",
            Self::Throttled => "too many failed logins: wait a moment, then try again",
            Self::ForeignOrigin => "the form was sent from a page of another origin than the controller's",
        }
    }

    /// The error a page shows for this kind on `field`, with [`Self::standing_text`].
    pub fn standing_error(self, field: &str) -> AppError {
        AppError::Invalid { field: field.to_string(), message: self.standing_text().to_string() }
    }
}

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

    /// What kind of error this is.
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            Self::Unauthenticated => ErrorKind::Unauthenticated,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::Invalid { .. } => ErrorKind::Invalid,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Exists { .. } => ErrorKind::Exists,
            Self::PreconditionFailed(_) => ErrorKind::PreconditionFailed,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
            Self::Throttled { .. } => ErrorKind::Throttled,
            Self::ForeignOrigin(_) => ErrorKind::ForeignOrigin,
        }
    }

    /// The kind's word: a metric label, and all a plain form post's redirect says of its error.
    pub fn kind(&self) -> &'static str {
        self.error_kind().as_str()
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
