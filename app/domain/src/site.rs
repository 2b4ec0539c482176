use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{logtext::Untrusted, validate, values::SiteName, AppError};

/// A row of the GeoDB `sites` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub id: Uuid,
    /// Equals `cluster_local_site` on the site's proxies and backends.
    pub name: String,
    /// `tags.id` of the shard this site belongs to.
    pub tag: Option<Uuid>,
    /// Where other sites' proxies connect for site-to-site proxying. May be empty.
    pub load_balancer: String,
    pub status: SiteStatus,
}

/// A site with its tag's name and its backend count, as the sites list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    pub site: Site,
    pub tag_name: Option<String>,
    /// Backends counted up to one page; `more_backends` says the count stopped there.
    pub backends: usize,
    pub more_backends: bool,
    /// Logins and deliveries to the site's backends over the last 5 minutes, when metrics answer.
    pub traffic: Option<super::metrics::HostTraffic>,
}

/// `sites.status`. Dovecot writes this column too, so a value we do not know is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SiteStatus {
    /// Reachable and accepting connections.
    Online,
    /// Unreachable.
    Offline,
    /// Reachable but not accepting connections.
    Standby,
    /// Being evacuated of all users.
    Evacuate,
    /// A value written by someone else that this version does not know.
    Other(String),
}

impl SiteStatus {
    /// The statuses an operator may set.
    pub const SETTABLE: [SiteStatus; 4] =
        [SiteStatus::Online, SiteStatus::Offline, SiteStatus::Standby, SiteStatus::Evacuate];

    pub fn as_str(&self) -> &str {
        match self {
            SiteStatus::Online => "online",
            SiteStatus::Offline => "offline",
            SiteStatus::Standby => "standby",
            SiteStatus::Evacuate => "evacuate",
            SiteStatus::Other(raw) => raw,
        }
    }

    /// Reads a stored value, keeping unknown ones.
    pub fn from_stored(raw: &str) -> Self {
        raw.parse().unwrap_or_else(|_| SiteStatus::Other(raw.to_string()))
    }
}

impl fmt::Display for SiteStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SiteStatus {
    type Err = AppError;

    /// Parses operator input: only the four documented values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "online" => Ok(SiteStatus::Online),
            "offline" => Ok(SiteStatus::Offline),
            "standby" => Ok(SiteStatus::Standby),
            "evacuate" => Ok(SiteStatus::Evacuate),
            other => Err(AppError::invalid(
                "status",
                format!("unknown status {:?}: use online, offline, standby or evacuate", Untrusted(other)),
            )),
        }
    }
}

/// A site as an operator submits it, checked. Whether the name is free and the tag exists is
/// checked by the service, which can see the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteDraft {
    pub name: String,
    pub tag: Option<Uuid>,
    pub load_balancer: String,
    pub status: SiteStatus,
}

impl SiteDraft {
    /// Validates the raw form fields.
    pub fn parse(name: &str, tag: &str, load_balancer: &str, status: &str) -> Result<Self, AppError> {
        let name = name.parse::<SiteName>().map_err(|bad| bad.on("name"))?.into();
        let tag = validate::optional_uuid("tag", tag)?;
        let load_balancer = match load_balancer.trim() {
            "" => String::new(),
            lb => validate::host_or_ip("load_balancer", lb)?,
        };
        let status = status.parse()?;
        Ok(Self { name, tag, load_balancer, status })
    }

    pub fn into_site(self, id: Uuid) -> Site {
        Site { id, name: self.name, tag: self.tag, load_balancer: self.load_balancer, status: self.status }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_valid_site() {
        let draft = SiteDraft::parse(" dc1a ", "", "lb.dc1a.example.com", "online").unwrap();
        assert_eq!(draft.name, "dc1a");
        assert_eq!(draft.tag, None);
        assert_eq!(draft.status, SiteStatus::Online);
    }

    #[test]
    fn rejects_each_bad_field() {
        assert_eq!(SiteDraft::parse("", "", "", "online").unwrap_err().field(), Some("name"));
        assert_eq!(SiteDraft::parse("dc1", "x", "", "online").unwrap_err().field(), Some("tag"));
        assert_eq!(SiteDraft::parse("dc1", "", "a b", "online").unwrap_err().field(), Some("load_balancer"));
        assert_eq!(SiteDraft::parse("dc1", "", "", "maintenance").unwrap_err().field(), Some("status"));
    }

    #[test]
    fn unknown_stored_status_is_kept() {
        assert_eq!(SiteStatus::from_stored("draining"), SiteStatus::Other("draining".into()));
        assert_eq!(SiteStatus::from_stored("draining").as_str(), "draining");
        assert_eq!(SiteStatus::from_stored("standby"), SiteStatus::Standby);
    }
}
