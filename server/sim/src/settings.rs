//! The simulator's knobs: how much traffic it makes and how fast moves go.

use std::time::Duration;

/// Who checks a login's password: where a wrong one is refused decides whether the proxies'
/// metrics ever see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PasswordCheck {
    /// Dovecot Pro's layout: the proxy's own passdb refuses a wrong password, and nothing is
    /// proxied to a backend.
    #[default]
    Proxy,
    /// Dovecot CE with the route passdb (`nopassword=y`): the backend refuses it, and the
    /// proxy's session ends with `error="... Authentication failed."`.
    Backend,
}

/// The proxies' `proxy_session_failure` filter: which proxied logins that ended in an error
/// count against their backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailureFilter {
    /// `deploy/dovecot/<line>/proxy.conf`: only the backend's trouble (refused, timed out, hung up,
    /// temporary failures); not wrong passwords, unknown users, connection limits, referrals.
    #[default]
    BackendTrouble,
    /// `error=*`: every error, wrong passwords included (the filter shipped before, or a Pro
    /// proxy's filter kept on a CE layout). Here for the controller's defence in depth.
    AnyError,
}

impl FailureFilter {
    /// Whether a proxied login the backend refused for its password counts as a failure.
    pub fn counts_wrong_passwords(self) -> bool {
        self == Self::AnyError
    }
}

/// How much traffic the simulator makes and how fast moves go.
#[derive(Debug, Clone)]
pub struct SimSettings {
    pub proxies_per_site: usize,
    /// Logins each proxy sees per second.
    pub logins_per_second: f64,
    /// LMTP deliveries each proxy makes per second.
    pub deliveries_per_second: f64,
    /// Share of a proxy's logins for users whose preferred site is another one.
    pub cross_site_percent: f64,
    /// Redirects and temporary auth failures: not failures by the seed's metric filters.
    pub harmless_login_error_percent: f64,
    /// Permanent (5.x.x) LMTP rejections: not host failures by the seed's filter.
    pub permanent_reject_percent: f64,
    /// Users a source backend moves per second in one group move.
    pub user_move_rate: f64,
    /// `cluster_default_group_count` of the proxies.
    pub default_group_count: u32,
    /// At most this many usernames are kept to make traffic from.
    pub sample_users: usize,
    /// How often a Z-score sample is recorded for the embedded metrics.
    pub score_interval: Duration,
    /// Where wrong passwords are refused.
    pub password_check: PasswordCheck,
    /// What the proxies count as a failed login.
    pub failure_filter: FailureFilter,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            proxies_per_site: 2,
            logins_per_second: 10.0,
            deliveries_per_second: 5.0,
            cross_site_percent: 5.0,
            harmless_login_error_percent: 1.0,
            permanent_reject_percent: 1.0,
            user_move_rate: 50.0,
            default_group_count: 100,
            sample_users: 50_000,
            score_interval: Duration::from_secs(15),
            password_check: PasswordCheck::default(),
            failure_filter: FailureFilter::default(),
        }
    }
}
