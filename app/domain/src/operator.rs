use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;

use super::validate;
use super::AppError;

closed_set! {
    /// What an operator may do. Ordered: each role may do everything the lower ones may.
    #[derive(PartialOrd, Ord)]
    pub enum Role("role", "role") {
        /// Reads everything, changes nothing.
        Viewer = "viewer",
        /// Statuses, load factors, moves and feature states.
        Operator = "operator",
        /// Operators, settings, topology (sites and tags), deletes and forced actions.
        Admin = "admin",
    }
}

/// The operator as the browser sees it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub username: String,
    pub role: Role,
}

/// An operator account as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSummary {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Checks an operator login name: 1 to 64 of `a-z A-Z 0-9 . _ @ -`.
pub fn parse_username(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    validate::bounded("username", name, 1, 64)?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')) {
        return Err(AppError::invalid(
            "username",
            "a username may only contain letters, digits, '.', '_', '@' and '-'",
        ));
    }
    Ok(name.to_string())
}

/// The longest password accepted, at login too: hashing is paid per byte.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks a new password: 12 to 1024 characters. Long passphrases are welcome.
pub fn check_new_password(password: &str) -> Result<(), AppError> {
    let len = password.chars().count();
    if len < 12 {
        return Err(AppError::invalid("password", "a password needs at least 12 characters"));
    }
    if len > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid("password", "a password may have at most 1024 characters"));
    }
    Ok(())
}
