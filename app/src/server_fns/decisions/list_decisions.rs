use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::{decisions::DecisionRecord, Page};

/// One page of a site's decisions on one UTC day (`YYYY-MM-DD`; empty: today), newest first.
#[server(endpoint = "controller/decisions")]
pub async fn list_decisions(
    site_id: String,
    day: String,
    cursor: Option<String>,
) -> Result<Page<DecisionRecord>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{validate, PageRequest};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let day = match day.trim() {
                "" => chrono::Utc::now().date_naive(),
                text => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| domain::AppError::invalid("day", "a day is YYYY-MM-DD"))?,
            };
            services.controller(&caller)?.decisions(site_id, day, PageRequest::after(cursor, 100)).await
        }
        .await,
    )
    .await
}
