//! API tokens: creating, listing and revoking them (operators for themselves, admins for
//! anyone), and turning a presented token into a [`Caller`].

use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{fresh, Auditor, Caller, RequestOrigin};
use crate::ports::{read_all, Clock, OperatorStore};
use domain::audit::AuditAction;
use domain::{
    token::{split_token, token_text, NewToken, TokenRecord, TokenRequest, TokenView, SECRET_BYTES},
    AppError, Role,
};

/// Hex SHA-256 of a token's secret: what the store keeps.
fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal without an early exit, so that the time taken says nothing of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks presented tokens (every API request). Tokens and accounts are reused for a moment
/// ([`fresh`]); a revocation through this instance takes effect at once.
pub(crate) struct TokenCheck {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: Arc<fresh::Tokens>,
    pub(crate) accounts: Arc<fresh::Accounts>,
}

impl TokenCheck {
    /// The caller a presented token acts as: its owner, with the lower of the token's role and
    /// the owner's current one. Any failure is [`AppError::Unauthenticated`], except an outage.
    pub(crate) async fn caller(&self, presented: &str, origin: RequestOrigin) -> Result<Caller, AppError> {
        let (id, secret) = split_token(presented.trim()).ok_or(AppError::Unauthenticated)?;
        let token = self.tokens.of(id).await?;
        let token = token.as_ref().as_ref().ok_or(AppError::Unauthenticated)?;
        if !same(&secret_hash(secret), &token.secret_hash) || !token.usable_at(self.clock.now()) {
            return Err(AppError::Unauthenticated);
        }
        let account = self.accounts.of(&token.owner).await?;
        let owner = account.active.as_ref().ok_or(AppError::Unauthenticated)?;
        let role = token.role.min(owner.role);
        Ok(Caller { username: owner.username.clone(), role, origin, token: Some(token.id) })
    }
}

/// Creating, listing and revoking tokens: operators for themselves, admins for anyone.
pub struct ApiTokens {
    pub(crate) store: Arc<dyn OperatorStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audit: Auditor,
    pub(crate) caller: Caller,
    pub(crate) tokens: Arc<fresh::Tokens>,
}

impl ApiTokens {
    /// Creates a token for `owner` (the caller when `None`), with at most the caller's role and
    /// at most the owner's. The answer holds the token's text: it is never shown again.
    pub async fn create(
        &self,
        owner: Option<&str>,
        role: Role,
        name: &str,
        days: Option<u32>,
    ) -> Result<NewToken, AppError> {
        let owner = owner.map(str::trim).filter(|o| !o.is_empty()).unwrap_or(self.caller.username());
        if owner != self.caller.username() {
            self.caller.require(Role::Admin)?;
        }
        let request = TokenRequest::parse(owner, role, name, days)?;
        if request.role > self.caller.role() {
            return Err(AppError::invalid(
                "role",
                format!("a token may do at most what you may: {}", self.caller.role()),
            ));
        }
        let account = self.store.get_operator(&request.owner).await?.filter(|a| !a.disabled);
        let account = account.ok_or_else(|| AppError::invalid("owner", format!("no enabled operator {owner}")))?;
        if request.role > account.role {
            return Err(AppError::invalid(
                "role",
                format!("{owner} is a {}: the token may do at most that", account.role),
            ));
        }
        let mut secret = [0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut secret);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let now = self.clock.now();
        let record = TokenRecord {
            id: Uuid::new_v4(),
            owner: request.owner,
            role: request.role,
            name: request.name,
            secret_hash: secret_hash(&secret),
            created_by: self.caller.username().to_string(),
            created_at: now,
            expires_at: now + request.lifetime,
            revoked: false,
        };
        let view = TokenView::from(&record);
        let target = format!("token {} of {}", record.id, record.owner);
        let store = self.store.clone();
        let inserted = self.audit.apply(AuditAction::TokenCreate, &target, None::<&()>, Some(&view), async {
            store.insert_token(&record).await
        });
        if !inserted.await? {
            return Err(AppError::Conflict("a token with this id exists; try again".into()));
        }
        Ok(NewToken { secret: token_text(record.id, &secret), token: view })
    }

    /// The caller's tokens; every token for an admin. Newest first.
    pub async fn list(&self) -> Result<Vec<TokenView>, AppError> {
        let store = self.store.clone();
        let all = read_all(|page| store.list_tokens(page)).await?;
        let mine = |t: &&TokenRecord| self.caller.role() >= Role::Admin || t.owner == self.caller.username();
        let now = self.clock.now();
        let mut views: Vec<TokenView> = all.iter().filter(mine).map(|t| TokenView::at(t, now)).collect();
        views.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        Ok(views)
    }

    /// Revokes one of the caller's tokens (an admin: anyone's), for good.
    pub async fn revoke(&self, id: Uuid) -> Result<TokenView, AppError> {
        // Another operator's token, to a caller who may not revoke it, is answered as an unknown
        // one: the answer must not tell which ids exist.
        let unknown = || AppError::NotFound(format!("token {id}"));
        let token = self.store.get_token(id).await?.ok_or_else(unknown)?;
        if token.owner != self.caller.username() && self.caller.require(Role::Admin).is_err() {
            return Err(unknown());
        }
        let before = TokenView::from(&token);
        let after = TokenView { revoked: true, ..before.clone() };
        let target = format!("token {id} of {}", token.owner);
        let store = self.store.clone();
        let revoked = self.audit.apply(AuditAction::TokenRevoke, &target, Some(&before), Some(&after), async move {
            store.revoke_token(id).await
        });
        let revoked = revoked.await;
        self.tokens.forget(id);
        if !revoked? {
            return Err(AppError::NotFound(format!("token {id}")));
        }
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_sha256_and_compared_whole() {
        let h = secret_hash("abc");
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same(&h, &secret_hash("abc")));
        assert!(!same(&h, &secret_hash("abd")));
        assert!(!same(&h, &h[..10]));
    }
}
