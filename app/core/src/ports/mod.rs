//! The ports: small traits for everything the services need from the outside world.
//! Real adapters (Cassandra, Redis) and embedded in-process ones live in the `server` crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::doveadm::DoveadmCommand;
use uuid::Uuid;

use std::{collections::BTreeMap, time::Duration};

use domain::{
    audit::AuditRecord,
    moves::{PlanEntry, PlanSummary},
    token::TokenRecord,
    Page, PageRequest, Role,
};

mod geodb;
pub use geodb::{BackendTable, GeoDb, GroupTable, SettingTable, SiteTable, StatTables, TagTable, UserTable};
mod metrics;
pub use metrics::{Metrics, MetricsError, MAX_HISTORY_POINTS};
mod records;
pub use records::{history_backends, RecordStore, CENSUS_HISTORY_KEPT, MAX_HISTORY_BACKENDS, MAX_REPLAY_BYTES};

/// Reads every page of a paged list (for tables known to be small, or passes that must see
/// everything, like the controller's snapshot).
pub async fn read_all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(PageRequest::after(cursor, domain::page::MAX_PAGE_SIZE)).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// The id of the site named `name`, if there is one.
pub async fn site_id_by_name(geodb: &dyn SiteTable, name: &str) -> Result<Option<Uuid>, StoreError> {
    Ok(read_all(|page| geodb.list_sites(page)).await?.into_iter().find(|s| s.name == name).map(|s| s.id))
}

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
    /// A read asked for more than one call answers (`what`: the things counted); asking
    /// again the same way fails the same way.
    #[error("{asked} {what} asked for at once; at most {most}")]
    TooMany { what: &'static str, asked: usize, most: usize },
}

/// Which users the censuses found in each group: the controller's own table, so that a
/// group's users can be listed a page at a time (`users` is keyed by username only).
///
/// The census writes a row only for users whose membership was written since the previous
/// census (see [`GroupMembers::synced_at`]), so rows of users who left a group or were deleted
/// stay until a reader notices: whoever lists members checks them against the users' current
/// rows, hides the stale ones and removes them ([`GroupMembers::remove_member`]).
#[async_trait]
pub trait GroupMembers: Send + Sync + 'static {
    /// Records that each user is in their group, as of now (Cassandra: the row's write time).
    async fn put_members(&self, members: &[MemberRecord]) -> Result<(), StoreError>;
    /// One page of a group's recorded members, in username order.
    async fn list_members(&self, site_id: Uuid, group: &str, page: PageRequest) -> Result<Page<String>, StoreError>;
    /// Removes the record of `username` in the group unless it was recorded after
    /// `superseded_at` (the write time of the user's current membership, or when the user was
    /// found missing): a record that a census wrote meanwhile, for a user who came back, stays.
    async fn remove_member(
        &self,
        site_id: Uuid,
        group: &str,
        username: &str,
        superseded_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// When the census that last recorded every membership change began (the store's clock):
    /// memberships written before it (less a margin) are recorded. `None` before the first.
    async fn synced_at(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Notes that every membership written before `at` is recorded.
    async fn set_synced_at(&self, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// A row of the group members table: `username` is in `group` of `site_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub site_id: Uuid,
    pub group: String,
    pub username: String,
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
    /// Creates an account only if the name is free (a lightweight transaction). Returns whether
    /// it did.
    async fn insert_operator(&self, operator: &OperatorRecord) -> Result<bool, StoreError>;
    /// Replaces an account: only under the operators lock.
    async fn put_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError>;
    async fn list_operators(&self, page: PageRequest) -> Result<Page<OperatorRecord>, StoreError>;
    /// Takes the lock that every change of accounts runs under, so that a check over all of
    /// them (the last enabled admin) and the change that follows are one step. It lapses after
    /// `ttl` should its holder die. Returns whether `holder` got it.
    async fn lock_operators(&self, holder: Uuid, ttl: Duration) -> Result<bool, StoreError>;
    /// Gives the lock back if `holder` has it.
    async fn unlock_operators(&self, holder: Uuid) -> Result<(), StoreError>;
    /// The operator's session epoch: sessions opened under another one are over. `None` until
    /// the first revocation.
    async fn session_epoch(&self, username: &str) -> Result<Option<Uuid>, StoreError>;
    /// Starts a new session epoch, which ends every session the operator has open.
    async fn set_session_epoch(&self, username: &str, epoch: Uuid) -> Result<(), StoreError>;
    /// Stores a new API token only if its id is free. Returns whether it did.
    async fn insert_token(&self, token: &TokenRecord) -> Result<bool, StoreError>;
    async fn get_token(&self, id: Uuid) -> Result<Option<TokenRecord>, StoreError>;
    /// Every token, expired ones included until the store forgets them (a while after expiry).
    async fn list_tokens(&self, page: PageRequest) -> Result<Page<TokenRecord>, StoreError>;
    /// Revokes a token for good; `false` when there is no such token.
    async fn revoke_token(&self, id: Uuid) -> Result<bool, StoreError>;
}

/// The controller's audit log.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    async fn append(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// One UTC day's records, newest first.
    async fn list_day(&self, day: chrono::NaiveDate, page: PageRequest) -> Result<Page<AuditRecord>, StoreError>;
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

/// One row of a doveadm command's answer: the formatter's keys and values.
pub type DoveadmRow = BTreeMap<String, serde_json::Value>;

/// Why a doveadm HTTP API call failed, one variant per error shape of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DoveadmError {
    /// Connection refused, DNS failure or timeout: the backend is unreachable.
    #[error("doveadm API of {host} unreachable: {reason}")]
    Unreachable { host: String, reason: String },
    /// 401: wrong or missing credentials.
    #[error("doveadm API of {host} refused our credentials")]
    Unauthorized { host: String },
    /// Any other HTTP status (400 bad request, 404, 500 …), with the body Dovecot sent.
    #[error("doveadm API of {host} answered HTTP {status}: {body}")]
    Http { host: String, status: u16, body: String },
    /// `["error", {"type": "exitCode", "exitCode": N}]`: the command ran and failed.
    #[error("doveadm {command} on {host} failed with exit code {exit_code}")]
    Failed { host: String, command: String, exit_code: i64 },
    /// `["error", {"type": "<kind>"}]` for kinds unknownMethod, invalidRequest, unAuthorized, internalError.
    #[error("doveadm {command} on {host} refused: {kind}")]
    Refused { host: String, command: String, kind: String },
    /// An answer that is not the API's JSON shape.
    #[error("doveadm API of {host} sent an unexpected answer: {reason}")]
    BadResponse { host: String, reason: String },
}

impl DoveadmError {
    /// True when the backend could not be reached at all (as opposed to answering an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DoveadmError::Unreachable { .. })
    }

    /// True when the host name did not resolve: a failure the reachability probe tolerates
    /// for a while (docs/controller.md, "Reachability").
    pub fn is_name_resolution_failure(&self) -> bool {
        match self {
            DoveadmError::Unreachable { reason, .. } => {
                let reason = reason.to_ascii_lowercase();
                ["dns error", "failed to lookup address", "name or service not known", "no address associated"]
                    .iter()
                    .any(|p| reason.contains(p))
            }
            _ => false,
        }
    }
}

/// The doveadm HTTP API of Dovecot servers (backends), by host name.
#[async_trait]
pub trait Doveadm: Send + Sync + 'static {
    /// Runs one command on `host`.
    async fn run(&self, host: &str, command: &DoveadmCommand) -> Result<Vec<DoveadmRow>, DoveadmError>;
    /// The names of the commands `host`'s doveadm API lists (`GET /doveadm/v1`).
    async fn list_commands(&self, host: &str) -> Result<Vec<String>, DoveadmError>;
}

/// A clock that only moves when told to, for tests and scripted scenarios.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: std::sync::Mutex::new(start) }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += chrono::Duration::from_std(by).unwrap_or_default();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks that a backend's host name resolves, as `doveadm cluster backend add` does.
#[async_trait]
pub trait HostResolver: Send + Sync + 'static {
    /// `Err` with a reason when the name does not resolve.
    async fn check(&self, host: &str) -> Result<(), String>;
}

/// The controller's leadership of a site: held by one instance at a time, with a fencing token
/// that grows with every new holder so that a deposed leader's writes can be recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub token: u64,
}

/// One leader per site (Palomar's installation guide: "only a single instance is running in a site at one time").
#[async_trait]
pub trait LeaderLease: Send + Sync + 'static {
    /// Takes the site's lease if it is free, or extends it if `holder` has it. `Some` while
    /// `holder` leads; `None` when someone else does.
    async fn acquire_or_renew(&self, site: &str, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError>;
    /// Gives the lease up if `holder` has it, so another instance need not wait for it to expire.
    async fn release(&self, site: &str, holder: &str) -> Result<(), StoreError>;
    /// Who leads the site now, if anyone.
    async fn current(&self, site: &str) -> Result<Option<Lease>, StoreError>;
}

/// Where group-size balancing keeps its plan between passes (Redis in production).
#[async_trait]
pub trait BalancePlanStore: Send + Sync + 'static {
    /// Replaces the site's plan.
    async fn replace_plan(
        &self,
        site: &str,
        created_at: DateTime<Utc>,
        entries: &[PlanEntry],
    ) -> Result<(), StoreError>;
    /// Takes up to `count` entries off the front of the plan.
    async fn take_entries(&self, site: &str, count: usize) -> Result<Vec<PlanEntry>, StoreError>;
    async fn plan_summary(&self, site: &str) -> Result<Option<PlanSummary>, StoreError>;
}

/// Every adapter the server runs on, built once at start-up and handed to the controller and
/// the services.
#[derive(Clone)]
pub struct Ports {
    pub geodb: std::sync::Arc<dyn GeoDb>,
    pub operators: std::sync::Arc<dyn OperatorStore>,
    pub audit: std::sync::Arc<dyn AuditLog>,
    pub members: std::sync::Arc<dyn GroupMembers>,
    /// The controller's decisions and the moves it supervises.
    pub records: std::sync::Arc<dyn RecordStore>,
    pub plans: std::sync::Arc<dyn BalancePlanStore>,
    pub lease: std::sync::Arc<dyn LeaderLease>,
    pub metrics: std::sync::Arc<dyn Metrics>,
    pub doveadm: std::sync::Arc<dyn Doveadm>,
    pub resolver: std::sync::Arc<dyn HostResolver>,
    pub clock: std::sync::Arc<dyn Clock>,
}
