use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{token::TokenRecord, Page, PageRequest, Role};
use palomar_core::ports::{OperatorRecord, OperatorStore, StoreError};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

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
    insert_token: PreparedStatement,
    get_token: PreparedStatement,
    list_tokens: PreparedStatement,
    revoke_token: PreparedStatement,
}

const TOKEN_COLUMNS: &str = "id, owner, role, name, secret_hash, created_by, created_at, expires_at, revoked";
/// How long a token's row outlives its expiry: a page can still show it expired for a while.
const TOKEN_KEPT_AFTER_EXPIRY_SECS: i64 = 30 * 86_400;

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
            insert_token: prepare(
                session,
                ks,
                &format!(
                    "INSERT INTO {{ks}}.controller_api_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     IF NOT EXISTS USING TTL ?"
                ),
            )
            .await?,
            get_token: prepare(
                session,
                ks,
                &format!("SELECT {TOKEN_COLUMNS} FROM {{ks}}.controller_api_tokens WHERE id = ?"),
            )
            .await?,
            list_tokens: prepare(session, ks, &format!("SELECT {TOKEN_COLUMNS} FROM {{ks}}.controller_api_tokens"))
                .await?,
            revoke_token: prepare(
                session,
                ks,
                "UPDATE {ks}.controller_api_tokens USING TTL ? SET revoked = true WHERE id = ? IF EXISTS",
            )
            .await?,
        })
    }
}

#[derive(DeserializeRow)]
struct TokenRow {
    id: Uuid,
    owner: Option<String>,
    role: Option<String>,
    name: Option<String>,
    secret_hash: Option<String>,
    created_by: Option<String>,
    created_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    revoked: Option<bool>,
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            id: r.id,
            owner: r.owner.unwrap_or_default(),
            // An unreadable role gets the least privilege; a missing expiry, none left.
            role: r.role.and_then(|s| s.parse().ok()).unwrap_or(Role::Viewer),
            name: r.name.unwrap_or_default(),
            secret_hash: r.secret_hash.unwrap_or_default(),
            created_by: r.created_by.unwrap_or_default(),
            created_at: r.created_at.unwrap_or_default(),
            expires_at: r.expires_at.unwrap_or_default(),
            revoked: r.revoked.unwrap_or(true),
        }
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

    async fn insert_token(&self, t: &TokenRecord) -> Result<bool, StoreError> {
        let values = (
            t.id,
            &t.owner,
            t.role.as_str(),
            &t.name,
            &t.secret_hash,
            &t.created_by,
            t.created_at,
            t.expires_at,
            t.revoked,
            kept_for(t.expires_at),
        );
        self.conditional(&self.operator_statements.insert_token, values).await
    }

    async fn get_token(&self, id: uuid::Uuid) -> Result<Option<TokenRecord>, StoreError> {
        self.one::<TokenRow, _>(&self.operator_statements.get_token, (id,)).await
    }

    async fn list_tokens(&self, page: PageRequest) -> Result<Page<TokenRecord>, StoreError> {
        self.list::<TokenRow, _>(&self.operator_statements.list_tokens, (), &page).await
    }

    async fn revoke_token(&self, id: uuid::Uuid) -> Result<bool, StoreError> {
        // The flag lives as long as the row's other cells, not past them.
        let Some(token) = self.get_token(id).await? else { return Ok(false) };
        self.conditional(&self.operator_statements.revoke_token, (kept_for(token.expires_at), id)).await
    }
}

/// The TTL of a token's row: until a while after it expires.
fn kept_for(expires_at: DateTime<Utc>) -> i32 {
    let left = (expires_at - Utc::now()).num_seconds().max(0) + TOKEN_KEPT_AFTER_EXPIRY_SECS;
    i32::try_from(left).unwrap_or(i32::MAX)
}

#[derive(DeserializeRow)]
struct EpochRow {
    epoch: Option<uuid::Uuid>,
}
