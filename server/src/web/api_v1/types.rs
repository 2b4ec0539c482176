//! The bodies of `/api/v1`: its own types, so that the contract stays put when the domain's
//! types change. Each maps from the domain's view types; closed sets are enums.

use chrono::{DateTime, Utc};
use domain::{
    audit::AuditRecord,
    cluster::{BackendRow, GroupRow, UserDetail},
    geodb::SettableStatus,
    token::{NewToken, TokenView},
    BackendHost, GroupName, LoadFactor, Role, Site, Tag,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A page of a list: `next` is the cursor of the page after it (`?cursor=`), absent on the last.
macro_rules! page_of {
    ($name:ident, $item:ty) => {
        #[doc = concat!("A page of ", stringify!($item), "s; `next` leads to the page after it.")]
        #[derive(Debug, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next: Option<String>,
        }
    };
}
pub(super) use page_of;

pub use super::controller_types::*;

/// A site (`sites` row).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SiteOut {
    pub id: Uuid,
    pub name: String,
    /// The shard's tag id.
    pub tag: Option<Uuid>,
    pub load_balancer: String,
    /// `online`, `offline`, `standby`, `evacuate`, or a value written by another tool.
    pub status: String,
}

impl From<&Site> for SiteOut {
    fn from(s: &Site) -> Self {
        Self {
            id: s.id,
            name: s.name.clone(),
            tag: s.tag,
            load_balancer: s.load_balancer.clone(),
            status: s.status.as_str().to_string(),
        }
    }
}

/// A shard tag.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagOut {
    pub id: Uuid,
    pub name: String,
}

impl From<&Tag> for TagOut {
    fn from(t: &Tag) -> Self {
        Self { id: t.id, name: t.tag.clone() }
    }
}

/// A backend, with the last census's counts and the controller's latest probe.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackendOut {
    pub id: Uuid,
    pub host: String,
    /// `online`, `offline`, `standby`, or a value written by another tool.
    pub status: String,
    pub status_reason: String,
    /// 0 to 100; 0 drains the backend.
    pub load_factor: i32,
    /// Groups on it at the last census; absent before the first.
    pub groups: Option<u64>,
    /// Users on it at the last census; absent before the first.
    pub users: Option<u64>,
    /// Whether its doveadm API answered the controller's latest probe; absent when not probed here.
    pub reachable: Option<bool>,
    pub last_moved_from: Option<DateTime<Utc>>,
    pub last_moved_to: Option<DateTime<Utc>>,
}

impl From<BackendRow> for BackendOut {
    fn from(r: BackendRow) -> Self {
        let b = r.backend;
        Self {
            id: b.id,
            host: b.host,
            status: b.status.as_str().to_string(),
            status_reason: b.status_reason,
            load_factor: b.load_factor,
            groups: r.groups,
            users: r.users,
            reachable: r.reachable,
            last_moved_from: b.last_moved_from,
            last_moved_to: b.last_moved_to,
        }
    }
}

page_of!(BackendPage, BackendOut);

/// A backend to add; it starts in standby, like `doveadm cluster backend add`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBackend {
    /// Its DNS name, as proxies reach it (a Dovecot CE backend's may be an IP address).
    #[schema(value_type = String)]
    pub host: BackendHost,
}

/// What may be set on a backend, like `doveadm cluster backend update`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendChange {
    pub status: Option<SettableStatus>,
    /// 0 to 100; 0 drains the backend.
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 100)]
    pub load_factor: Option<LoadFactor>,
}

/// A group with its backends' hosts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupOut {
    pub name: String,
    /// The host of its backend; empty when it has none.
    pub backend: String,
    /// The host of its alternative backend (failover, and the destination while it moves).
    pub alternative: String,
    /// Users in it at the last census; absent before the first.
    pub users: Option<u64>,
    pub moving: bool,
    /// Its users stay in it (no group-size balancing).
    pub sticky_users: bool,
    /// It stays on its backend (no load balancing).
    pub sticky_backend: bool,
    pub refresh_after: Option<DateTime<Utc>>,
}

impl From<GroupRow> for GroupOut {
    fn from(r: GroupRow) -> Self {
        Self {
            name: r.group.name,
            backend: r.backend_host,
            alternative: r.alt_backend_host,
            users: r.users,
            moving: r.group.moving.is_some(),
            sticky_users: r.group.sticky_users,
            sticky_backend: r.group.sticky_backend,
            refresh_after: r.group.refresh_after,
        }
    }
}

page_of!(GroupPage, GroupOut);

/// A group's sticky flags, like `doveadm cluster group update`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    pub sticky_users: Option<bool>,
    pub sticky_backend: Option<bool>,
}

/// Where to move a group, like `doveadm cluster group move`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMoveRequest {
    /// The destination backend's host.
    pub backend: String,
}

/// A user's route, as a proxy would resolve it now (`doveadm cluster user status`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserOut {
    pub username: String,
    pub site: String,
    pub group: String,
    pub failover_group: String,
    /// The backend a proxy would send the user to now, if any.
    pub backend: Option<String>,
    /// How the backend was chosen, or why there is none.
    pub route: String,
    pub group_moving: bool,
}

impl From<UserDetail> for UserOut {
    fn from(d: UserDetail) -> Self {
        Self {
            username: d.user.username,
            site: d.site_name,
            group: d.user.group_name,
            failover_group: d.user.failover_site_group_name,
            backend: d.backend_host,
            route: d.route,
            group_moving: d.group_moving,
        }
    }
}

/// Where to move a user, like `doveadm cluster user move`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserMoveRequest {
    #[schema(value_type = String)]
    pub group: GroupName,
    /// The site's name; the user's preferred site when absent.
    pub site: Option<String>,
    /// The group in the failover site; the same name as `group` when absent.
    #[schema(value_type = Option<String>)]
    pub failover_group: Option<GroupName>,
}

/// One audit record: who did what, when, from where, through which token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditOut {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub operator: String,
    /// The API token used, if any.
    pub token: Option<Uuid>,
    pub client_ip: String,
    pub user_agent: String,
    pub action: String,
    pub target: String,
    /// JSON of the row before; empty when there was none.
    pub before: String,
    /// JSON of the row after; empty when there is none.
    pub after: String,
}

impl From<&AuditRecord> for AuditOut {
    fn from(r: &AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            operator: r.operator.clone(),
            token: r.token,
            client_ip: r.client_ip.clone(),
            user_agent: r.user_agent.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            before: r.before.clone(),
            after: r.after.clone(),
        }
    }
}

page_of!(AuditPage, AuditOut);

/// An API token (never its secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    pub id: Uuid,
    pub owner: String,
    pub role: Role,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
    pub expired: bool,
}

impl From<&TokenView> for TokenOut {
    fn from(t: &TokenView) -> Self {
        Self {
            id: t.id,
            owner: t.owner.clone(),
            role: t.role,
            name: t.name.clone(),
            created_by: t.created_by.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked: t.revoked,
            expired: t.expired,
        }
    }
}

/// A token to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequestIn {
    /// What it is for.
    pub name: String,
    /// At most your own role, and at most its owner's.
    pub role: Role,
    /// Days it lives: 1 to 366, 90 when absent.
    pub days: Option<u32>,
    /// Whom it acts as (admins only); yourself when absent.
    pub owner: Option<String>,
}

/// A token just created. `secret` is shown this once: keep it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewTokenOut {
    pub token: TokenOut,
    /// The token to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<&NewToken> for NewTokenOut {
    fn from(t: &NewToken) -> Self {
        Self { token: TokenOut::from(&t.token), secret: t.secret.clone() }
    }
}
