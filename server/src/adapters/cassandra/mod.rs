//! The Cassandra adapter for the GeoDB and the controller's tables, on the `scylla` driver.
//! Prepared statements, a configurable consistency (default LOCAL_QUORUM) and driver paging:
//! every list reads one page, and the page's cursor is the driver's paging state.

mod audit;
mod geodb;
mod members;
mod operators;
mod query;
mod records;
pub mod scan;
pub mod schema;

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use palomar_core::ports::StoreError;
use scylla::{
    client::{execution_profile::ExecutionProfile, session::Session, session_builder::SessionBuilder},
    policies::load_balancing::DefaultPolicy,
    response::{PagingState, PagingStateResponse},
    statement::{prepared::PreparedStatement, Consistency},
};

use crate::{
    config::{CassandraSettings, ConsistencyLevel, LoadBalancingPolicy},
    request_load::RequestLoad,
};

/// A connected GeoDB: one driver session and the statements prepared on it.
pub struct CassandraStore {
    session: Arc<Session>,
    keyspace: String,
    statements: geodb::Statements,
    operator_statements: operators::Statements,
    audit_statements: audit::Statements,
    member_statements: members::Statements,
    record_statements: records::Statements,
    /// The requests the census gives way to ([`CassandraStore::giving_way_to`]).
    requests: Arc<RequestLoad>,
}

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to Cassandra at {contact_points}: {reason}")]
    Connect { contact_points: String, reason: String },
    #[error("cannot create the schema in keyspace {keyspace}: {reason}")]
    Schema { keyspace: String, reason: String },
    #[error("cannot prepare statements: {0}")]
    Prepare(String),
}

impl CassandraStore {
    /// Connects, creates the keyspace and tables if missing (idempotent), and prepares statements.
    pub async fn connect(config: &CassandraSettings) -> Result<Self, ConnectError> {
        let session = Arc::new(open_session(config).await?);
        let keyspace = config.keyspace.clone();
        create_schema(&session, &keyspace, &config.replication.cql()).await?;
        if uses_simple_strategy(&session, &keyspace).await
            && config.load_balancing_policy == LoadBalancingPolicy::DcAwareRoundRobin
        {
            // SimpleStrategy places replicas regardless of DCs, so preferring one DC without
            // failover could leave a token with no node to ask (and the driver warns on every
            // query). Such a keyspace lives in one DC anyway: allow failover.
            tracing::warn!(keyspace = %keyspace, "keyspace uses SimpleStrategy: DC-aware routing may fail over to other DCs");
            let mut handle = session.get_default_execution_profile_handle().clone();
            handle.map_to_another_profile(execution_profile(config, true));
        }
        let statements =
            geodb::Statements::prepare(&session, &keyspace).await.map_err(|e| ConnectError::Prepare(e.to_string()))?;
        let operator_statements = operators::Statements::prepare(&session, &keyspace)
            .await
            .map_err(|e| ConnectError::Prepare(e.to_string()))?;
        let audit_statements =
            audit::Statements::prepare(&session, &keyspace).await.map_err(|e| ConnectError::Prepare(e.to_string()))?;
        let member_statements = members::Statements::prepare(&session, &keyspace)
            .await
            .map_err(|e| ConnectError::Prepare(e.to_string()))?;
        let record_statements = records::Statements::prepare(&session, &keyspace)
            .await
            .map_err(|e| ConnectError::Prepare(e.to_string()))?;
        Ok(Self {
            session,
            keyspace,
            statements,
            operator_statements,
            audit_statements,
            member_statements,
            record_statements,
            requests: Arc::default(),
        })
    }

    /// The same store, whose census reads fewer ranges at a time while `requests` is busy (by
    /// default it never is).
    pub fn giving_way_to(mut self, requests: Arc<RequestLoad>) -> Self {
        self.requests = requests;
        self
    }

    /// The driver session, for tests that read `system_schema` and for the scan benchmark.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    pub fn keyspace(&self) -> &str {
        &self.keyspace
    }
}

/// The driver's routing and consistency for every statement.
fn execution_profile(config: &CassandraSettings, force_failover: bool) -> ExecutionProfile {
    let policy = match config.load_balancing_policy {
        LoadBalancingPolicy::RoundRobin => DefaultPolicy::builder().token_aware(true).build(),
        LoadBalancingPolicy::DcAwareRoundRobin => DefaultPolicy::builder()
            .prefer_datacenter(config.local_dc.clone())
            .permit_dc_failover(force_failover || config.used_hosts_per_remote_dc > 0)
            .token_aware(true)
            .build(),
    };
    ExecutionProfile::builder()
        .load_balancing_policy(policy)
        .consistency(consistency(config.consistency))
        .request_timeout(Some(Duration::from_secs(10)))
        .build()
}

async fn uses_simple_strategy(session: &Session, keyspace: &str) -> bool {
    let rows = session
        .query_unpaged("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", (keyspace,))
        .await
        .ok()
        .and_then(|r| r.into_rows_result().ok());
    let replication =
        rows.and_then(|r| r.maybe_first_row::<(std::collections::HashMap<String, String>,)>().ok().flatten());
    replication.is_some_and(|(map,)| map.get("class").is_some_and(|c| c.ends_with("SimpleStrategy")))
}

async fn open_session(config: &CassandraSettings) -> Result<Session, ConnectError> {
    let profile = execution_profile(config, false);
    let contact_points = config.contact_points();
    let mut builder = SessionBuilder::new()
        .known_nodes(&contact_points)
        .connection_timeout(Duration::from_secs(5))
        .default_execution_profile_handle(profile.into_handle());
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.user(user, &password.0);
    }
    builder
        .build()
        .await
        .map_err(|e| ConnectError::Connect { contact_points: contact_points.join(","), reason: e.to_string() })
}

async fn create_schema(session: &Session, keyspace: &str, replication: &str) -> Result<(), ConnectError> {
    let schema_error = |e: String| ConnectError::Schema { keyspace: keyspace.to_string(), reason: e };
    let create_keyspace = format!("create keyspace if not exists {keyspace} with replication = {replication}");
    let tables = schema::GEODB_TABLES.iter().chain(schema::CONTROLLER_TABLES.iter());
    for statement in std::iter::once(create_keyspace).chain(tables.map(|t| t.replace("{ks}", keyspace))) {
        session.query_unpaged(statement, ()).await.map_err(|e| schema_error(e.to_string()))?;
    }
    session.await_schema_agreement().await.map_err(|e| schema_error(e.to_string()))?;
    Ok(())
}

fn consistency(level: ConsistencyLevel) -> Consistency {
    match level {
        ConsistencyLevel::One => Consistency::One,
        ConsistencyLevel::Quorum => Consistency::Quorum,
        ConsistencyLevel::LocalQuorum => Consistency::LocalQuorum,
        ConsistencyLevel::EachQuorum => Consistency::EachQuorum,
        ConsistencyLevel::LocalOne => Consistency::LocalOne,
        ConsistencyLevel::All => Consistency::All,
    }
}

/// Prepares a statement on the keyspace (`{ks}` in the text).
async fn prepare(session: &Session, keyspace: &str, cql: &str) -> Result<PreparedStatement, StoreError> {
    session.prepare(cql.replace("{ks}", keyspace)).await.map_err(unavailable)
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// The driver's paging state for a cursor.
fn paging_state(cursor: Option<&str>) -> Result<PagingState, StoreError> {
    match cursor {
        None => Ok(PagingState::start()),
        Some(cursor) => {
            let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| StoreError::BadCursor)?;
            Ok(PagingState::new_from_raw_bytes(bytes))
        }
    }
}

/// The cursor of the next page, if the driver says there is one.
fn next_cursor(response: PagingStateResponse) -> Option<String> {
    match response {
        PagingStateResponse::HasMorePages { state } => {
            state.as_bytes_slice().map(|b| URL_SAFE_NO_PAD.encode(b.as_ref()))
        }
        PagingStateResponse::NoMorePages => None,
    }
}

/// A statement copy that reads `limit` rows per page.
fn paged(statement: &PreparedStatement, limit: u32) -> PreparedStatement {
    let mut statement = statement.clone();
    statement.set_page_size(limit.clamp(1, domain::page::MAX_PAGE_SIZE) as i32);
    statement
}

/// A Cassandra error on a paged read: a cursor it rejects is the caller's bad cursor.
fn page_error(had_cursor: bool) -> impl Fn(scylla::errors::ExecutionError) -> StoreError {
    move |err| {
        let text = err.to_string();
        if had_cursor && text.to_ascii_lowercase().contains("paging") {
            StoreError::BadCursor
        } else {
            StoreError::Unavailable(text)
        }
    }
}
