//! `tags` and `sites`.

use app::{
    domain::{Site, SiteStatus, Tag},
    ports::StoreError,
};
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::prepare;

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    pub(super) list_tags: PreparedStatement,
    pub(super) get_tag: PreparedStatement,
    pub(super) put_tag: PreparedStatement,
    pub(super) delete_tag: PreparedStatement,
    pub(super) list_sites: PreparedStatement,
    pub(super) get_site: PreparedStatement,
    pub(super) put_site: PreparedStatement,
    pub(super) delete_site: PreparedStatement,
}

const SITE_COLUMNS: &str = "id, name, tag, load_balancer, status";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_tags: prepare(session, ks, "SELECT id, tag FROM {ks}.tags").await?,
            get_tag: prepare(session, ks, "SELECT id, tag FROM {ks}.tags WHERE id = ?").await?,
            put_tag: prepare(session, ks, "INSERT INTO {ks}.tags (id, tag) VALUES (?, ?)").await?,
            delete_tag: prepare(session, ks, "DELETE FROM {ks}.tags WHERE id = ?").await?,
            list_sites: prepare(session, ks, &format!("SELECT {SITE_COLUMNS} FROM {{ks}}.sites")).await?,
            get_site: prepare(session, ks, &format!("SELECT {SITE_COLUMNS} FROM {{ks}}.sites WHERE id = ?")).await?,
            put_site: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.sites ({SITE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
            )
            .await?,
            delete_site: prepare(session, ks, "DELETE FROM {ks}.sites WHERE id = ?").await?,
        })
    }
}

#[derive(DeserializeRow)]
pub(super) struct TagRow {
    id: Uuid,
    tag: Option<String>,
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Self {
        Tag { id: r.id, tag: r.tag.unwrap_or_default() }
    }
}

#[derive(DeserializeRow)]
pub(super) struct SiteDbRow {
    id: Uuid,
    name: Option<String>,
    tag: Option<Uuid>,
    load_balancer: Option<String>,
    status: Option<String>,
}

impl From<SiteDbRow> for Site {
    fn from(r: SiteDbRow) -> Self {
        Site {
            id: r.id,
            name: r.name.unwrap_or_default(),
            tag: r.tag,
            load_balancer: r.load_balancer.unwrap_or_default(),
            status: SiteStatus::from_stored(&r.status.unwrap_or_default()),
        }
    }
}
