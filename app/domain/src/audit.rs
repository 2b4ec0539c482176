//! The audit log: one record per mutation, whoever made it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::closed_set::closed_set;

closed_set! {
    /// What an audit record says was done: `area.verb`. A record's `action` also holds these
    /// words with `.failed` or `.refused` after them, and, in records older than this version,
    /// whatever words were written then; so the record keeps text, and only writers use this.
    #[derive(PartialOrd, Ord)]
    pub enum AuditAction("audit action", "action") {
        /// An API token was used (the method and path are the target).
        ApiRequest = "api.request",
        BackendAdd = "backend.add",
        BackendStatus = "backend.status",
        BackendLoadFactor = "backend.load_factor",
        /// A backend's status and load factor in one write.
        BackendUpdate = "backend.update",
        BackendEvacuate = "backend.evacuate",
        BackendRemove = "backend.remove",
        /// Removed although groups were on it.
        BackendRemoveForced = "backend.remove.forced",
        GroupMove = "group.move",
        GroupAccess = "group.access",
        GroupSticky = "group.sticky",
        MoveForce = "move.force",
        MoveCancel = "move.cancel",
        SiteAdd = "site.add",
        SiteUpdate = "site.update",
        SiteRemove = "site.remove",
        SiteInit = "site.init",
        TagCreate = "tag.create",
        TagRename = "tag.rename",
        TagRemove = "tag.remove",
        FeatureSet = "feature.set",
        /// A force-move or a recover started (the target says which).
        ForceMoveStart = "force_move.start",
        ForceMoveUpdate = "force_move.update",
        ForceMoveStop = "force_move.stop",
        SettingPut = "setting.put",
        SettingDelete = "setting.delete",
        StatsPruneProxy = "stats.prune_proxy",
        OperatorAdd = "operator.add",
        OperatorRole = "operator.role",
        OperatorPassword = "operator.password",
        OperatorDisable = "operator.disable",
        OperatorEnable = "operator.enable",
        TokenCreate = "token.create",
        TokenRevoke = "token.revoke",
        UserMove = "user.move",
        UserDelete = "user.delete",
    }
}

/// Who changed what, when, from where; `before` and `after` are JSON (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub operator: String,
    pub client_ip: String,
    pub user_agent: String,
    /// `area.verb`, e.g. `site.add`; a failed mutation adds a second record `…failed`.
    pub action: String,
    pub target: String,
    pub before: String,
    pub after: String,
    /// The API token the operator acted through; `None` for the browser and the command line
    /// on the host.
    pub token: Option<Uuid>,
}

impl AuditRecord {
    /// The day partition a record belongs to (UTC).
    pub fn day(&self) -> NaiveDate {
        self.at.date_naive()
    }
}
