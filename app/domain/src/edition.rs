//! Which Dovecot the cluster's backends run. Dovecot Pro has the cluster service: a backend
//! moves a group's users itself and ends the move in the GeoDB. Dovecot CE has none of it: its
//! proxies ask the controller's route API where a user lives, and the controller carries out
//! each move itself (the route changes, the proxies' auth caches are flushed, the group's
//! sessions on the old backend are kicked).

use crate::{closed_set::closed_set, doveadm::DoveadmCommand};

/// A mask no login name can have: the probe's `who` answers empty, however busy the backend.
const PROBE_MASK: &str = "palomar reachability probe";

closed_set! {
    /// `DOVECOT_EDITION`: `pro` (default) or `ce`.
    #[derive(Default)]
    pub enum DovecotEdition("Dovecot edition", "DOVECOT_EDITION") {
        #[default]
        Pro = "pro",
        Ce = "ce",
    }
}

impl DovecotEdition {
    /// The doveadm command that tells whether the backend `host` answers. CE has no
    /// `cluster*` commands; `who` for a user nobody has is cheap, has no effect, and needs the
    /// backend's anvil to answer, so a backend that cannot serve sessions fails it.
    pub fn probe(self, host: &str) -> DoveadmCommand {
        match self {
            DovecotEdition::Pro => DoveadmCommand::ClusterBackendStatus { host: host.to_string() },
            DovecotEdition::Ce => {
                DoveadmCommand::Who { masks: vec![PROBE_MASK.to_string()], separate_connections: false }
            }
        }
    }
}
