//! A running force-move or recover as stored in `cluster_settings`, and what a moved user's
//! row remembers of where they came from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ForceMoveKind, ForceMoveScope, FORCE_MOVE_SECTION, MAX_ID_BYTES, MOVED_USERS_SECTION};
use crate::{geodb::ClusterSetting, AppError};

/// A running force-move or recover. Its `cluster_settings` row is keyed by the site, the backend
/// (nil for a site) and the kind, so a source has at most one of each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceMove {
    pub kind: ForceMoveKind,
    pub scope: ForceMoveScope,
    /// The site users leave (or, for a recover, return to); for a backend, the backend's site.
    pub site_id: Uuid,
    /// The backend users leave, for a backend force-move.
    pub backend_id: Option<Uuid>,
    /// The `--id` that, hashed with each username, chooses the users.
    pub id: String,
    /// 0 to 100: the share of users chosen.
    pub percent: u8,
    /// Sites (site scope) or backends (backend scope) users go to; empty for a recover.
    pub destinations: Vec<Uuid>,
    /// For a backend force-move: the groups on the destination backends users join.
    #[serde(default)]
    pub destination_groups: Vec<String>,
    /// The source's status when this started. Changing the status ends the operation (as
    /// `doveadm cluster site|backend update --status` does): a row whose source has another
    /// status now is void, whoever changed it.
    pub source_status: String,
    /// Users in the source when this started, by the census then (none if it had not run).
    pub users_at_start: Option<u64>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who started it.
    pub started_by: String,
}

impl ForceMove {
    /// The key of the row of the operation of `kind` on this source.
    pub fn key(kind: ForceMoveKind, site_id: Uuid, backend_id: Option<Uuid>) -> ClusterSetting {
        ClusterSetting {
            section: FORCE_MOVE_SECTION.to_string(),
            site_id,
            backend_id: backend_id.unwrap_or(Uuid::nil()),
            setting_name: kind.as_str().to_string(),
            setting_value: String::new(),
        }
    }

    /// Its `cluster_settings` row.
    pub fn to_setting(&self) -> ClusterSetting {
        let mut row = Self::key(self.kind, self.site_id, self.backend_id);
        row.setting_value = serde_json::to_string(self).unwrap_or_default();
        row
    }

    /// Reads a row of section [`FORCE_MOVE_SECTION`]; `None` for a row this version cannot read
    /// (written by something else), which is then left alone.
    pub fn from_setting(row: &ClusterSetting) -> Option<Self> {
        let kind: ForceMoveKind = row.setting_name.parse().ok()?;
        let state: ForceMove = serde_json::from_str(&row.setting_value).ok()?;
        let backend = (!row.backend_id.is_nil()).then_some(row.backend_id);
        (state.kind == kind && state.site_id == row.site_id && state.backend_id == backend).then_some(state)
    }

    /// Whether it still runs, given its source's status now.
    pub fn is_live(&self, source_status: &str) -> bool {
        self.source_status == source_status
    }
}

/// What an operator asks for when starting one: checked at the edge, names not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForceMoveDraft {
    /// The `--id`, if given.
    pub id: Option<String>,
    pub percent: u8,
}

impl ForceMoveDraft {
    /// Parses an operator's `--id` (optional) and percent, as typed.
    pub fn parse(id: &str, percent: &str) -> Result<Self, AppError> {
        Ok(Self { id: parse_id(id)?, percent: parse_percent(percent)? })
    }

    /// The same checks for a percent that arrived as a number (JSON).
    pub fn new(id: &str, percent: u64) -> Result<Self, AppError> {
        Ok(Self { id: parse_id(id)?, percent: check_percent(percent)? })
    }
}

/// A percentage as typed, 0 to 100.
pub fn parse_percent(raw: &str) -> Result<u8, AppError> {
    check_percent(raw.trim().parse::<u64>().unwrap_or(u64::MAX))
}

/// A percentage, 0 to 100.
pub fn check_percent(percent: u64) -> Result<u8, AppError> {
    u8::try_from(percent)
        .ok()
        .filter(|p| *p <= 100)
        .ok_or_else(|| AppError::invalid("percent", "percent must be a whole number from 0 to 100"))
}

/// An operation's `--id`: empty for a new random one, else 1 to 64 printable characters.
fn parse_id(raw: &str) -> Result<Option<String>, AppError> {
    let id = raw.trim();
    if id.is_empty() {
        return Ok(None);
    }
    if id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
        return Err(AppError::invalid("id", format!("id must be 1 to {MAX_ID_BYTES} printable characters")));
    }
    Ok(Some(id.to_string()))
}

/// Where a user a site force-move moved came from: their row before the move, and the row the
/// move wrote (a recover brings them back only while their row is still that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedUser {
    pub username: String,
    pub from_site: Uuid,
    pub from_group: String,
    pub from_failover_group: String,
    pub to_site: Uuid,
    pub to_group: String,
    /// The `--id` of the force-move that moved them.
    pub force_move_id: String,
}

impl MovedUser {
    /// The key of the row that remembers `username` left `from_site`.
    pub fn key(from_site: Uuid, username: &str) -> ClusterSetting {
        ClusterSetting {
            section: MOVED_USERS_SECTION.to_string(),
            site_id: from_site,
            backend_id: Uuid::nil(),
            setting_name: username.to_string(),
            setting_value: String::new(),
        }
    }

    pub fn to_setting(&self) -> ClusterSetting {
        let mut row = Self::key(self.from_site, &self.username);
        row.setting_value = serde_json::to_string(self).unwrap_or_default();
        row
    }

    pub fn from_setting(row: &ClusterSetting) -> Option<Self> {
        let moved: MovedUser = serde_json::from_str(&row.setting_value).ok()?;
        (moved.from_site == row.site_id && moved.username == row.setting_name).then_some(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ForceMove {
        ForceMove {
            kind: ForceMoveKind::ForceMove,
            scope: ForceMoveScope::Site,
            site_id: Uuid::from_u128(1),
            backend_id: None,
            id: "maintenance".into(),
            percent: 30,
            destinations: vec![Uuid::from_u128(2)],
            destination_groups: vec![],
            source_status: "online".into(),
            users_at_start: Some(1000),
            started_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            started_by: "admin".into(),
        }
    }

    #[test]
    fn a_state_reads_back_from_its_row_and_only_under_its_own_key() {
        let state = sample();
        let row = state.to_setting();
        assert_eq!(row.section, FORCE_MOVE_SECTION);
        assert_eq!(ForceMove::from_setting(&row), Some(state.clone()));
        let mut elsewhere = row.clone();
        elsewhere.site_id = Uuid::from_u128(9);
        assert_eq!(ForceMove::from_setting(&elsewhere), None);
        let mut garbage = row;
        garbage.setting_value = "{not json".into();
        assert_eq!(ForceMove::from_setting(&garbage), None);
    }

    #[test]
    fn a_status_change_voids_it() {
        let state = sample();
        assert!(state.is_live("online"));
        assert!(!state.is_live("standby"));
    }

    #[test]
    fn operator_input_is_checked_once() {
        assert_eq!(ForceMoveDraft::parse("", "30"), Ok(ForceMoveDraft { id: None, percent: 30 }));
        assert_eq!(ForceMoveDraft::parse(" x ", "100").map(|d| d.id), Ok(Some("x".into())));
        assert_eq!(ForceMoveDraft::parse("", "101").unwrap_err().field(), Some("percent"));
        assert_eq!(ForceMoveDraft::parse("", "-1").unwrap_err().field(), Some("percent"));
        assert_eq!(ForceMoveDraft::parse(&"i".repeat(65), "1").unwrap_err().field(), Some("id"));
        assert_eq!(ForceMoveDraft::parse("a\nb", "1").unwrap_err().field(), Some("id"));
        assert_eq!(ForceMoveDraft::new("", 300), ForceMoveDraft::parse("", "300"));
        assert_eq!(ForceMoveDraft::new("", 60).map(|d| d.percent), Ok(60));
    }
}
