use std::{
    net::IpAddr,
    sync::{Arc, OnceLock},
    time::Instant,
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use tokio::sync::Semaphore;

use super::{
    fresh,
    throttle::{Attempt, KnownDevice, LoginThrottle},
    SessionHolder,
};
use crate::ports::OperatorStore;
use domain::{
    operator::{parse_username, OperatorView, MAX_PASSWORD_CHARS},
    AppError,
};

/// Login checks against the operator accounts, and the session epochs that revoke sessions
/// (a new epoch is set by [`super::OperatorAdmin`] when an account changes).
pub struct Accounts {
    store: Arc<dyn OperatorStore>,
    throttle: Arc<LoginThrottle>,
    recent: Arc<fresh::Accounts>,
}

/// Said for both an unknown user and a wrong password, so that names cannot be probed.
const WRONG_CREDENTIALS: &str = "wrong username or password";

/// What a session remembers of the account at login: a later revocation changes the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    pub operator: OperatorView,
    /// The account's session epoch at login, as the session stores it (empty: none yet).
    pub epoch: String,
}

impl Accounts {
    pub(crate) fn new(
        store: Arc<dyn OperatorStore>,
        throttle: Arc<LoginThrottle>,
        recent: Arc<fresh::Accounts>,
    ) -> Self {
        Self { store, throttle, recent }
    }

    /// Checks a login from `address`, by a browser that may hold a device cookie. Unknown and
    /// disabled accounts cost the same hash as a wrong password; too many failures (see
    /// [`LoginThrottle`]) answer [`AppError::Throttled`] without checking anything.
    pub async fn verify_login(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
        device: Option<&KnownDevice>,
    ) -> Result<LoggedIn, AppError> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(AppError::invalid("password", format!("at most {MAX_PASSWORD_CHARS} characters")));
        }
        let attempt = Attempt { username, address, device };
        if let Some(wait) = self.throttle.wait(&attempt, Instant::now()) {
            return Err(AppError::Throttled { retry_after_secs: wait.as_secs().max(1) });
        }
        let verdict = self.check_password(username, password).await;
        match &verdict {
            Ok(_) => self.throttle.succeeded(&attempt),
            Err(AppError::Invalid { .. }) => self.throttle.failed(&attempt, Instant::now()),
            Err(_) => {}
        }
        let operator = verdict?;
        let epoch = self.epoch(&operator.username).await?;
        Ok(LoggedIn { operator, epoch })
    }

    async fn check_password(&self, username: &str, password: &str) -> Result<OperatorView, AppError> {
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

    /// The account behind a session, if the session still stands: the account exists, is
    /// enabled, and no revocation happened since the session's login (`epoch`). Every request
    /// asks, so the account is reused for [`fresh::ACCOUNTS_FRESH_FOR`].
    pub async fn session_holder(&self, username: &str, epoch: &str) -> Result<Option<SessionHolder>, AppError> {
        let account = self.recent.of(username).await?;
        Ok(account.active.clone().filter(|_| account.epoch == epoch).map(SessionHolder::checked))
    }

    /// The account's session epoch as a session stores it.
    pub async fn epoch(&self, username: &str) -> Result<String, AppError> {
        Ok(self.store.session_epoch(username).await?.map(|e| e.to_string()).unwrap_or_default())
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

/// Password hashing takes tens of milliseconds of CPU and 19 MiB of memory: keep it off the
/// async workers, and run at most one per core so that a flood of logins queues instead of
/// exhausting the blocking pool and the memory.
pub(super) async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    let _permit =
        hashing_permits().acquire().await.map_err(|e| AppError::Internal(format!("hashing limiter closed: {e}")))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("hashing task failed: {e}")))
}

/// One permit per core the process may use.
pub(super) fn hashing_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)))
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

    #[tokio::test]
    async fn concurrent_hashes_are_bounded_by_the_cores() {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..cores * 4)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(run_blocking(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(most <= cores, "{most} hashes at once on {cores} cores");
    }
}
