use std::sync::Arc;

use super::{
    accounts::{hash_password, run_blocking},
    Auditor, Caller,
};
use crate::ports::{read_all, Clock, OperatorRecord, OperatorStore};
use domain::{audit::AuditAction, token::TokenView};
use domain::{
    operator::{check_new_password, parse_username, OperatorSummary},
    page::MAX_PAGE_SIZE,
    AppError, Page, PageRequest, Role,
};

/// Operator accounts: add, change role, reset password, disable. Only admins get one.
pub struct OperatorAdmin {
    store: Arc<dyn OperatorStore>,
    audit: Auditor,
    clock: Arc<dyn Clock>,
    caller: Caller,
    recent: Arc<super::fresh::Accounts>,
    tokens: Arc<super::fresh::Tokens>,
}

/// The operator table is small; the last-admin check reads it whole, up to this many rows.
const MAX_OPERATORS: usize = 10_000;

/// How long the operators lock lasts should its holder die: far longer than any change takes.
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a change waits for another to finish: 20 tries, 100 ms apart.
const LOCK_TRIES: u32 = 20;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

fn summary(r: &OperatorRecord) -> OperatorSummary {
    OperatorSummary { username: r.username.clone(), role: r.role, disabled: r.disabled, created_at: r.created_at }
}

impl OperatorAdmin {
    pub(crate) fn new(
        store: Arc<dyn OperatorStore>,
        audit: Auditor,
        clock: Arc<dyn Clock>,
        caller: Caller,
        recent: Arc<super::fresh::Accounts>,
        tokens: Arc<super::fresh::Tokens>,
    ) -> Self {
        Self { store, audit, clock, caller, recent, tokens }
    }

    pub async fn list(&self, page: PageRequest) -> Result<Page<OperatorSummary>, AppError> {
        Ok(self.store.list_operators(page).await?.map(|r| summary(&r)))
    }

    /// Creates an account. Refuses a name that is taken.
    pub async fn add(&self, username: &str, role: Role, password: &str) -> Result<OperatorSummary, AppError> {
        let username = parse_username(username)?;
        check_new_password(password)?;
        let taken = || AppError::exists("username", format!("operator {username} already exists"));
        if self.store.get_operator(&username).await?.is_some() {
            return Err(taken());
        }
        let password = password.to_string();
        let password_hash = run_blocking(move || hash_password(&password)).await??;
        let record = OperatorRecord {
            username: username.clone(),
            role,
            password_hash,
            disabled: false,
            created_at: self.clock.now(),
        };
        let after = summary(&record);
        let insert = self.store.insert_operator(&record);
        // Created meanwhile by someone else: theirs stays.
        if !self
            .audit
            .apply(AuditAction::OperatorAdd, &username, None::<&OperatorSummary>, Some(&after), insert)
            .await?
        {
            return Err(taken());
        }
        Ok(after)
    }

    pub async fn set_role(&self, username: &str, role: Role) -> Result<OperatorSummary, AppError> {
        self.locked(self.change_role(username, role)).await
    }

    async fn change_role(&self, username: &str, role: Role) -> Result<OperatorSummary, AppError> {
        let record = self.existing(username).await?;
        self.refuse_self(&record, "change your own role")?;
        if record.role == Role::Admin && role != Role::Admin {
            self.keep_an_admin(&record.username).await?;
        }
        let changed = OperatorRecord { role, ..record.clone() };
        self.audit
            .apply(
                AuditAction::OperatorRole,
                username,
                Some(&summary(&record)),
                Some(&summary(&changed)),
                self.store.put_operator(&changed),
            )
            .await?;
        self.end_sessions(username).await?;
        Ok(summary(&changed))
    }

    pub async fn reset_password(&self, username: &str, password: &str) -> Result<(), AppError> {
        check_new_password(password)?;
        let record = self.existing(username).await?;
        let password = password.to_string();
        let password_hash = run_blocking(move || hash_password(&password)).await??;
        self.locked(async {
            // Read again under the lock: the hash took a while.
            let record = self.existing(&record.username).await?;
            let changed = OperatorRecord { password_hash, ..record };
            self.audit
                .apply(
                    AuditAction::OperatorPassword,
                    username,
                    None::<&()>,
                    None::<&()>,
                    self.store.put_operator(&changed),
                )
                .await
        })
        .await?;
        self.end_sessions(username).await?;
        self.revoke_tokens(username, "password reset").await
    }

    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<OperatorSummary, AppError> {
        self.locked(self.change_disabled(username, disabled)).await
    }

    async fn change_disabled(&self, username: &str, disabled: bool) -> Result<OperatorSummary, AppError> {
        let record = self.existing(username).await?;
        if disabled {
            self.refuse_self(&record, "disable your own account")?;
            if record.role == Role::Admin {
                self.keep_an_admin(&record.username).await?;
            }
        }
        let changed = OperatorRecord { disabled, ..record.clone() };
        let action = if disabled { AuditAction::OperatorDisable } else { AuditAction::OperatorEnable };
        self.audit
            .apply(
                action,
                username,
                Some(&summary(&record)),
                Some(&summary(&changed)),
                self.store.put_operator(&changed),
            )
            .await?;
        self.end_sessions(username).await?;
        if disabled {
            self.revoke_tokens(username, "account disabled").await?;
        }
        Ok(summary(&changed))
    }

    /// Revokes every live API token of `username`, each audited (`token.revoke`, the target
    /// saying `because`): a token follows its account, so a password reset or a disable ends
    /// the tokens made with the old password or by the disabled operator.
    async fn revoke_tokens(&self, username: &str, because: &str) -> Result<(), AppError> {
        let username = parse_username(username)?;
        let store = self.store.clone();
        let all = read_all(|page| store.list_tokens(page)).await?;
        for token in all.iter().filter(|t| t.owner == username && !t.revoked) {
            let before = TokenView::from(token);
            let after = TokenView { revoked: true, ..before.clone() };
            let target = format!("token {} of {} ({because})", token.id, token.owner);
            let (store, id) = (self.store.clone(), token.id);
            let revoked =
                self.audit.apply(AuditAction::TokenRevoke, &target, Some(&before), Some(&after), async move {
                    store.revoke_token(id).await
                });
            let revoked = revoked.await;
            self.tokens.forget(id);
            revoked?;
        }
        Ok(())
    }

    /// Runs `change` under the operators lock, so that two admins cannot each pass the
    /// last-admin check and then both write. When another change holds the lock for longer than
    /// a moment, this one is refused (try again); nothing was changed.
    async fn locked<T>(&self, change: impl std::future::Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let holder = uuid::Uuid::new_v4();
        let mut held = false;
        for _ in 0..LOCK_TRIES {
            if self.store.lock_operators(holder, LOCK_TTL).await? {
                held = true;
                break;
            }
            tokio::time::sleep(LOCK_RETRY).await;
        }
        if !held {
            return Err(AppError::Conflict("another change of operator accounts is in progress; try again".into()));
        }
        let result = change.await;
        if let Err(err) = self.store.unlock_operators(holder).await {
            tracing::warn!(error = %domain::logtext::Untrusted(&err), "cannot release the operators lock; it lapses by itself");
        }
        result
    }

    /// A new session epoch after the account changed: every session it had open ends. Done
    /// after the change, so that a login squeezed in between is ended too.
    async fn end_sessions(&self, username: &str) -> Result<(), AppError> {
        let username = parse_username(username)?;
        let ended = self.store.set_session_epoch(&username, uuid::Uuid::new_v4()).await.map_err(|e| {
            AppError::Unavailable(format!("the change was made, but its sessions could not be ended; retry: {e}"))
        });
        // Forgotten whatever the outcome: the change itself (a role, disabling) was made.
        self.recent.forget(&username);
        ended
    }

    async fn existing(&self, username: &str) -> Result<OperatorRecord, AppError> {
        let username = parse_username(username)?;
        self.store.get_operator(&username).await?.ok_or_else(|| AppError::NotFound(format!("operator {username}")))
    }

    fn refuse_self(&self, record: &OperatorRecord, what: &str) -> Result<(), AppError> {
        if record.username == self.caller.username() {
            return Err(AppError::Conflict(format!("you cannot {what}; ask another admin")));
        }
        Ok(())
    }

    /// Refuses to leave the controller without an enabled admin.
    async fn keep_an_admin(&self, losing: &str) -> Result<(), AppError> {
        let mut others = 0;
        let mut seen = 0;
        let mut cursor = None;
        loop {
            let page = self.store.list_operators(PageRequest::after(cursor, MAX_PAGE_SIZE)).await?;
            seen += page.items.len();
            others +=
                page.items.iter().filter(|r| r.role == Role::Admin && !r.disabled && r.username != losing).count();
            match page.next {
                Some(next) if seen < MAX_OPERATORS => cursor = Some(next),
                _ => break,
            }
        }
        if others == 0 {
            return Err(AppError::Conflict(format!("{losing} is the last enabled admin")));
        }
        Ok(())
    }
}
