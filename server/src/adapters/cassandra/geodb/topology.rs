//! `tags` and `sites`.

use domain::{Site, SiteStatus, Tag};

use palomar_core::ports::StoreError;
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::prepare;

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    pub(super) list_tags: PreparedStatement,
    pub(super) get_tag: PreparedStatement,
    pub(super) put_tag: PreparedStatement,
    pub(super) add_tag: PreparedStatement,
    pub(super) rename_tag: PreparedStatement,
    pub(super) remove_tag: PreparedStatement,
    pub(super) list_sites: PreparedStatement,
    pub(super) get_site: PreparedStatement,
    pub(super) put_site: PreparedStatement,
    pub(super) add_site: PreparedStatement,
    pub(super) update_site: PreparedStatement,
    pub(super) remove_site: PreparedStatement,
}

/// The condition of a change to a site as read: every column. `name` is never empty, so a
/// missing row never matches; the others match null and '' alike when read empty.
const SITE_AS_SEEN: &str = "IF name = ? AND tag IN (?, ?) AND load_balancer IN (?, ?) AND status IN (?, ?)";

const SITE_COLUMNS: &str = "id, name, tag, load_balancer, status";

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_tags: prepare(session, ks, "SELECT id, tag FROM {ks}.tags").await?,
            get_tag: prepare(session, ks, "SELECT id, tag FROM {ks}.tags WHERE id = ?").await?,
            put_tag: prepare(session, ks, "INSERT INTO {ks}.tags (id, tag) VALUES (?, ?)").await?,
            add_tag: prepare(session, ks, "INSERT INTO {ks}.tags (id, tag) VALUES (?, ?) IF NOT EXISTS").await?,
            rename_tag: prepare(session, ks, "UPDATE {ks}.tags SET tag = ? WHERE id = ? IF tag = ?").await?,
            remove_tag: prepare(session, ks, "DELETE FROM {ks}.tags WHERE id = ? IF tag = ?").await?,
            list_sites: prepare(session, ks, &format!("SELECT {SITE_COLUMNS} FROM {{ks}}.sites")).await?,
            get_site: prepare(session, ks, &format!("SELECT {SITE_COLUMNS} FROM {{ks}}.sites WHERE id = ?")).await?,
            put_site: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.sites ({SITE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
            )
            .await?,
            add_site: prepare(
                session,
                ks,
                &format!("INSERT INTO {{ks}}.sites ({SITE_COLUMNS}) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"),
            )
            .await?,
            update_site: prepare(
                session,
                ks,
                &format!(
                    "UPDATE {{ks}}.sites SET name = ?, tag = ?, load_balancer = ?, status = ? WHERE id = ? {SITE_AS_SEEN}"
                ),
            )
            .await?,
            remove_site: prepare(session, ks, &format!("DELETE FROM {{ks}}.sites WHERE id = ? {SITE_AS_SEEN}")).await?,
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
