//! A replay as the operator asked for it and as it went: what to replay (window and
//! overrides), how far it got, and its result. Kept for [`RUN_KEPT`] so that a link to it can
//! be shared.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReplayResult;
use crate::{closed_set::closed_set, AppError};

/// How long a replay and its result are kept.
pub const RUN_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);
/// The most settings one replay changes.
pub const MAX_OVERRIDES: usize = 32;
/// The longest setting name and value.
const MAX_NAME: usize = 64;
const MAX_VALUE: usize = 256;
/// A running replay whose record was not written for this long stopped with its server: each
/// slice of passes writes the record again, and a slice takes seconds.
pub const RUN_SILENT_AFTER: Duration = Duration::from_secs(120);

closed_set! {
    /// Where a replay is: running, done with a result, or failed with an error.
    pub enum ReplayStatus("replay status", "status") {
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// One setting the replay plans with instead of the one in force: a controller setting by its
/// variable name (`HOST_FAILURE_RATIO=0.3`) or a feature's state by the feature's name
/// (`load_balance=on`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingOverride {
    pub name: String,
    pub value: String,
}

impl SettingOverride {
    /// A name of letters, digits and `_`, and a value of printable characters, each bounded.
    pub fn new(name: &str, value: &str) -> Result<Self, AppError> {
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(AppError::invalid(
                "set",
                format!("a setting's name is 1 to {MAX_NAME} letters, digits and '_', as in HOST_FAILURE_RATIO=0.3"),
            ));
        }
        if value.chars().count() > MAX_VALUE || value.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "set",
                format!("the value of {name} is at most {MAX_VALUE} printable characters"),
            ));
        }
        Ok(Self { name: name.to_string(), value: value.to_string() })
    }

    /// `NAME=VALUE`.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let Some((name, value)) = raw.split_once('=') else {
            return Err(AppError::invalid("set", "write a setting as NAME=VALUE, as in HOST_FAILURE_RATIO=0.3"));
        };
        Self::new(name, value)
    }

    /// Several, each name once, at most [`MAX_OVERRIDES`].
    pub fn parse_all<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Self>, AppError> {
        let mut all: Vec<Self> = Vec::new();
        for (name, value) in pairs {
            let one = Self::new(name, value)?;
            if all.iter().any(|o| o.name.eq_ignore_ascii_case(&one.name)) {
                return Err(AppError::invalid("set", format!("{} is set twice", one.name)));
            }
            if all.len() == MAX_OVERRIDES {
                return Err(AppError::invalid("set", format!("a replay changes at most {MAX_OVERRIDES} settings")));
            }
            all.push(one);
        }
        Ok(all)
    }

    /// One `NAME=VALUE` a line, as the replay page's form sends them; blank lines and lines
    /// starting with `#` are skipped.
    pub fn parse_lines(text: &str) -> Result<Vec<Self>, AppError> {
        if text.len() > MAX_OVERRIDES * (MAX_NAME + MAX_VALUE + 2) {
            return Err(AppError::invalid("set", format!("a replay changes at most {MAX_OVERRIDES} settings")));
        }
        let mut pairs = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some(pair) = line.split_once('=') else {
                return Err(AppError::invalid("set", "write a setting as NAME=VALUE, as in HOST_FAILURE_RATIO=0.3"));
            };
            pairs.push(pair);
        }
        Self::parse_all(pairs)
    }
}

impl std::fmt::Display for SettingOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// A replay: asked, running, done or failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRun {
    pub id: Uuid,
    pub site_id: Uuid,
    pub site: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    /// When the record was last written: a running replay writes it after each slice.
    pub updated_at: DateTime<Utc>,
    /// The window as asked.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overrides: Vec<SettingOverride>,
    pub status: ReplayStatus,
    /// Passes replayed, and passes in all.
    pub done: u64,
    pub total: u64,
    /// Why it failed.
    pub error: Option<String>,
    pub result: Option<ReplayResult>,
}

impl ReplayRun {
    /// Passes replayed, in percent.
    pub fn percent(&self) -> f64 {
        match self.status {
            ReplayStatus::Done => 100.0,
            _ if self.total == 0 => 0.0,
            _ => self.done as f64 * 100.0 / self.total as f64,
        }
    }

    /// The run as it stands at `now`: a running replay whose record went silent stopped with
    /// its server, and is reported failed.
    pub fn as_of(mut self, now: DateTime<Utc>) -> Self {
        let silent = chrono::Duration::from_std(RUN_SILENT_AFTER).unwrap_or(chrono::Duration::MAX);
        if self.status == ReplayStatus::Running && now - self.updated_at > silent {
            self.status = ReplayStatus::Failed;
            self.error = Some("the server running the replay stopped before it ended; start it again".into());
        }
        self
    }

    /// Whether this is a what-if (some setting changed) rather than a check of fidelity.
    pub fn is_what_if(&self) -> bool {
        !self.overrides.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_name_equals_value_each_name_once() {
        let one = SettingOverride::parse(" HOST_FAILURE_RATIO = 0.3 ").expect("parses");
        assert_eq!(one.to_string(), "HOST_FAILURE_RATIO=0.3");
        assert!(SettingOverride::parse("HOST_FAILURE_RATIO").is_err());
        assert!(SettingOverride::parse("HOST FAILURE=1").is_err());
        assert!(SettingOverride::parse("X=a\u{7}b").is_err());
        assert!(SettingOverride::parse(&format!("X={}", "9".repeat(257))).is_err());
        let twice = SettingOverride::parse_all([("load_balance", "on"), ("LOAD_BALANCE", "off")]);
        assert!(twice.is_err_and(|e| e.to_string().contains("twice")));
        let many: Vec<(String, String)> = (0..=MAX_OVERRIDES).map(|i| (format!("S{i}"), "1".to_string())).collect();
        assert!(SettingOverride::parse_all(many.iter().map(|(n, v)| (n.as_str(), v.as_str()))).is_err());
    }

    #[test]
    fn a_form_sends_a_setting_a_line() {
        let text = "# in force\nHOST_FAILURE_RATIO=0.1\n\n  load_balance = on \r\n";
        let all = SettingOverride::parse_lines(text).expect("parses");
        assert_eq!(
            all.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["HOST_FAILURE_RATIO=0.1", "load_balance=on"]
        );
        assert!(SettingOverride::parse_lines("HOST_FAILURE_RATIO").is_err());
        assert!(SettingOverride::parse_lines(&"X=1\n".repeat(5000)).is_err());
    }

    #[test]
    fn a_running_replay_whose_record_went_silent_is_failed() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let run = ReplayRun {
            id: Uuid::nil(),
            site_id: Uuid::nil(),
            site: "dc1a".into(),
            requested_by: "op".into(),
            created_at: at,
            updated_at: at,
            from: at,
            to: at,
            overrides: Vec::new(),
            status: ReplayStatus::Running,
            done: 1,
            total: 4,
            error: None,
            result: None,
        };
        assert_eq!(run.clone().as_of(at + chrono::Duration::seconds(60)).status, ReplayStatus::Running);
        assert_eq!(run.percent(), 25.0);
        let stale = run.as_of(at + chrono::Duration::seconds(121));
        assert_eq!(stale.status, ReplayStatus::Failed);
        assert!(stale.error.is_some());
    }
}
