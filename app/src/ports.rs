//! The ports: small traits for everything the services need from the outside world.
//! Real adapters (Cassandra, Redis) and embedded in-process ones live in the `server` crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{
    geodb::{Backend, User, UserGroup},
    Page, PageRequest, Role, Site, Tag,
};

/// Why a store call failed. Adapters map their driver errors onto these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer or refused the request; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A cursor that this store did not hand out.
    #[error("bad page cursor")]
    BadCursor,
    /// A stored row this version cannot read.
    #[error("unreadable row: {0}")]
    Corrupt(String),
}

/// Dovecot's shared GeoDB (`d8s_cluster`). Every list is paged; no call reads a table whole.
#[async_trait]
pub trait GeoDb: Send + Sync + 'static {
    async fn list_tags(&self, page: PageRequest) -> Result<Page<Tag>, StoreError>;
    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError>;
    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError>;
    async fn delete_tag(&self, id: Uuid) -> Result<(), StoreError>;

    async fn list_sites(&self, page: PageRequest) -> Result<Page<Site>, StoreError>;
    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError>;
    async fn put_site(&self, site: &Site) -> Result<(), StoreError>;
    async fn delete_site(&self, id: Uuid) -> Result<(), StoreError>;

    /// One site's backends (one partition).
    async fn list_backends(&self, site_id: Uuid, page: PageRequest) -> Result<Page<Backend>, StoreError>;
    async fn put_backend(&self, backend: &Backend) -> Result<(), StoreError>;

    /// One site's groups (one partition), in name order.
    async fn list_groups(&self, site_id: Uuid, page: PageRequest) -> Result<Page<UserGroup>, StoreError>;
    async fn put_group(&self, group: &UserGroup) -> Result<(), StoreError>;

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn put_user(&self, user: &User) -> Result<(), StoreError>;
}

/// An operator account as stored in the controller's own table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub username: String,
    pub role: Role,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// The controller's operator accounts.
#[async_trait]
pub trait OperatorStore: Send + Sync + 'static {
    async fn get_operator(&self, username: &str) -> Result<Option<OperatorRecord>, StoreError>;
    async fn put_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError>;
    async fn list_operators(&self, page: PageRequest) -> Result<Page<OperatorRecord>, StoreError>;
}

/// The wall clock, behind a port so that tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
