use std::sync::Arc;

use uuid::Uuid;

use super::{
    fresh::{Reachabilities, SiteBackends, Sites},
    routes::pick_site,
    Auditor,
};
use crate::ports::{Clock, GeoDb};
use domain::audit::AuditAction;
use domain::{
    cluster::UserDetail,
    edition::DovecotEdition,
    geodb::{User, UserMove},
    routing::{route, Route, RouteReason, SitePick, SiteReason},
    validate, AppError, GroupName,
};

/// Checks a username from a form: 1 to 255 printable characters without spaces.
pub fn parse_mail_user(raw: &str) -> Result<String, AppError> {
    let user = raw.trim();
    validate::bounded("username", user, 1, 255)?;
    if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid("username", "a username has no spaces or control characters"));
    }
    Ok(user.to_string())
}

/// User lookups with their route: any role.
pub struct UsersReader {
    pub(super) geodb: Arc<dyn GeoDb>,
    pub(super) backends: Arc<SiteBackends>,
    pub(super) sites: Arc<Sites>,
    pub(super) reachability: Arc<Reachabilities>,
    pub(super) default_group_count: u32,
}

impl UsersReader {
    /// The user's row and where a proxy of their preferred site would send them now: to their
    /// site, or, while it cannot take them, to its failover site.
    pub async fn lookup(&self, username: &str) -> Result<UserDetail, AppError> {
        let user =
            self.geodb.get_user(username).await?.ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
        let Some(site_id) = user.preferred_site_id else {
            return Ok(UserDetail {
                user,
                site_name: String::new(),
                backend_host: None,
                route: "no preferred site".into(),
                group_moving: false,
            });
        };
        let (sites, reachability) = futures::try_join!(self.sites.all(), self.reachability.all())?;
        let name_of = |id: Uuid| {
            sites.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_else(|| format!("unknown site {id}"))
        };
        let site_name = name_of(site_id);
        let count = self.default_group_count;
        let pick = pick_site(self.geodb.as_ref(), username, Some(&user), site_id, count, &sites, &reachability).await?;
        let choice = match pick {
            SitePick::Serve(choice) => choice,
            SitePick::NoSite { trouble, .. } => {
                let route = format!("{site_name} cannot take users ({trouble}), and no other site can take the user");
                return Ok(UserDetail { user, site_name, backend_host: None, route, group_moving: false });
            }
        };
        let served_in = match choice.reason {
            SiteReason::Home => String::new(),
            SiteReason::Failover(trouble) => format!(
                "{site_name} cannot take users ({trouble}): its failover site {} serves the user in group {}; ",
                name_of(choice.site),
                choice.group
            ),
        };
        let (group, backends) =
            futures::try_join!(self.geodb.get_group(choice.site, &choice.group), self.backends.of(choice.site))?;
        let Some(group) = group else {
            let route =
                format!("{served_in}group {} does not exist yet: a proxy creates it at the next login", choice.group);
            return Ok(UserDetail { user, site_name, backend_host: None, route, group_moving: false });
        };
        let host = |id: Uuid| backends.iter().find(|b| b.id == id).map(|b| b.host.clone());
        let (backend_host, route) = match route(&group, &backends, false) {
            Route::Backend { id, reason } => {
                let why = match reason {
                    RouteReason::Primary => "the group's backend",
                    RouteReason::Failover => "the group's alternative backend (its backend is offline or standby)",
                    RouteReason::MovingSource => {
                        "the source of the group's move (users it has moved are referred to the destination)"
                    }
                    RouteReason::MoveFinishedBySourceDown => {
                        "the destination: the move ends at the next access since the source is down"
                    }
                };
                (host(id), why.to_string())
            }
            Route::Referred { to, .. } => (host(to), "referred to the move's destination".into()),
            Route::Unavailable => (None, "no online backend: neither the group's backend nor its alternative".into()),
        };
        let route = format!("{served_in}{route}");
        Ok(UserDetail { group_moving: group.is_moving(), user, site_name, backend_host, route })
    }
}

/// User moves: operators.
pub struct UserOps {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
    clock: Arc<dyn Clock>,
    edition: DovecotEdition,
}

impl UserOps {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, audit: Auditor, clock: Arc<dyn Clock>, edition: DovecotEdition) -> Self {
        Self { geodb, audit, clock, edition }
    }

    /// Like `doveadm cluster user move`: sets the `moving_*` fields; the user's current backend
    /// moves them at their next access. The group must exist in the target site.
    pub async fn move_user(
        &self,
        username: &str,
        site_id: Option<Uuid>,
        group: &GroupName,
        failover_group: Option<&GroupName>,
    ) -> Result<User, AppError> {
        if self.edition == DovecotEdition::Ce {
            return Err(AppError::Conflict(
                "Dovecot CE backends cannot move a single user: move the user's group instead".into(),
            ));
        }
        let user =
            self.geodb.get_user(username).await?.ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
        let site_id = site_id
            .or(user.preferred_site_id)
            .ok_or_else(|| AppError::invalid("site", "the user has no site: choose one"))?;
        if self.geodb.get_group(site_id, group.as_str()).await?.is_none() {
            return Err(AppError::invalid("group", format!("there is no group {group} in that site")));
        }
        let to = UserMove {
            site_id,
            group: group.to_string(),
            failover_group: failover_group.unwrap_or(group).to_string(),
            at: self.clock.now(),
        };
        let after = User {
            moving_preferred_site_id: Some(to.site_id),
            moving_group_name: to.group.clone(),
            moving_failover_site_group_name: to.failover_group.clone(),
            last_update: Some(to.at),
            ..user.clone()
        };
        let write = self.geodb.start_user_move(&user, &to);
        let what = format!("user {username}");
        self.audit.apply_conditional(AuditAction::UserMove, username, &what, Some(&user), Some(&after), write).await?;
        Ok(after)
    }
}

/// Deleting users: admins.
pub struct UserAdmin {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
}

impl UserAdmin {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, audit: Auditor) -> Self {
        Self { geodb, audit }
    }

    /// Like `doveadm cluster user delete`: removes the row; the user gets a default group again
    /// at the next login.
    pub async fn delete(&self, username: &str) -> Result<User, AppError> {
        let user =
            self.geodb.get_user(username).await?.ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
        self.audit
            .apply(AuditAction::UserDelete, username, Some(&user), None::<&User>, self.geodb.delete_user(username))
            .await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_mail_user;

    #[test]
    fn usernames() {
        assert_eq!(parse_mail_user(" alice@example.net ").unwrap(), "alice@example.net");
        assert!(parse_mail_user("").is_err());
        assert!(parse_mail_user("a b").is_err());
    }
}
