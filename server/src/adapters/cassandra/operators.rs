use app::{
    domain::{Page, PageRequest, Role},
    ports::{OperatorRecord, OperatorStore, StoreError},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};

use super::{prepare, CassandraStore};

pub(super) struct Statements {
    get: PreparedStatement,
    put: PreparedStatement,
    insert: PreparedStatement,
    list: PreparedStatement,
    lock: PreparedStatement,
    unlock: PreparedStatement,
    get_epoch: PreparedStatement,
    put_epoch: PreparedStatement,
}

const COLUMNS: &str = "username, role, password_hash, disabled, created_at";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            get: prepare(session, ks, &format!("SELECT {COLUMNS} FROM {{ks}}.controller_operators WHERE username = ?"))
                .await?,
            put: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.controller_operators ({COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
            )
            .await?,
            insert: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.controller_operators ({COLUMNS}) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"),
            )
            .await?,
            list: prepare(session, ks, &format!("SELECT {COLUMNS} FROM {{ks}}.controller_operators")).await?,
            lock: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_locks (name, holder) VALUES ('operators', ?) IF NOT EXISTS USING TTL ?",
            )
            .await?,
            unlock: prepare(session, ks, "DELETE FROM {ks}.controller_locks WHERE name = 'operators' IF holder = ?")
                .await?,
            get_epoch: prepare(session, ks, "SELECT epoch FROM {ks}.controller_operator_sessions WHERE username = ?")
                .await?,
            put_epoch: prepare(
                session,
                ks,
                "INSERT INTO {ks}.controller_operator_sessions (username, epoch) VALUES (?, ?)",
            )
            .await?,
        })
    }
}

#[derive(DeserializeRow)]
struct OperatorRow {
    username: String,
    role: Option<String>,
    password_hash: Option<String>,
    disabled: Option<bool>,
    created_at: Option<DateTime<Utc>>,
}

impl From<OperatorRow> for OperatorRecord {
    fn from(r: OperatorRow) -> Self {
        // An unreadable role gets the least privilege rather than failing the whole read.
        let role = r.role.and_then(|s| s.parse().ok()).unwrap_or(Role::Viewer);
        OperatorRecord {
            username: r.username,
            role,
            password_hash: r.password_hash.unwrap_or_default(),
            disabled: r.disabled.unwrap_or(false),
            created_at: r.created_at.unwrap_or_default(),
        }
    }
}

#[async_trait]
impl OperatorStore for CassandraStore {
    async fn get_operator(&self, username: &str) -> Result<Option<OperatorRecord>, StoreError> {
        self.one::<OperatorRow, _>(&self.operator_statements.get, (username,)).await
    }

    async fn insert_operator(&self, o: &OperatorRecord) -> Result<bool, StoreError> {
        let values = (&o.username, o.role.as_str(), &o.password_hash, o.disabled, o.created_at);
        self.conditional(&self.operator_statements.insert, values).await
    }

    async fn lock_operators(&self, holder: uuid::Uuid, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let ttl = i32::try_from(ttl.as_secs().max(1)).unwrap_or(i32::MAX);
        self.conditional(&self.operator_statements.lock, (holder, ttl)).await
    }

    async fn unlock_operators(&self, holder: uuid::Uuid) -> Result<(), StoreError> {
        self.conditional(&self.operator_statements.unlock, (holder,)).await.map(|_| ())
    }

    async fn put_operator(&self, o: &OperatorRecord) -> Result<(), StoreError> {
        let values = (&o.username, o.role.as_str(), &o.password_hash, o.disabled, o.created_at);
        self.write(&self.operator_statements.put, values).await
    }

    async fn list_operators(&self, page: PageRequest) -> Result<Page<OperatorRecord>, StoreError> {
        self.list::<OperatorRow, _>(&self.operator_statements.list, (), &page).await
    }

    async fn session_epoch(&self, username: &str) -> Result<Option<uuid::Uuid>, StoreError> {
        let row = self.one::<EpochRow, EpochRow>(&self.operator_statements.get_epoch, (username,)).await?;
        Ok(row.and_then(|r| r.epoch))
    }

    async fn set_session_epoch(&self, username: &str, epoch: uuid::Uuid) -> Result<(), StoreError> {
        self.write(&self.operator_statements.put_epoch, (username, epoch)).await
    }
}

#[derive(DeserializeRow)]
struct EpochRow {
    epoch: Option<uuid::Uuid>,
}
