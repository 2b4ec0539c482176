use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{audit::AuditRecord, Page};

/// One page of one day's audit records, filtered by operator and action prefix (admin).
/// `day` is `YYYY-MM-DD`; empty means today (UTC).
#[server(endpoint = "audit/list")]
pub async fn list_audit(
    day: String,
    operator: String,
    action: String,
    cursor: Option<String>,
) -> Result<Page<AuditRecord>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::PageRequest;

    finish(
        async {
            let (caller, services) = caller().await?;
            let reader = services.audit_log(&caller)?;
            let day = match day.trim() {
                "" => chrono::Utc::now().date_naive(),
                raw => {
                    raw.parse().map_err(|_| domain::AppError::invalid("day", "the day must look like 2026-11-28"))?
                }
            };
            reader.day(day, &operator, &action, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
