use std::sync::Arc;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::{
    domain::{
        operator::{parse_username, OperatorView},
        AppError,
    },
    ports::OperatorStore,
};

/// Login checks against the operator accounts.
pub struct Accounts {
    store: Arc<dyn OperatorStore>,
}

/// Said for both an unknown user and a wrong password, so that names cannot be probed.
const WRONG_CREDENTIALS: &str = "wrong username or password";

impl Accounts {
    pub(crate) fn new(store: Arc<dyn OperatorStore>) -> Self {
        Self { store }
    }

    /// Checks a login. Unknown and disabled accounts cost the same hash as a wrong password.
    pub async fn verify_login(&self, username: &str, password: &str) -> Result<OperatorView, AppError> {
        let username = parse_username(username).map_err(|_| AppError::invalid("password", WRONG_CREDENTIALS))?;
        let record = self.store.get_operator(&username).await?;
        let hash = record.as_ref().filter(|r| !r.disabled).map(|r| r.password_hash.clone());
        let password = password.to_string();
        let matches = run_blocking(move || match hash {
            Some(hash) => verify(&password, &hash),
            None => {
                // Spend the time of a real check so that timing does not tell which names exist.
                let _ = hash_password(&password);
                false
            }
        })
        .await?;
        match record {
            Some(record) if matches => Ok(OperatorView { username: record.username, role: record.role }),
            _ => Err(AppError::invalid("password", WRONG_CREDENTIALS)),
        }
    }

    /// The current state of an account, if it exists and is enabled.
    pub async fn active(&self, username: &str) -> Result<Option<OperatorView>, AppError> {
        Ok(self
            .store
            .get_operator(username)
            .await?
            .filter(|r| !r.disabled)
            .map(|r| OperatorView { username: r.username, role: r.role }))
    }
}

/// Hashes with argon2id and its default (OWASP) parameters.
pub(super) fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Password hashing takes tens of milliseconds of CPU: keep it off the async workers.
pub(super) async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("hashing task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("wrong", &hash));
        assert!(!verify("anything", "not a phc string"));
    }
}
