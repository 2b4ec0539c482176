//! Which Dovecot runs the cluster (`DOVECOT_EDITION`, `DOVECOT_PROXIES`,
//! `CLUSTER_DEFAULT_GROUP_COUNT`) and the route API that Dovecot CE proxies ask
//! (`ROUTE_API_TOKEN`, `ROUTE_API_CACHE_SECS`).

use palomar_core::{
    controller::DovecotSettings,
    services::{RouteApiSettings, MAX_DEFAULT_GROUPS},
};

use domain::{edition::DovecotEdition, validate};

use super::env::Reader;

/// The shortest proxy token accepted: a guessable token would hand out every user's backend.
const MIN_TOKEN_CHARS: usize = 16;

pub(super) fn dovecot(r: &mut Reader<'_>) -> DovecotSettings {
    let edition = r.get(&["DOVECOT_EDITION"], DovecotEdition::Pro, "pro or ce", |s| s.parse().ok());
    let proxies = r.get(&["DOVECOT_PROXIES"], String::new(), "proxy host names separated by commas", |s| {
        parse_hosts(s).map(|_| s.to_string())
    });
    DovecotSettings {
        edition,
        proxies: parse_hosts(&proxies).unwrap_or_default(),
        default_group_count: r.number(&["CLUSTER_DEFAULT_GROUP_COUNT"], 100u32, 1, MAX_DEFAULT_GROUPS),
    }
}

pub(super) fn route_api(r: &mut Reader<'_>) -> RouteApiSettings {
    let expected = format!("at least {MIN_TOKEN_CHARS} characters, no spaces");
    let token = r.secret(&["ROUTE_API_TOKEN"], "", &expected, |s| {
        (s.chars().count() >= MIN_TOKEN_CHARS && !s.chars().any(char::is_whitespace)).then(|| s.to_string())
    });
    RouteApiSettings {
        token: Some(token.0).filter(|t| !t.is_empty()),
        cache_secs: r.number(&["ROUTE_API_CACHE_SECS"], 30u32, 0, 3600),
    }
}

/// `a,b,c`: host names or addresses; `None` when one is malformed.
fn parse_hosts(raw: &str) -> Option<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| validate::host_or_ip("DOVECOT_PROXIES", h).ok())
        .collect()
}
