//! API tokens: how scripts (the `palomar cluster` command line, Ansible, Terraform) reach
//! `/api/v1` without a browser session.
//!
//! A token is shown once, as `palomar_<id>_<secret>`; the controller keeps only a SHA-256 of
//! the secret (the secret is 256 random bits, so a fast hash is enough: there is nothing to
//! guess). It acts with the lower of its own role and its owner's current role, and never after
//! it expires, is revoked, or its owner is disabled.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{operator::Role, validate, AppError};

/// What every token starts with, so that a leaked one is easy to recognise (secret scanners).
pub const TOKEN_PREFIX: &str = "palomar_";
/// How long a token lives when its creator does not say.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// The longest a token may live: a forgotten token should not work for ever.
pub const MAX_TOKEN_DAYS: u32 = 366;
/// Bytes of a token's secret.
pub const SECRET_BYTES: usize = 32;

/// A token as stored: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: Uuid,
    /// The operator the token acts as.
    pub owner: String,
    /// The most the token may do (its owner's current role may be less).
    pub role: Role,
    /// What it is for, as its creator said ("ansible", "backup check").
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

impl TokenRecord {
    /// Whether the token may act at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && now < self.expires_at
    }
}

/// A token as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: Uuid,
    pub owner: String,
    pub role: Role,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
    /// Whether it had expired when read.
    pub expired: bool,
}

impl TokenView {
    /// The token as read at `now`.
    pub fn at(t: &TokenRecord, now: DateTime<Utc>) -> Self {
        Self { expired: now >= t.expires_at, ..Self::from(t) }
    }
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> Self {
        Self {
            id: t.id,
            owner: t.owner.clone(),
            role: t.role,
            name: t.name.clone(),
            created_by: t.created_by.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked: t.revoked,
            expired: false,
        }
    }
}

/// A token just created: the only time its full text exists outside its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub token: TokenView,
    /// `palomar_<id>_<secret>`: shown once.
    pub secret: String,
}

/// The tokens page: the tokens the caller may see, and one just created (shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensView {
    pub tokens: Vec<TokenView>,
    pub created: Option<NewToken>,
    /// Whether the caller may create tokens for others and sees everyone's.
    pub admin: bool,
    /// The caller's name: a token's owner by default.
    pub me: String,
}

/// What a creator asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub owner: String,
    pub role: Role,
    pub name: String,
    pub lifetime: Duration,
}

impl TokenRequest {
    /// Checks a request from a form or the API: a name of 1 to 100 characters, a known role, and
    /// 1 to [`MAX_TOKEN_DAYS`] days (none: [`DEFAULT_TOKEN_DAYS`]).
    pub fn parse(owner: &str, role: Role, name: &str, days: Option<u32>) -> Result<Self, AppError> {
        let name = name.trim();
        validate::bounded("name", name, 1, 100)?;
        if name.chars().any(char::is_control) {
            return Err(AppError::invalid("name", "the name has control characters"));
        }
        let days = days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(AppError::invalid("days", format!("a token lives 1 to {MAX_TOKEN_DAYS} days")));
        }
        Ok(Self { owner: owner.to_string(), role, name: name.to_string(), lifetime: Duration::days(days.into()) })
    }
}

/// The two halves of a presented token, or `None` when it cannot be one of ours.
pub fn split_token(presented: &str) -> Option<(Uuid, &str)> {
    let rest = presented.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() || secret.len() > 128 {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

/// The text of a token: `palomar_<id as 32 hex digits>_<secret>`.
pub fn token_text(id: Uuid, secret: &str) -> String {
    format!("{TOKEN_PREFIX}{}_{secret}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_text_splits_back_into_its_id_and_secret() {
        let id = Uuid::new_v4();
        let text = token_text(id, "s3cr3t-_x");
        assert_eq!(split_token(&text), Some((id, "s3cr3t-_x")));
        for bad in ["", "palomar_", "palomar_abc_def", "bearer palomar_x", &text.replace("palomar_", "other_")] {
            assert_eq!(split_token(bad), None, "{bad:?}");
        }
        let long = token_text(id, &"x".repeat(129));
        assert_eq!(split_token(&long), None, "bounded");
    }

    #[test]
    fn requests_are_bounded() {
        assert!(TokenRequest::parse("alice", Role::Viewer, "ansible", None).is_ok());
        assert_eq!(TokenRequest::parse("alice", Role::Viewer, " ", None).unwrap_err().field(), Some("name"));
        assert_eq!(TokenRequest::parse("alice", Role::Viewer, "x", Some(0)).unwrap_err().field(), Some("days"));
        assert_eq!(TokenRequest::parse("alice", Role::Viewer, "x", Some(400)).unwrap_err().field(), Some("days"));
        assert_eq!(TokenRequest::parse("alice", Role::Viewer, "a\nb", None).unwrap_err().field(), Some("name"));
    }

    #[test]
    fn a_token_stops_at_expiry_or_revocation() {
        let now = Utc::now();
        let mut t = TokenRecord {
            id: Uuid::new_v4(),
            owner: "alice".into(),
            role: Role::Operator,
            name: "x".into(),
            secret_hash: String::new(),
            created_by: "alice".into(),
            created_at: now,
            expires_at: now + Duration::days(1),
            revoked: false,
        };
        assert!(t.usable_at(now));
        assert!(!t.usable_at(now + Duration::days(1)));
        t.revoked = true;
        assert!(!t.usable_at(now));
    }
}
