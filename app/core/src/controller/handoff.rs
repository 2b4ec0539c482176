//! How a group changes backend on Dovecot CE, which has no cluster service to do it: the
//! route changes in the GeoDB (the route API answers the destination at once), the proxies'
//! auth caches are flushed so that no proxy keeps the old route (on the 2.3 line only: 2.4.1's
//! doveadm panics on the flush, and its cached routes expire instead), and the group's sessions
//! on the old backend are kicked. The move is over when the old backend has no session of the
//! group left.

use domain::doveadm::{DoveadmCommand, DovecotLine};
use std::{collections::BTreeSet, sync::Arc};

use serde_json::Value;
use uuid::Uuid;

use domain::{edition::DovecotEdition, logtext::Untrusted, routing::user_placement};

use crate::ports::{Doveadm, DoveadmError, GeoDb, StoreError};

/// The Dovecot servers the controller talks to, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DovecotSettings {
    /// `DOVECOT_EDITION`.
    pub edition: DovecotEdition,
    /// `DOVECOT_PROXIES`: the proxies' host names, whose doveadm API flushes auth caches (CE).
    pub proxies: Vec<String>,
    /// `CLUSTER_DEFAULT_GROUP_COUNT`: the proxies' `cluster_default_group_count`, for users
    /// without a `users` row.
    pub default_group_count: u32,
}

impl Default for DovecotSettings {
    fn default() -> Self {
        Self { edition: DovecotEdition::Pro, proxies: Vec::new(), default_group_count: 100 }
    }
}

/// At most this many sessions are read from one `who` answer; a group's remaining sessions
/// beyond them are found at the next look.
const MAX_SESSIONS_READ: usize = 10_000;

/// Why a hand-off step failed: the server did not answer as asked, or the GeoDB could not say
/// whose session is whose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    #[error(transparent)]
    Doveadm(#[from] DoveadmError),
    #[error("cannot read a user's row: {0}")]
    Store(#[from] StoreError),
}

/// The CE side of a group move.
pub struct Handoff {
    geodb: Arc<dyn GeoDb>,
    doveadm: Arc<dyn Doveadm>,
    settings: DovecotSettings,
}

impl Handoff {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, doveadm: Arc<dyn Doveadm>, settings: DovecotSettings) -> Self {
        Self { geodb, doveadm, settings }
    }

    /// The proxy's Dovecot line, from its command list. Read anew before every flush: a proxy
    /// upgraded from 2.3 to 2.4 a moment ago must not be sent what panics 2.4's doveadm.
    async fn line_of(&self, proxy: &str) -> Result<DovecotLine, DoveadmError> {
        Ok(DovecotLine::of_commands(&self.doveadm.list_commands(proxy).await?))
    }

    pub fn settings(&self) -> &DovecotSettings {
        &self.settings
    }

    /// Flushes every proxy's auth cache, so that the next login asks the route API again.
    /// A proxy that does not answer keeps its cached routes until they expire (the route
    /// API's cache lifetime); that is logged, not fatal.
    pub async fn flush_proxy_caches(&self) {
        if self.settings.edition != DovecotEdition::Ce {
            return;
        }
        let flushes = self.settings.proxies.iter().map(|proxy| async move {
            // Only a line known to survive it gets the command: 2.4.1's doveadm panics on it. A
            // proxy whose line is not known is not sent it either.
            let line = match self.line_of(proxy).await {
                Ok(line) => line,
                Err(err) => return (proxy, Err(err)),
            };
            if !line.flushes_auth_cache() {
                tracing::debug!(proxy = %Untrusted(proxy), %line, "no auth cache flush: routes expire within ROUTE_API_CACHE_SECS");
                return (proxy, Ok(Vec::new()));
            }
            // An empty user list flushes every entry; without the parameter CE 2.3 drops the
            // connection unanswered ("Missing user parameter").
            (proxy, self.doveadm.run(proxy, &DoveadmCommand::AuthCacheFlush { users: Vec::new() }).await)
        });
        for (proxy, result) in futures::future::join_all(flushes).await {
            if let Err(err) = result {
                tracing::warn!(proxy = %Untrusted(proxy), error = %Untrusted(&err), "could not flush the proxy's auth cache");
            }
        }
    }

    /// The users of `group` (of `site_id`) with a session on `host`, by `who`.
    pub async fn group_sessions(&self, host: &str, site_id: Uuid, group: &str) -> Result<Vec<String>, HandoffError> {
        // One row per connection: CE 2.3's grouped `who` answer puts every row after the first
        // outside the result list.
        let rows =
            self.doveadm.run(host, &DoveadmCommand::Who { masks: Vec::new(), separate_connections: true }).await?;
        let users: BTreeSet<String> = rows
            .iter()
            .take(MAX_SESSIONS_READ)
            .filter_map(|row| row.get("username").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let mut members = Vec::new();
        for username in users {
            let row = self.geodb.get_user(&username).await?;
            let (site, name) = user_placement(&username, row.as_ref(), site_id, self.settings.default_group_count);
            if site == site_id && name == group {
                members.push(username);
            }
        }
        Ok(members)
    }

    /// Ends `users`' sessions on `host`, one `kick` per user: CE takes one user mask per
    /// request ("Multiple username masks not supported").
    pub async fn kick(&self, host: &str, users: &[String]) -> Result<(), DoveadmError> {
        for user in users {
            match self.doveadm.run(host, &DoveadmCommand::Kick { mask: user.clone() }).await {
                // 68: the user had no session left to kick.
                Ok(_) | Err(DoveadmError::Failed { exit_code: 68, .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// CE: flushes the proxies' caches, then kicks the group's sessions on `host`. Returns how
    /// many users of the group still had a session there. Pro backends hand off themselves:
    /// nothing to do.
    pub async fn hand_off(&self, host: &str, site_id: Uuid, group: &str) -> Result<usize, HandoffError> {
        if self.settings.edition != DovecotEdition::Ce || host.is_empty() {
            return Ok(0);
        }
        // Flushed first: a kicked client reconnects at once and must get the new route.
        self.flush_proxy_caches().await;
        let users = self.group_sessions(host, site_id, group).await?;
        self.kick(host, &users).await?;
        Ok(users.len())
    }
}
