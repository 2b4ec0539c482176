//! Which site serves a user: the user's own (preferred) site while it can take them, else a
//! failover site (docs/multi-site.md, "Routing order"). A pure function of the rows a proxy
//! reads, so the simulator's proxies, the route API and the users page decide alike.

use uuid::Uuid;

use super::{stable_hash, user_placement};
use crate::{
    closed_set::closed_set,
    geodb::{GroupSite, Reachability, User},
    Site, SiteStatus,
};

closed_set! {
    /// Why a site cannot take users now, as a proxy of some site sees it.
    pub enum SiteTrouble("site trouble", "trouble") {
        Offline = "offline",
        Standby = "standby",
        Evacuating = "evacuating",
        /// A status this version does not know: not trusted to take users.
        UnknownStatus = "unknown_status",
        /// `site_reachability` from the proxy's site says 0.
        Unreachable = "unreachable",
        /// Not in the `sites` table.
        Missing = "missing",
    }
}

/// Why the chosen site serves the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteReason {
    /// The user's own site (or, for a user without a row, the proxy's).
    Home,
    /// The user's site has this trouble; the group's failover site serves.
    Failover(SiteTrouble),
}

/// The site and group a user is served in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteChoice {
    pub site: Uuid,
    pub group: String,
    pub reason: SiteReason,
    /// The user's own site and group, where they return once it can take them again.
    pub home: (Uuid, String),
}

/// Where a user goes at the site level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SitePick {
    Serve(SiteChoice),
    /// Neither the user's site nor any other can take them.
    NoSite {
        home: (Uuid, String),
        trouble: SiteTrouble,
    },
}

/// The host another site's proxies send the users `site` serves to: its load balancer, or its
/// name when it has none.
pub fn load_balancer_of(site: &Site) -> &str {
    if site.load_balancer.is_empty() {
        &site.name
    } else {
        &site.load_balancer
    }
}

/// What keeps `site` from taking users sent by a proxy of `proxy_site`, if anything.
pub fn site_trouble(site: Option<&Site>, proxy_site: Uuid, reachability: &[Reachability]) -> Option<SiteTrouble> {
    let Some(site) = site else { return Some(SiteTrouble::Missing) };
    let by_status = match &site.status {
        SiteStatus::Online => None,
        SiteStatus::Offline => Some(SiteTrouble::Offline),
        SiteStatus::Standby => Some(SiteTrouble::Standby),
        SiteStatus::Evacuate => Some(SiteTrouble::Evacuating),
        SiteStatus::Other(_) => Some(SiteTrouble::UnknownStatus),
    };
    by_status.or_else(|| {
        // A proxy always reaches its own site; another site is reachable unless a row says not.
        let cut = site.id != proxy_site
            && reachability
                .iter()
                .any(|r| r.src_site_id == proxy_site && r.dest_site_id == site.id && r.reachable == 0);
        cut.then_some(SiteTrouble::Unreachable)
    })
}

/// Picks the site and group for `username`, as a proxy of `proxy_site` does.
///
/// `group_sites` are the `group_sites` rows of the user's group; they are read only when the
/// user's site is in trouble, so a caller may pass none while it is not.
pub fn choose_site(
    username: &str,
    user: Option<&User>,
    proxy_site: Uuid,
    default_group_count: u32,
    sites: &[Site],
    reachability: &[Reachability],
    group_sites: &[GroupSite],
) -> SitePick {
    let home = user_placement(username, user, proxy_site, default_group_count);
    let find = |id: Uuid| sites.iter().find(|s| s.id == id);
    let trouble = |id: Uuid| site_trouble(find(id), proxy_site, reachability);
    let Some(home_trouble) = trouble(home.0) else {
        return SitePick::Serve(SiteChoice { site: home.0, group: home.1.clone(), reason: SiteReason::Home, home });
    };
    let named = group_sites
        .iter()
        .find(|row| row.group_name == home.1 && row.site_id == home.0)
        .and_then(|row| row.failover_site_id)
        .filter(|id| *id != home.0);
    let mut others: Vec<&Site> = sites.iter().filter(|s| s.id != home.0 && Some(s.id) != named).collect();
    // Rendezvous order: each group spreads over the other sites, and adding a site moves
    // only the groups that now prefer it.
    others.sort_by_key(|s| (std::cmp::Reverse(stable_hash(&format!("{}@{}", home.1, s.id))), s.id));
    let failover = named.into_iter().chain(others.into_iter().map(|s| s.id)).find(|id| trouble(*id).is_none());
    match failover {
        Some(site) => {
            let group = user
                .map(|u| u.failover_site_group_name.clone())
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| home.1.clone());
            SitePick::Serve(SiteChoice { site, group, reason: SiteReason::Failover(home_trouble), home })
        }
        None => SitePick::NoSite { home, trouble: home_trouble },
    }
}

#[cfg(test)]
mod tests;
