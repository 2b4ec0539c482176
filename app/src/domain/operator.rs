use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::AppError;
use super::{logtext::Untrusted, validate};

/// What an operator may do. Ordered: each role may do everything the lower ones may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Statuses, load factors, moves and feature states.
    Operator,
    /// Operators, settings, topology (sites and tags), deletes and forced actions.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(AppError::invalid(
                "role",
                format!("unknown role {:?}: use viewer, operator or admin", Untrusted(other)),
            )),
        }
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
