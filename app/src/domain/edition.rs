//! Which Dovecot the cluster's backends run. Dovecot Pro has the cluster service: a backend
//! moves a group's users itself and ends the move in the GeoDB. Dovecot CE has none of it: its
//! proxies ask the controller's route API where a user lives, and the controller carries out
//! each move itself (the route changes, the proxies' auth caches are flushed, the group's
//! sessions on the old backend are kicked).

use serde::{Deserialize, Serialize};

/// `DOVECOT_EDITION`: `pro` (default) or `ce`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DovecotEdition {
    #[default]
    Pro,
    Ce,
}

impl DovecotEdition {
    pub fn as_str(self) -> &'static str {
        match self {
            DovecotEdition::Pro => "pro",
            DovecotEdition::Ce => "ce",
        }
    }

    /// The doveadm command that tells whether a backend answers. CE has no `cluster*`
    /// commands; `who` for a user nobody has is cheap, has no effect, and needs the backend's
    /// anvil to answer, so a backend that cannot serve sessions fails it.
    pub fn probe_command(self) -> &'static str {
        match self {
            DovecotEdition::Pro => "clusterBackendStatus",
            DovecotEdition::Ce => "who",
        }
    }
}

impl std::fmt::Display for DovecotEdition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DovecotEdition {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pro" => Ok(DovecotEdition::Pro),
            "ce" => Ok(DovecotEdition::Ce),
            _ => Err("pro or ce".into()),
        }
    }
}
