//! The audit log: one record per mutation, whoever made it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who changed what, when, from where; `before` and `after` are JSON (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub operator: String,
    pub client_ip: String,
    pub user_agent: String,
    /// `area.verb`, e.g. `site.add`; a failed mutation adds a second record `…failed`.
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    /// The API token the operator acted through; `None` for the browser and the command line
    /// on the host.
    pub token: Option<Uuid>,
}

impl AuditRecord {
    /// The day partition a record belongs to (UTC).
    pub fn day(&self) -> NaiveDate {
        self.at.date_naive()
    }
}
