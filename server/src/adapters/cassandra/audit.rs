use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{audit::AuditRecord, Page, PageRequest};
use palomar_core::ports::{AuditLog, StoreError};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use super::{prepare, CassandraStore};

pub(super) struct Statements {
    append: PreparedStatement,
    list_day: PreparedStatement,
}

const COLUMNS: &str = "day, at, id, operator, client_ip, user_agent, action, target, before, after, token_id";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            append: prepare(
                session,
                ks,
                &format!(
                    "INSERT INTO {{ks}}.controller_audit_log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
            )
            .await?,
            list_day: prepare(session, ks, &format!("SELECT {COLUMNS} FROM {{ks}}.controller_audit_log WHERE day = ?"))
                .await?,
        })
    }
}

#[derive(DeserializeRow)]
struct AuditRow {
    #[allow(dead_code)]
    day: String,
    at: DateTime<Utc>,
    id: Uuid,
    operator: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    action: Option<String>,
    target: Option<String>,
    before: Option<String>,
    after: Option<String>,
    token_id: Option<Uuid>,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        AuditRecord {
            id: r.id,
            at: r.at,
            operator: r.operator.unwrap_or_default(),
            client_ip: r.client_ip.unwrap_or_default(),
            user_agent: r.user_agent.unwrap_or_default(),
            action: r.action.unwrap_or_default(),
            target: r.target.unwrap_or_default(),
            before: r.before.unwrap_or_default(),
            after: r.after.unwrap_or_default(),
            token: r.token_id,
        }
    }
}

#[async_trait]
impl AuditLog for CassandraStore {
    async fn append(&self, r: &AuditRecord) -> Result<(), StoreError> {
        let day = r.day().to_string();
        let values = (
            day,
            r.at,
            r.id,
            &r.operator,
            &r.client_ip,
            &r.user_agent,
            &r.action,
            &r.target,
            &r.before,
            &r.after,
            r.token,
        );
        self.write(&self.audit_statements.append, values).await
    }

    async fn list_day(&self, day: NaiveDate, page: PageRequest) -> Result<Page<AuditRecord>, StoreError> {
        self.list::<AuditRow, _>(&self.audit_statements.list_day, (day.to_string(),), &page).await
    }
}
