use domain::logtext::Untrusted;
use std::{future::Future, sync::Arc};

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::Caller;
use crate::ports::{AuditLog, Clock};
use domain::{
    audit::{AuditAction, AuditRecord},
    AppError, Page, PageRequest,
};

/// Writes the audit record of a mutation, then the mutation. If the record cannot be written,
/// nothing is changed; if the change then fails, a second record says so.
#[derive(Clone)]
pub(crate) struct Auditor {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    caller: Caller,
}

fn to_json<T: Serialize>(value: Option<&T>) -> String {
    value.and_then(|v| serde_json::to_string(v).ok()).unwrap_or_default()
}

impl Auditor {
    pub(crate) fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>, caller: Caller) -> Self {
        Self { log, clock, caller }
    }

    /// Who is acting, for status reasons.
    pub(crate) fn operator(&self) -> &str {
        self.caller.username()
    }

    fn record(&self, action: String, target: &str, before: String, after: String) -> AuditRecord {
        AuditRecord {
            id: Uuid::new_v4(),
            at: self.clock.now(),
            operator: self.caller.username().to_string(),
            client_ip: self.caller.origin().client_ip.clone(),
            user_agent: self.caller.origin().user_agent.clone(),
            action,
            target: target.to_string(),
            before,
            after,
            token: self.caller.token(),
        }
    }

    /// Audits `action` on `target` that changes nothing (an API token's use).
    pub(crate) async fn note(&self, action: AuditAction, target: &str) -> Result<(), AppError> {
        let record = self.record(action.to_string(), target, String::new(), String::new());
        self.log.append(&record).await.map_err(|e| AppError::Unavailable(format!("cannot write the audit record: {e}")))
    }

    /// Audits `action` on `target` (with the row before and after, as JSON), then runs `write`.
    /// A failed write is audited too, as `<action>.failed` with the error.
    pub(crate) async fn apply<B: Serialize, A: Serialize, T, E: std::fmt::Display + Into<AppError>>(
        &self,
        action: AuditAction,
        target: &str,
        before: Option<&B>,
        after: Option<&A>,
        write: impl Future<Output = Result<T, E>>,
    ) -> Result<T, AppError> {
        let record = self.record(action.to_string(), target, to_json(before), to_json(after));
        self.log
            .append(&record)
            .await
            .map_err(|e| AppError::Unavailable(format!("cannot write the audit record, nothing was changed: {e}")))?;
        match write.await {
            Ok(value) => Ok(value),
            Err(err) => {
                let failed = self.record(format!("{action}.failed"), target, String::new(), err.to_string());
                if let Err(audit_err) = self.log.append(&failed).await {
                    tracing::error!(action = action.as_str(), target = %Untrusted(target), error = %Untrusted(&audit_err), "cannot record a failed mutation");
                }
                Err(err.into())
            }
        }
    }

    /// [`Auditor::apply`] for a conditional write (`Ok(false)`: the row changed since it was
    /// read). A refusal is audited as `<action>.refused` and answers a conflict naming `what`;
    /// nothing was overwritten.
    pub(crate) async fn apply_conditional<B: Serialize, A: Serialize, E: std::fmt::Display + Into<AppError>>(
        &self,
        action: AuditAction,
        target: &str,
        what: &str,
        before: Option<&B>,
        after: Option<&A>,
        write: impl Future<Output = Result<bool, E>>,
    ) -> Result<(), AppError> {
        if self.apply(action, target, before, after, write).await? {
            return Ok(());
        }
        let refused = self.record(format!("{action}.refused"), target, String::new(), "changed meanwhile".into());
        if let Err(err) = self.log.append(&refused).await {
            tracing::error!(action = action.as_str(), target = %Untrusted(target), error = %Untrusted(&err), "cannot record a refused mutation");
        }
        Err(super::changed_meanwhile(what))
    }
}

/// Reads the audit log, a day at a time, filtered by operator and action.
pub struct AuditReader {
    log: Arc<dyn AuditLog>,
}

impl AuditReader {
    pub(crate) fn new(log: Arc<dyn AuditLog>) -> Self {
        Self { log }
    }

    /// One page of a day's records, newest first. Filters apply within the page read, so a
    /// filtered page may be shorter than the page size; `next` still leads on.
    pub async fn day(
        &self,
        day: NaiveDate,
        operator: &str,
        action: &str,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, AppError> {
        let page = self.log.list_day(day, page).await?;
        let (operator, action) = (operator.trim(), action.trim());
        Ok(Page {
            items: page
                .items
                .into_iter()
                .filter(|r| operator.is_empty() || r.operator == operator)
                .filter(|r| action.is_empty() || r.action.starts_with(action))
                .collect(),
            next: page.next,
        })
    }
}
