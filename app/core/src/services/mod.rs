//! Application services: the only way server functions and the CLI reach the stores.
//!
//! Access control is expressed in types: a mutating service can only be obtained from
//! [`Services`] with a [`Caller`] whose role allows it, so a handler that could misuse it
//! cannot even hold one. Every mutating service writes its audit record before it writes.

mod accounts;
mod audit;
mod backends;
mod caller;
mod controller;
mod dashboard;
mod force_moves;
mod fresh;
pub use fresh::{ACCOUNTS_FRESH_FOR, BACKENDS_FRESH_FOR};
mod groups;
mod operators;
mod progress;
mod replays;
mod routes;
mod settings;
mod stats;
mod throttle;
mod tokens;
mod topology;
mod users;

use std::sync::Arc;

pub use accounts::{Accounts, LoggedIn};
pub use audit::AuditReader;
pub(crate) use audit::Auditor;
pub use backends::{BackendAdmin, BackendOps, BackendsReader};
pub use caller::{Caller, RequestOrigin, SessionHolder};
pub use controller::{ControllerOps, ControllerReader};
pub use dashboard::DashboardReader;
pub use force_moves::{follow_force_moves, read_force_moves, ForceMoveAdmin, ForceMoveKey, ForceMoveReader};
pub use groups::{GroupAdmin, GroupOps, GroupsReader, MAX_DEFAULT_GROUPS};
pub use operators::OperatorAdmin;
pub use progress::{site_init_key, Operations};
pub use replays::{
    NoSettingsOverrides, PreparedReplay, ReplayAsk, ReplayReader, Replays, SettingsOverrides, REPLAYED_SETTINGS,
};
pub use routes::{pick_site, ProxyRoutes, RouteAnswer, RouteApiSettings, RouteError, MAX_USERNAME_BYTES};
pub use settings::{parse_setting_word, FeatureOps, SettingsAdmin, SettingsReader};
pub use stats::{StatsAdmin, StatsReader};
pub use throttle::{DeviceCookies, KnownDevice, LoginThrottle, ThrottlePolicy};
pub use tokens::ApiTokens;
pub use topology::{TopologyAdmin, TopologyReader};
pub use users::{parse_mail_user, UserAdmin, UserOps, UsersReader};

use crate::{
    controller::{Census, Controller},
    ports::{Ports, SiteTable, StoreError},
};

use domain::audit::AuditAction;
use domain::{AppError, Role};

/// Everything the services need, built once at start-up and shared through the Leptos context.
#[derive(Clone)]
pub struct Services {
    ports: Ports,
    census: Arc<Census>,
    controller: Arc<Controller>,
    /// Failed logins of this instance (see [`LoginThrottle`]).
    throttle: Arc<LoginThrottle>,
    route_api: Arc<RouteApiSettings>,
    sites: Arc<fresh::Sites>,
    reachability: Arc<fresh::Reachabilities>,
    backends: Arc<fresh::SiteBackends>,
    force_moves: Arc<fresh::ForceMoves>,
    group_pages: Arc<fresh::GroupPages>,
    accounts: Arc<fresh::Accounts>,
    tokens: Arc<fresh::Tokens>,
    /// Long operations running here (site initialisation), for their progress bars.
    operations: Arc<Operations>,
    /// `CENSUS_INTERVAL_SECS`: a census older than two of these is stale.
    census_interval: std::time::Duration,
    /// The replays running here.
    replay_runner: Arc<replays::ReplayRunner>,
    /// How a replay reads a changed controller setting.
    settings_overrides: Arc<dyn SettingsOverrides>,
}

impl Services {
    /// The services on `ports`, with this site's controller (built on the same ports), so the
    /// UI can show and steer it.
    pub fn new(ports: Ports, controller: Arc<Controller>) -> Self {
        Self {
            census: controller.census().clone(),
            controller,
            throttle: Arc::default(),
            route_api: Arc::default(),
            sites: Arc::new(fresh::Sites::new(ports.geodb.clone())),
            reachability: Arc::new(fresh::Reachabilities::new(ports.geodb.clone())),
            backends: Arc::new(fresh::SiteBackends::new(ports.geodb.clone())),
            force_moves: Arc::new(fresh::ForceMoves::new(ports.geodb.clone())),
            group_pages: Arc::new(fresh::GroupPages::new(ports.geodb.clone())),
            accounts: Arc::new(fresh::Accounts::new(ports.operators.clone())),
            tokens: Arc::new(fresh::Tokens::new(ports.operators.clone())),
            census_interval: std::time::Duration::from_secs(3600),
            operations: Arc::default(),
            replay_runner: Arc::default(),
            settings_overrides: Arc::new(NoSettingsOverrides),
            ports,
        }
    }

    /// The same services, with replays reading changed controller settings through
    /// `overrides` (the server's configuration reader).
    pub fn with_settings_overrides(mut self, overrides: Arc<dyn SettingsOverrides>) -> Self {
        self.settings_overrides = overrides;
        self
    }

    /// The same services with the census taken every `interval` (`CENSUS_INTERVAL_SECS`).
    pub fn with_census_interval(mut self, interval: std::time::Duration) -> Self {
        self.census_interval = interval;
        self
    }

    /// The caller a presented API token acts as (see [`tokens`]); [`AppError::Unauthenticated`]
    /// when it is unknown, wrong, expired or revoked, or its owner is disabled.
    pub async fn token_caller(&self, presented: &str, origin: RequestOrigin) -> Result<Caller, AppError> {
        let check = tokens::TokenCheck {
            clock: self.ports.clock.clone(),
            tokens: self.tokens.clone(),
            accounts: self.accounts.clone(),
        };
        check.caller(presented, origin).await
    }

    /// Audits one request made with an API token (`what`: method and path, cut to 512
    /// characters), whatever it then does: every use of a token is in the audit log with its id.
    pub async fn audit_token_use(&self, caller: &Caller, what: &str) -> Result<(), AppError> {
        let what: String = what.chars().take(512).collect();
        self.auditor(caller).note(AuditAction::ApiRequest, &what).await
    }

    /// API tokens: operators and admins (see [`ApiTokens`]).
    pub fn api_tokens(&self, caller: &Caller) -> Result<ApiTokens, AppError> {
        caller.require(Role::Operator)?;
        Ok(ApiTokens {
            store: self.ports.operators.clone(),
            clock: self.ports.clock.clone(),
            audit: self.auditor(caller),
            caller: caller.clone(),
            tokens: self.tokens.clone(),
        })
    }

    /// Every site, as read lately: any role.
    pub async fn sites(&self, _caller: &Caller) -> Result<Vec<domain::Site>, AppError> {
        Ok(self.sites.all().await?.as_ref().clone())
    }

    /// A site by its name (as `doveadm cluster` names it) or its id: any role.
    pub async fn site_by_key(&self, _caller: &Caller, key: &str) -> Result<domain::Site, AppError> {
        if let Ok(id) = uuid::Uuid::try_parse(key) {
            return recent_site(&self.sites, id).await;
        }
        let sites = self.sites.all().await?;
        let found = sites.iter().find(|s| s.name == key).cloned();
        found.ok_or_else(|| AppError::NotFound(format!("site {}", domain::logtext::Untrusted(key))))
    }

    /// How far a long operation running here is: any role.
    pub fn operations(&self, _caller: &Caller) -> &Operations {
        &self.operations
    }

    /// The cluster overview, the site dashboards and their charts: any role.
    pub fn dashboard(&self, _caller: &Caller) -> DashboardReader {
        DashboardReader {
            records: self.ports.records.clone(),
            metrics: self.ports.metrics.clone(),
            lease: self.ports.lease.clone(),
            clock: self.ports.clock.clone(),
            census: self.census.clone(),
            controller: self.controller.clone(),
            sites: self.sites.clone(),
            reachability: self.reachability.clone(),
            backends: self.backends.clone(),
            force_moves: self.force_moves.clone(),
            census_interval: self.census_interval,
        }
    }

    /// The same services with the route API on (when `settings` has a token).
    pub fn with_route_api(mut self, settings: RouteApiSettings) -> Self {
        self.route_api = Arc::new(settings);
        self
    }

    /// Which Dovecot the site's backends run (`DOVECOT_EDITION`).
    pub fn dovecot_edition(&self) -> domain::edition::DovecotEdition {
        self.controller.settings().dovecot.edition
    }

    /// Route lookups, for a proxy that presented the route API's token.
    pub fn proxy_routes(&self, presented_token: Option<&str>) -> Result<ProxyRoutes, RouteError> {
        let configured = self.route_api.token.as_deref().ok_or(RouteError::Off)?;
        if !presented_token.is_some_and(|t| routes::token_matches(t, configured)) {
            return Err(RouteError::Unauthorized);
        }
        let settings = self.controller.settings();
        Ok(ProxyRoutes {
            geodb: self.ports.geodb.clone(),
            site_name: settings.site.clone(),
            edition: settings.dovecot.edition,
            default_group_count: settings.dovecot.default_group_count,
            cache_secs: self.route_api.cache_secs,
            sites: self.sites.clone(),
            reachability: self.reachability.clone(),
            backends: self.backends.clone(),
            force_moves: self.force_moves.clone(),
            clock: self.ports.clock.clone(),
        })
    }

    /// The running force-moves and recovers: any role.
    pub fn force_moves(&self, _caller: &Caller) -> ForceMoveReader {
        ForceMoveReader {
            census: self.census.clone(),
            sites: self.sites.clone(),
            backends: self.backends.clone(),
            force_moves: self.force_moves.clone(),
        }
    }

    /// Starting, changing and stopping force-moves and recovers: admins, as for a site's status.
    pub fn force_move_admin(&self, caller: &Caller) -> Result<ForceMoveAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(ForceMoveAdmin {
            geodb: self.ports.geodb.clone(),
            audit: self.auditor(caller),
            clock: self.ports.clock.clone(),
            census: self.census.clone(),
            force_moves: self.force_moves.clone(),
        })
    }

    /// The same services with another login throttling policy (tests use short waits).
    pub fn with_throttle_policy(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = Arc::new(LoginThrottle::new(policy));
        self
    }

    /// The controller's state, decisions and moves: any role.
    pub fn controller(&self, _caller: &Caller) -> Result<ControllerReader, AppError> {
        Ok(ControllerReader::new(self.controller.clone()))
    }

    /// Forcing and cancelling moves, and dry evaluations: operators.
    pub fn controller_ops(&self, caller: &Caller) -> Result<ControllerOps, AppError> {
        caller.require(Role::Operator)?;
        Ok(ControllerOps::new(self.controller.clone(), self.auditor(caller), self.group_pages.clone()))
    }

    /// Starting replays (docs/replay.md): operators, since a replay costs CPU.
    pub fn replays(&self, caller: &Caller) -> Result<Replays, AppError> {
        caller.require(Role::Operator)?;
        Ok(Replays::new(
            self.ports.clone(),
            self.census.clone(),
            self.controller.settings().clone(),
            self.settings_overrides.clone(),
            self.replay_runner.clone(),
            caller.username().to_string(),
        ))
    }

    /// Reading replays: any role, so that a shared link opens for everyone who may log in.
    pub fn replay_reader(&self, _caller: &Caller) -> ReplayReader {
        ReplayReader::new(self.ports.clone())
    }

    /// The controller itself, for the endpoints that serve it without a session (`/metrics`,
    /// `/healthz`) and for the live move stream.
    pub fn controller_runtime(&self) -> Arc<Controller> {
        self.controller.clone()
    }

    /// Takes a new census (a background task calls this now and then); it records the group
    /// memberships written since the previous one less `margin` (see [`Census::refresh`]).
    pub async fn refresh_census(
        &self,
        margin: std::time::Duration,
    ) -> Result<crate::controller::CensusReport, StoreError> {
        let ports = &self.ports;
        let (geodb, members, records) = (ports.geodb.as_ref(), ports.members.as_ref(), ports.records.as_ref());
        let report = self.census.refresh(geodb, members, records, margin, ports.clock.as_ref()).await?;
        if let Some(taken_at) = self.census.latest().taken_at {
            self.controller.telemetry().census_taken(taken_at.timestamp());
        }
        Ok(report)
    }

    pub fn backends(&self, _caller: &Caller) -> BackendsReader {
        BackendsReader::new(self.census.clone(), self.controller.clone(), self.sites.clone(), self.backends.clone())
    }

    /// Backend status, load factor, evacuation: operators.
    pub fn backend_ops(&self, caller: &Caller) -> Result<BackendOps, AppError> {
        caller.require(Role::Operator)?;
        Ok(BackendOps::new(
            self.ports.geodb.clone(),
            self.auditor(caller),
            self.controller.clone(),
            self.backends.clone(),
        ))
    }

    /// Adding and removing backends: admins.
    pub fn backend_admin(&self, caller: &Caller) -> Result<BackendAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(BackendAdmin::new(
            self.ports.geodb.clone(),
            self.ports.resolver.clone(),
            self.auditor(caller),
            self.backends.clone(),
            self.dovecot_edition(),
        ))
    }

    pub fn groups(&self, _caller: &Caller) -> GroupsReader {
        GroupsReader::new(
            self.ports.geodb.clone(),
            self.ports.members.clone(),
            self.census.clone(),
            (self.backends.clone(), self.sites.clone(), self.group_pages.clone()),
        )
    }

    /// Group moves and sticky flags: operators.
    pub fn group_ops(&self, caller: &Caller) -> Result<GroupOps, AppError> {
        caller.require(Role::Operator)?;
        Ok(GroupOps::new(
            self.ports.geodb.clone(),
            self.auditor(caller),
            self.controller.moves().clone(),
            self.group_pages.clone(),
        ))
    }

    /// Site initialisation: admins.
    pub fn group_admin(&self, caller: &Caller) -> Result<GroupAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(GroupAdmin::new(
            self.ports.geodb.clone(),
            self.auditor(caller),
            self.operations.clone(),
            self.group_pages.clone(),
        ))
    }

    pub fn users(&self, _caller: &Caller) -> UsersReader {
        UsersReader {
            geodb: self.ports.geodb.clone(),
            backends: self.backends.clone(),
            sites: self.sites.clone(),
            reachability: self.reachability.clone(),
            default_group_count: self.controller.settings().dovecot.default_group_count,
        }
    }

    /// User moves: operators.
    pub fn user_ops(&self, caller: &Caller) -> Result<UserOps, AppError> {
        caller.require(Role::Operator)?;
        Ok(UserOps::new(
            self.ports.geodb.clone(),
            self.auditor(caller),
            self.ports.clock.clone(),
            self.dovecot_edition(),
        ))
    }

    /// Deleting users: admins.
    pub fn user_admin(&self, caller: &Caller) -> Result<UserAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(UserAdmin::new(self.ports.geodb.clone(), self.auditor(caller)))
    }

    pub fn settings(&self, _caller: &Caller) -> SettingsReader {
        let settings = self.controller.settings();
        SettingsReader::new(self.ports.geodb.clone(), settings.dry_run, settings.group_balance_enabled)
    }

    /// Feature states: operators.
    pub fn feature_ops(&self, caller: &Caller) -> Result<FeatureOps, AppError> {
        caller.require(Role::Operator)?;
        Ok(FeatureOps::new(self.ports.geodb.clone(), self.auditor(caller)))
    }

    /// Any `cluster_settings` row: admins.
    pub fn settings_admin(&self, caller: &Caller) -> Result<SettingsAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(SettingsAdmin::new(self.ports.geodb.clone(), self.auditor(caller)))
    }

    pub fn stats(&self, _caller: &Caller) -> StatsReader {
        StatsReader::new(self.ports.geodb.clone())
    }

    /// Pruning stale proxy rows: admins.
    pub fn stats_admin(&self, caller: &Caller) -> Result<StatsAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(StatsAdmin::new(self.ports.geodb.clone(), self.auditor(caller)))
    }

    fn auditor(&self, caller: &Caller) -> Auditor {
        Auditor::new(self.ports.audit.clone(), self.ports.clock.clone(), caller.clone())
    }

    /// Login checks. Needs no caller: logging in is how one becomes a caller.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.ports.operators.clone(), self.throttle.clone(), self.accounts.clone())
    }

    /// Read access to sites and tags: any role.
    pub fn topology(&self, _caller: &Caller) -> TopologyReader {
        TopologyReader::new(self.ports.geodb.clone(), self.ports.metrics.clone())
    }

    /// Changes to sites and tags: admins only.
    pub fn topology_admin(&self, caller: &Caller) -> Result<TopologyAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(TopologyAdmin::new(
            self.ports.geodb.clone(),
            self.auditor(caller),
            self.sites.clone(),
            self.controller.clone(),
        ))
    }

    /// Operator accounts: admins only.
    pub fn operator_admin(&self, caller: &Caller) -> Result<OperatorAdmin, AppError> {
        caller.require(Role::Admin)?;
        Ok(OperatorAdmin::new(
            self.ports.operators.clone(),
            self.auditor(caller),
            self.ports.clock.clone(),
            caller.clone(),
            self.accounts.clone(),
            self.tokens.clone(),
        ))
    }

    /// The audit log: admins only (it shows who did what from where).
    pub fn audit_log(&self, caller: &Caller) -> Result<AuditReader, AppError> {
        caller.require(Role::Admin)?;
        Ok(AuditReader::new(self.ports.audit.clone()))
    }
}

/// What a conditional write that found the row changed since it was read answers: nothing
/// was overwritten; the caller reads it again and decides again.
pub(crate) fn changed_meanwhile(what: &str) -> AppError {
    AppError::Conflict(format!("{what} changed meanwhile; nothing was overwritten: read it again, then decide"))
}

/// What a write answers when the caller's `If-Match` names another version than the current one.
pub(crate) fn not_as_read(what: &str) -> AppError {
    AppError::PreconditionFailed(format!(
        "{what} is no longer as you read it; nothing was changed: read it again, then decide"
    ))
}

/// A site by id, or NotFound.
pub(crate) async fn existing_site(geodb: &dyn SiteTable, id: uuid::Uuid) -> Result<domain::Site, AppError> {
    geodb.get_site(id).await?.ok_or_else(|| AppError::NotFound(format!("site {id}")))
}

/// The site, as read lately: for pages, never for a write.
pub(crate) async fn recent_site(sites: &fresh::Sites, id: uuid::Uuid) -> Result<domain::Site, AppError> {
    sites.get(id).await?.ok_or_else(|| AppError::NotFound(format!("site {id}")))
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(msg) => AppError::Unavailable(msg),
            StoreError::BadCursor => {
                AppError::invalid("cursor", "this page link is no longer valid; start from the first page")
            }
            StoreError::Corrupt(msg) => AppError::Internal(msg),
            err @ StoreError::TooMany { what, .. } => AppError::invalid(what, err.to_string()),
        }
    }
}
