//! Operator accounts, by username.

use std::{
    ops::Bound,
    time::{Duration, Instant},
};

use domain::{token::TokenRecord, Page, PageRequest};

use async_trait::async_trait;
use palomar_core::ports::{OperatorRecord, OperatorStore, StoreError};
use uuid::Uuid;

use super::{page, EmbeddedStore};

#[async_trait]
impl OperatorStore for EmbeddedStore {
    async fn get_operator(&self, username: &str) -> Result<Option<OperatorRecord>, StoreError> {
        Ok(self.read().operators.get(username).cloned())
    }

    async fn insert_operator(&self, operator: &OperatorRecord) -> Result<bool, StoreError> {
        let mut tables = self.write();
        if tables.operators.contains_key(&operator.username) {
            return Ok(false);
        }
        tables.operators.insert(operator.username.clone(), operator.clone());
        Ok(true)
    }

    async fn lock_operators(&self, holder: Uuid, ttl: Duration) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let now = Instant::now();
        match tables.operators_lock {
            Some((other, until)) if other != holder && until > now => Ok(false),
            _ => {
                tables.operators_lock = Some((holder, now + ttl));
                Ok(true)
            }
        }
    }

    async fn unlock_operators(&self, holder: Uuid) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables.operators_lock.is_some_and(|(current, _)| current == holder) {
            tables.operators_lock = None;
        }
        Ok(())
    }

    async fn put_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError> {
        self.write().operators.insert(operator.username.clone(), operator.clone());
        Ok(())
    }

    async fn list_operators(&self, request: PageRequest) -> Result<Page<OperatorRecord>, StoreError> {
        page(
            &self.read().operators,
            Bound::Unbounded,
            Bound::Unbounded,
            &request,
            |c| Some(c.to_string()),
            String::clone,
        )
    }

    async fn session_epoch(&self, username: &str) -> Result<Option<uuid::Uuid>, StoreError> {
        Ok(self.read().session_epochs.get(username).copied())
    }

    async fn set_session_epoch(&self, username: &str, epoch: uuid::Uuid) -> Result<(), StoreError> {
        self.write().session_epochs.insert(username.to_string(), epoch);
        Ok(())
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<bool, StoreError> {
        let mut tables = self.write();
        if tables.api_tokens.contains_key(&token.id) {
            return Ok(false);
        }
        tables.api_tokens.insert(token.id, token.clone());
        Ok(true)
    }

    async fn get_token(&self, id: Uuid) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.read().api_tokens.get(&id).cloned())
    }

    async fn list_tokens(&self, request: PageRequest) -> Result<Page<TokenRecord>, StoreError> {
        page(&self.read().api_tokens, Bound::Unbounded, Bound::Unbounded, &request, |c| c.parse().ok(), Uuid::to_string)
    }

    async fn revoke_token(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.write().api_tokens.get_mut(&id).map(|t| t.revoked = true).is_some())
    }
}
