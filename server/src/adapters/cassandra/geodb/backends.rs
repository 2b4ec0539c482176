//! `backends`, with the status change as a lightweight transaction.

use domain::geodb::{Backend, BackendStatus, MoveSide};

use palomar_core::ports::StoreError;
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::prepare;

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    pub(super) list_backends: PreparedStatement,
    pub(super) put_backend: PreparedStatement,
    pub(super) add_backend: PreparedStatement,
    pub(super) get_backend: PreparedStatement,
    pub(super) delete_backend: PreparedStatement,
    pub(super) set_backend_status: PreparedStatement,
    pub(super) set_load_factor: PreparedStatement,
    pub(super) set_state: PreparedStatement,
    /// `last_moved_from`, then `last_moved_to`: each when it held a value, and when it was
    /// empty or null.
    note_move: [(PreparedStatement, PreparedStatement); 2],
}

const BACKEND_COLUMNS: &str = "site_id, id, load_factor, host, status, status_reason, last_moved_from, last_moved_to";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_backends: prepare(
                session,
                ks,
                &format!("SELECT {BACKEND_COLUMNS} FROM {{ks}}.backends WHERE site_id = ?"),
            )
            .await?,
            put_backend: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.backends ({BACKEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            )
            .await?,
            add_backend: prepare(
                session,
                ks,
                &format!(
                    "INSERT INTO {{ks}}.backends ({BACKEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
                ),
            )
            .await?,
            get_backend: prepare(
                session,
                ks,
                &format!("SELECT {BACKEND_COLUMNS} FROM {{ks}}.backends WHERE site_id = ? AND id = ?"),
            )
            .await?,
            delete_backend: prepare(session, ks, "DELETE FROM {ks}.backends WHERE site_id = ? AND id = ?").await?,
            set_backend_status: prepare(
                session,
                ks,
                "UPDATE {ks}.backends SET status = ?, status_reason = ? WHERE site_id = ? AND id = ? \
                 IF host != null AND status IN (?, ?)",
            )
            .await?,
            set_load_factor: prepare(
                session,
                ks,
                "UPDATE {ks}.backends SET load_factor = ? WHERE site_id = ? AND id = ? \
                 IF host != null AND load_factor IN (?, ?)",
            )
            .await?,
            set_state: prepare(
                session,
                ks,
                "UPDATE {ks}.backends SET status = ?, load_factor = ?, status_reason = ? WHERE site_id = ? AND id = ? \
                 IF host != null AND status IN (?, ?) AND load_factor IN (?, ?)",
            )
            .await?,
            note_move: [
                Self::note_move(session, ks, "last_moved_from").await?,
                Self::note_move(session, ks, "last_moved_to").await?,
            ],
        })
    }

    /// `host != null` keeps the update from creating a row for a backend that is gone.
    async fn note_move(
        session: &Session,
        ks: &str,
        column: &str,
    ) -> Result<(PreparedStatement, PreparedStatement), StoreError> {
        let update = format!("UPDATE {{ks}}.backends SET {column} = ? WHERE site_id = ? AND id = ?");
        Ok((
            prepare(session, ks, &format!("{update} IF {column} = ?")).await?,
            prepare(session, ks, &format!("{update} IF host != null AND {column} IN (null, '')")).await?,
        ))
    }

    /// The statement that sets `side`'s column, conditional on `seen`.
    pub(super) fn note_move_statement(&self, side: MoveSide, seen: &str) -> &PreparedStatement {
        let (when_set, when_empty) = match side {
            MoveSide::From => &self.note_move[0],
            MoveSide::To => &self.note_move[1],
        };
        if seen.is_empty() {
            when_empty
        } else {
            when_set
        }
    }
}

#[derive(DeserializeRow)]
pub(super) struct BackendRow {
    site_id: Uuid,
    id: Uuid,
    load_factor: Option<i32>,
    host: Option<String>,
    status: Option<String>,
    status_reason: Option<String>,
    last_moved_from: Option<String>,
    last_moved_to: Option<String>,
}

impl From<BackendRow> for Backend {
    fn from(r: BackendRow) -> Self {
        Backend {
            site_id: r.site_id,
            id: r.id,
            load_factor: r.load_factor.unwrap_or_default(),
            host: r.host.unwrap_or_default(),
            status: BackendStatus::from_stored(&r.status.unwrap_or_default()),
            status_reason: r.status_reason.unwrap_or_default(),
            last_moved_from: r.last_moved_from.unwrap_or_default(),
            last_moved_to: r.last_moved_to.unwrap_or_default(),
        }
    }
}
