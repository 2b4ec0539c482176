//! The route API's service: where a proxy sends a user, computed from the GeoDB by the same
//! pure routing code the simulator and the users page use (`domain::routing`). Dovecot CE
//! proxies call it from a Lua passdb (`deploy/dovecot/`); only a caller that presented the
//! proxy token gets one (see [`super::Services::proxy_routes`]).

use std::sync::Arc;

use uuid::Uuid;

use super::fresh::{ForceMoves, Reachabilities, SiteBackends, Sites};
use crate::ports::{Clock, GeoDb, StatTables, StoreError};
use domain::{
    edition::DovecotEdition,
    geodb::{Reachability, User},
    routing::{
        choose_site, load_balancer_of, new_group, route, site_trouble, user_placement, Route, RouteReason, RouteWhy,
        SitePick, SiteReason,
    },
    Site,
};

/// The route API's settings.
#[derive(Clone, Default)]
pub struct RouteApiSettings {
    /// `ROUTE_API_TOKEN`: the proxies' bearer token. Without it the route API is off.
    pub token: Option<String>,
    /// `ROUTE_API_CACHE_SECS`: how long a proxy may cache an answer (its `auth_cache_ttl`).
    pub cache_secs: u32,
}

impl std::fmt::Debug for RouteApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteApiSettings")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("cache_secs", &self.cache_secs)
            .finish()
    }
}

/// Why the route API gave no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No token is configured: the route API is off (404).
    #[error("the route API is off: set ROUTE_API_TOKEN")]
    Off,
    /// A missing or wrong token (401).
    #[error("a valid proxy token is needed")]
    Unauthorized,
    /// Bad input (400).
    #[error("{0}")]
    Invalid(String),
    /// No backend can take the user now (503): the proxy answers a temporary failure.
    #[error("{0}")]
    NoBackend(String),
    /// The GeoDB did not answer (503).
    #[error("the GeoDB is unavailable: {0}")]
    Store(#[from] StoreError),
}

impl RouteError {
    /// The error variant as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            RouteError::Off => "off",
            RouteError::Unauthorized => "unauthorized",
            RouteError::Invalid(_) => "invalid",
            RouteError::NoBackend(_) => "no_backend",
            RouteError::Store(_) => "store",
        }
    }

    /// The HTTP status the route API answers with.
    pub fn status(&self) -> u16 {
        match self {
            RouteError::Off => 404,
            RouteError::Unauthorized => 401,
            RouteError::Invalid(_) => 400,
            RouteError::NoBackend(_) | RouteError::Store(_) => 503,
        }
    }
}

/// Where a proxy sends the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAnswer {
    /// The backend's host as stored (proxies count `dest_host` under it), or another site's
    /// load balancer.
    pub host: String,
    pub site: String,
    pub group: String,
    pub why: RouteWhy,
    /// How long the proxy may cache this answer.
    pub cache_secs: u32,
}

/// The longest login name looked up (Dovecot's own limit on usernames is about this).
pub const MAX_USERNAME_BYTES: usize = 255;

/// Lookups for proxies of this controller's site.
pub struct ProxyRoutes {
    pub(super) geodb: Arc<dyn GeoDb>,
    pub(super) site_name: String,
    pub(super) edition: DovecotEdition,
    pub(super) default_group_count: u32,
    pub(super) cache_secs: u32,
    pub(super) sites: Arc<Sites>,
    pub(super) reachability: Arc<Reachabilities>,
    pub(super) backends: Arc<SiteBackends>,
    pub(super) force_moves: Arc<ForceMoves>,
    pub(super) clock: Arc<dyn Clock>,
}

/// The site-level pick for a user as a proxy of `proxy_site` makes it (`domain::routing::choose_site`),
/// reading the group's `group_sites` rows only when the user's own site is in trouble. The route
/// API, the users page and the simulator's proxies all pick through it.
pub async fn pick_site(
    geodb: &dyn StatTables,
    username: &str,
    user: Option<&User>,
    proxy_site: uuid::Uuid,
    default_group_count: u32,
    sites: &[Site],
    reachability: &[Reachability],
) -> Result<SitePick, StoreError> {
    let (home_site, home_group) = user_placement(username, user, proxy_site, default_group_count);
    let home = sites.iter().find(|s| s.id == home_site);
    let group_sites = match site_trouble(home, proxy_site, reachability) {
        Some(_) => geodb.list_group_sites(&home_group).await?,
        None => Vec::new(),
    };
    Ok(choose_site(username, user, proxy_site, default_group_count, sites, reachability, &group_sites))
}

impl ProxyRoutes {
    /// Where a proxy of this site sends `username` now.
    pub async fn route(&self, username: &str) -> Result<RouteAnswer, RouteError> {
        let username = parse_username(username)?;
        let (sites, user, reachability, force_moves) = futures::try_join!(
            self.sites.all(),
            self.geodb.get_user(username),
            self.reachability.all(),
            self.force_moves.all()
        )?;
        let now = self.clock.now();
        let user = super::follow_force_moves(self.geodb.as_ref(), &force_moves, &sites, user, now).await?;
        let here = sites
            .iter()
            .find(|s| s.name == self.site_name)
            .ok_or_else(|| RouteError::NoBackend(format!("site {} is not in the GeoDB", self.site_name)))?;
        let count = self.default_group_count;
        let pick =
            pick_site(self.geodb.as_ref(), username, user.as_ref(), here.id, count, &sites, &reachability).await?;
        let choice = match pick {
            SitePick::Serve(choice) => choice,
            SitePick::NoSite { trouble, .. } => {
                return Err(RouteError::NoBackend(format!(
                    "the user's site cannot take them ({trouble}), and no other site can"
                )))
            }
        };
        let group_name = choice.group.clone();
        let answer = |host: String, site: &Site, why| RouteAnswer {
            host,
            site: site.name.clone(),
            group: group_name.clone(),
            why,
            cache_secs: self.cache_secs,
        };
        if choice.site != here.id {
            let site = sites
                .iter()
                .find(|s| s.id == choice.site)
                .ok_or_else(|| RouteError::NoBackend(format!("site {} is not in the GeoDB", choice.site)))?;
            return Ok(answer(load_balancer_of(site).to_string(), site, RouteWhy::OtherSite));
        }
        let site_id = here.id;
        let (group, backends) =
            futures::try_join!(self.geodb.get_group(site_id, &group_name), self.backends.of(site_id))?;
        let (group, created) = match group {
            Some(group) => (group, false),
            None => (self.create_group(site_id, &group_name, &backends).await?, true),
        };
        // CE has no per-user move: once a group moves, all its users go to the destination.
        let all_moved = self.edition == DovecotEdition::Ce;
        let host = |id: Uuid| backends.iter().find(|b| b.id == id).map(|b| b.host.clone()).unwrap_or_default();
        let failover = matches!(choice.reason, SiteReason::Failover(_));
        match route(&group, &backends, all_moved) {
            Route::Unavailable => Err(RouteError::NoBackend(format!(
                "no online backend for group {group_name}: neither its backend nor its alternative"
            ))),
            Route::Referred { to, .. } => Ok(answer(host(to), here, RouteWhy::MovingDestination)),
            Route::Backend { id, reason } => {
                let why = match reason {
                    _ if failover => RouteWhy::FailoverSite,
                    RouteReason::Primary if created => RouteWhy::NewGroup,
                    RouteReason::Primary => RouteWhy::Primary,
                    RouteReason::Failover => RouteWhy::Failover,
                    RouteReason::MovingSource => RouteWhy::MovingSource,
                    RouteReason::MoveFinishedBySourceDown => RouteWhy::SourceDown,
                };
                Ok(answer(host(id), here, why))
            }
        }
    }

    /// Creates a missing group as a proxy does (only if still missing), or reads the one
    /// another proxy created first.
    async fn create_group(
        &self,
        site_id: Uuid,
        name: &str,
        backends: &[domain::geodb::Backend],
    ) -> Result<domain::geodb::UserGroup, RouteError> {
        let group = new_group(site_id, name, backends)
            .ok_or_else(|| RouteError::NoBackend(format!("no online backend to create group {name} on")))?;
        if self.geodb.create_group(&group).await? {
            return Ok(group);
        }
        self.geodb
            .get_group(site_id, name)
            .await?
            .ok_or_else(|| RouteError::NoBackend(format!("group {name} was created and removed meanwhile")))
    }
}

/// A login name as proxies send it: 1 to 255 bytes, no control characters.
fn parse_username(raw: &str) -> Result<&str, RouteError> {
    if raw.is_empty() || raw.len() > MAX_USERNAME_BYTES {
        return Err(RouteError::Invalid(format!("user must be 1 to {MAX_USERNAME_BYTES} bytes")));
    }
    if raw.chars().any(char::is_control) {
        return Err(RouteError::Invalid("user must not contain control characters".into()));
    }
    Ok(raw)
}

/// Compares a presented token with the configured one in time that does not depend on
/// where they differ.
pub(crate) fn token_matches(presented: &str, configured: &str) -> bool {
    let (a, b) = (presented.as_bytes(), configured.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(token_matches("secret-token", "secret-token"));
        assert!(!token_matches("secret-tokeN", "secret-token"));
        assert!(!token_matches("secret", "secret-token"));
        assert!(!token_matches("secret-token-longer", "secret-token"));
        assert!(!token_matches("", "secret-token"));
    }

    #[test]
    fn usernames_are_bounded() {
        assert!(parse_username("alice@example.net").is_ok());
        assert!(parse_username("").is_err());
        assert!(parse_username(&"a".repeat(256)).is_err());
        assert!(parse_username("a\nb").is_err());
    }
}
