//! The doveadm commands the controller sends, typed: each with the parameters it takes, so a
//! command cannot be sent with a misspelt name or parameter. The wire form (the camelCase name
//! and the parameters object of the doveadm HTTP API) is made here, in one place.

use serde_json::{Map, Value};

use crate::closed_set::closed_set;

/// One doveadm command with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoveadmCommand {
    /// Dovecot Pro: whether the backend `host` answers (the reachability probe).
    ClusterBackendStatus { host: String },
    /// Dovecot Pro: a lookup of the group on its backend, which starts a pending move.
    ClusterGroupAccess { group: String },
    /// Dovecot Pro: how far the group's move is on its source.
    ClusterGroupStatus { site: String, group: String },
    /// Dovecot Pro: moves one user to another group on the same backend.
    ClusterUserMove { user: String, group: String, failover_group: String, site: String },
    /// Dovecot Pro: a lookup of the user, which applies its move.
    ClusterUserAccess { user: String },
    /// The sessions of the users matching `masks` (all, when empty). `separate_connections`
    /// asks for one row per connection: CE's grouped answer is malformed with two rows or more.
    Who { masks: Vec<String>, separate_connections: bool },
    /// Ends the sessions of the users matching `mask`.
    Kick { mask: String },
    /// Empties a proxy's auth cache for `users` (all, when empty).
    AuthCacheFlush { users: Vec<String> },
}

impl DoveadmCommand {
    /// The command's name in the doveadm HTTP API.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ClusterBackendStatus { .. } => "clusterBackendStatus",
            Self::ClusterGroupAccess { .. } => "clusterGroupAccess",
            Self::ClusterGroupStatus { .. } => "clusterGroupStatus",
            Self::ClusterUserMove { .. } => "clusterUserMove",
            Self::ClusterUserAccess { .. } => "clusterUserAccess",
            Self::Who { .. } => "who",
            Self::Kick { .. } => "kick",
            Self::AuthCacheFlush { .. } => "authCacheFlush",
        }
    }

    /// The command's parameters as the doveadm HTTP API takes them.
    pub fn parameters(&self) -> Map<String, Value> {
        let text = |s: &str| Value::String(s.to_string());
        let list = |items: &[String]| Value::Array(items.iter().map(|s| text(s)).collect());
        let pairs: Vec<(&str, Value)> = match self {
            Self::ClusterBackendStatus { host } => vec![("host", text(host))],
            Self::ClusterGroupAccess { group } => vec![("group", text(group))],
            Self::ClusterGroupStatus { site, group } => vec![("site", text(site)), ("group", text(group))],
            Self::ClusterUserMove { user, group, failover_group, site } => vec![
                ("user", text(user)),
                ("group", text(group)),
                ("failoverGroup", text(failover_group)),
                ("site", text(site)),
            ],
            Self::ClusterUserAccess { user } => vec![("user", text(user))],
            Self::Who { masks, separate_connections } => {
                let mut pairs = Vec::new();
                if !masks.is_empty() {
                    pairs.push(("mask", list(masks)));
                }
                if *separate_connections {
                    pairs.push(("separateConnections", Value::Bool(true)));
                }
                pairs
            }
            Self::Kick { mask } => vec![("mask", text(mask))],
            Self::AuthCacheFlush { users } => vec![("user", list(users))],
        };
        pairs.into_iter().map(|(name, value)| (name.to_string(), value)).collect()
    }

    /// Whether the command waits on a lookup (a backend may take its time): the long deadline.
    pub fn is_slow(&self) -> bool {
        matches!(self, Self::ClusterGroupAccess { .. } | Self::ClusterUserAccess { .. })
    }
}

closed_set! {
    /// The Dovecot CE line behind a doveadm HTTP API, told from the commands it lists
    /// (`GET /doveadm/v1`): see [`DovecotLine::of_commands`].
    pub enum DovecotLine("Dovecot line", "line") {
        /// 2.3: still has the Director.
        Ce23 = "2.3",
        /// 2.4 and later: no Director.
        Ce24 = "2.4",
    }
}

impl DovecotLine {
    /// The line whose doveadm API lists `commands`: 2.4 dropped the Director, so a list with
    /// `directorStatus` is 2.3's, and one without is 2.4's (or later).
    pub fn of_commands<S: AsRef<str>>(commands: &[S]) -> Self {
        if commands.iter().any(|c| c.as_ref() == "directorStatus") {
            Self::Ce23
        } else {
            Self::Ce24
        }
    }

    /// Whether `authCacheFlush` may be sent. On 2.4.1 it never works over HTTP: with a `user`
    /// parameter (even an empty list) doveadm panics (`doveadm_cmd_param_str` assertion), and
    /// without one it fails ("Missing user parameter").
    pub fn flushes_auth_cache(self) -> bool {
        self == Self::Ce23
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_told_by_the_directors_commands() {
        let ce23 = ["who", "kick", "authCacheFlush", "directorStatus", "directorMap"];
        let ce24 = ["who", "kick", "authCacheFlush", "proxyKick", "sieveList"];
        assert_eq!(DovecotLine::of_commands(&ce23), DovecotLine::Ce23);
        assert_eq!(DovecotLine::of_commands(&ce24), DovecotLine::Ce24);
        assert!(DovecotLine::Ce23.flushes_auth_cache() && !DovecotLine::Ce24.flushes_auth_cache());
        assert_eq!(DovecotLine::Ce24.to_string(), "2.4");
    }

    #[test]
    fn commands_go_out_in_the_doveadm_http_apis_words() {
        let who = DoveadmCommand::Who { masks: vec![], separate_connections: true };
        assert_eq!(
            (who.name(), Value::Object(who.parameters())),
            ("who", serde_json::json!({"separateConnections": true}))
        );
        let probe = DoveadmCommand::Who { masks: vec!["x".into()], separate_connections: false };
        assert_eq!(Value::Object(probe.parameters()), serde_json::json!({"mask": ["x"]}));
        let moved = DoveadmCommand::ClusterUserMove {
            user: "u".into(),
            group: "g2".into(),
            failover_group: "g2".into(),
            site: "dc1".into(),
        };
        assert_eq!(
            Value::Object(moved.parameters()),
            serde_json::json!({"user": "u", "group": "g2", "failoverGroup": "g2", "site": "dc1"})
        );
        let flush = DoveadmCommand::AuthCacheFlush { users: vec![] };
        assert_eq!(
            (flush.name(), Value::Object(flush.parameters())),
            ("authCacheFlush", serde_json::json!({"user": []}))
        );
        assert!(DoveadmCommand::ClusterGroupAccess { group: "g".into() }.is_slow());
    }
}
