//! What the cluster pages show: GeoDB rows with what the controller knows about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    edition::DovecotEdition,
    geodb::{Backend, BackendStatus, GroupSite, User, UserGroup},
    logtext::Untrusted,
    planning::parse_moved_at,
    validate,
    values::BackendHost,
    AppError,
};

/// A backend as the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendView {
    pub id: Uuid,
    pub host: String,
    pub status: BackendStatus,
    pub status_reason: String,
    /// 0..100; 0 drains the backend.
    pub load_factor: i32,
    pub last_moved_from: Option<DateTime<Utc>>,
    pub last_moved_to: Option<DateTime<Utc>>,
    /// The row's version ([`super::version::of_backend`]), for conditional writes.
    pub version: String,
}

impl From<&Backend> for BackendView {
    fn from(b: &Backend) -> Self {
        Self {
            id: b.id,
            host: b.host.clone(),
            status: b.status.clone(),
            status_reason: b.status_reason.clone(),
            load_factor: b.load_factor,
            last_moved_from: parse_moved_at(&b.last_moved_from),
            last_moved_to: parse_moved_at(&b.last_moved_to),
            version: super::version::of_backend(b),
        }
    }
}

/// A group as the pages show it (its backends are shown by host, in [`GroupRow`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    pub sticky_users: bool,
    pub sticky_backend: bool,
    /// The running move's token, while one runs.
    pub moving: Option<String>,
    pub refresh_after: Option<DateTime<Utc>>,
    /// The row's version ([`super::version::of_group`]), for conditional writes.
    pub version: String,
}

impl From<&UserGroup> for GroupView {
    fn from(g: &UserGroup) -> Self {
        Self {
            name: g.name.clone(),
            sticky_users: g.has_sticky_users(),
            sticky_backend: g.has_sticky_backend(),
            moving: g.moving_token().map(str::to_string),
            refresh_after: g.refresh_after,
            version: super::version::of_group(g),
        }
    }
}

/// A backend with its group and user counts from the last census.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendRow {
    pub backend: BackendView,
    pub groups: Option<u64>,
    pub users: Option<u64>,
    /// The controller's latest doveadm probe of the backend; `None` when this instance does
    /// not keep the backend's site or has not probed it yet.
    pub reachable: Option<bool>,
}

/// A page of backends and when the counts were taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendList {
    pub site_name: String,
    pub rows: Vec<BackendRow>,
    pub next: Option<String>,
    pub counted_at: Option<DateTime<Utc>>,
}

/// Checks a new backend's host: a DNS name. Dovecot Pro's backends are named
/// (`cluster_backend_name`; `doveadm cluster backend add` refuses IP literals). A Dovecot CE
/// backend's host is only where proxies connect, so an IP address is fine there.
pub fn parse_backend_host(raw: &str, edition: DovecotEdition) -> Result<BackendHost, AppError> {
    raw.parse::<BackendHost>().and_then(|host| host.for_edition(edition)).map_err(|bad| bad.on("host"))
}

/// A group with its backends' hosts and its user count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub group: GroupView,
    pub backend_host: String,
    pub alt_backend_host: String,
    pub users: Option<u64>,
}

/// How far a long operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// A group list page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupList {
    pub site_name: String,
    pub rows: Vec<GroupRow>,
    pub next: Option<String>,
}

/// Which groups to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFilter {
    /// The host name of the backend the groups are on; a site may have thousands, so it is
    /// typed rather than picked from a list.
    pub backend: Option<String>,
    /// `*` and `?` wildcards; empty matches all.
    pub mask: String,
    pub moving: Option<bool>,
}

impl GroupFilter {
    pub fn parse(backend: &str, mask: &str, moving: &str) -> Result<Self, AppError> {
        let mask = mask.trim();
        validate::bounded("mask", mask, 0, MAX_MASK_LEN)?;
        let moving = match moving.trim() {
            "" | "any" => None,
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                return Err(AppError::invalid(
                    "moving",
                    format!("unknown choice {:?}: use any, yes or no", Untrusted(other)),
                ))
            }
        };
        let backend = match backend.trim() {
            "" => None,
            host => Some(validate::host_or_ip("backend", host)?),
        };
        Ok(Self { backend, mask: mask.to_string(), moving })
    }

    /// Whether `g` passes, `backend_id` being the id of [`Self::backend`] in the group's site.
    pub fn matches(&self, g: &UserGroup, backend_id: Option<Uuid>) -> bool {
        backend_id.is_none_or(|b| g.backend_id == Some(b))
            && (self.mask.is_empty() || glob(&self.mask, &g.name))
            && self.moving.is_none_or(|m| m == g.is_moving())
    }
}

/// The longest mask a group filter takes, in characters.
pub const MAX_MASK_LEN: usize = 64;

/// doveadm masks: `*` matches any run of characters, `?` any one character.
///
/// The classic two-pointer match: on a mismatch only the last `*` seen is retried one
/// character further on, never every way of splitting the name among the stars, so the cost
/// is at most `mask × name` steps. (A recursive match tries every split and is exponential in
/// the number of stars: a 30-star mask from one page view kept a core busy for minutes.)
pub fn glob(mask: &str, name: &str) -> bool {
    let mask: Vec<char> = mask.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut m, mut n) = (0, 0);
    // Where the last `*` was: the mask position after it, and the name position it will next
    // try to stop at when a later part of the mask fails.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match mask.get(m) {
            Some('*') => {
                star = Some((m + 1, n));
                m += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                m += 1;
                n += 1;
            }
            _ => match star {
                Some((after_star, from)) => {
                    star = Some((after_star, from + 1));
                    m = after_star;
                    n = from + 1;
                }
                None => return false,
            },
        }
    }
    mask[m..].iter().all(|&c| c == '*')
}

/// A group's page: the row, its sites, and where it may move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub site_name: String,
    pub row: GroupRow,
    pub sites: Vec<GroupSite>,
    /// Online backends with a load factor above 0, other than the group's own.
    pub destinations: Vec<(Uuid, String)>,
}

/// A user's route, as a proxy would resolve it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: User,
    pub site_name: String,
    pub backend_host: Option<String>,
    /// How the backend was chosen (primary, failover, moving source…), or why there is none.
    pub route: String,
    pub group_moving: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_inputs() {
        let pro = DovecotEdition::Pro;
        assert_eq!(parse_backend_host(" BE1.dc1a.Example.NET. ", pro).unwrap().as_str(), "be1.dc1a.example.net");
        assert_eq!(parse_backend_host("10.0.0.1", pro).unwrap_err().field(), Some("host"));
        assert_eq!(parse_backend_host("::1", pro).unwrap_err().field(), Some("host"));
        assert_eq!(parse_backend_host("be_1", pro).unwrap_err().field(), Some("host"));
        // CE proxies connect to whatever the route says: an address is a host too.
        assert_eq!(parse_backend_host("10.0.0.1", DovecotEdition::Ce).unwrap().as_str(), "10.0.0.1");
        assert_eq!(parse_backend_host("[::1]", DovecotEdition::Ce).unwrap().as_str(), "::1");
        assert!("online".parse::<BackendStatus>().is_ok() && "maintenance".parse::<BackendStatus>().is_err());
        assert_eq!(BackendStatus::from_stored("maintenance"), BackendStatus::Other("maintenance".into()));
    }

    #[test]
    fn group_filters() {
        let f = GroupFilter::parse("", "default-1*", "no").unwrap();
        assert!(glob("default-1*", "default-17") && !glob("default-1*", "default-2"));
        assert!(glob("default-?", "default-1") && !glob("default-?", "default-17") && glob("*", "x"));
        assert_eq!(f.moving, Some(false));
        assert!(GroupFilter::parse("not a host!", "", "").is_err());
        assert_eq!(
            GroupFilter::parse(" be1.dc1a.example.net ", "", "").unwrap().backend.as_deref(),
            Some("be1.dc1a.example.net")
        );
        assert!(GroupFilter::parse("", "", "maybe").is_err());
        assert!(GroupFilter::parse("", &"*".repeat(MAX_MASK_LEN + 1), "").is_err());
    }

    /// A mask of many stars against a long name that does not match
    /// answered in minutes; now it answers at once, and rightly.
    #[test]
    fn many_stars_answer_fast() {
        let mask = format!("{}b", "*a".repeat(31));
        assert!(mask.len() <= MAX_MASK_LEN && GroupFilter::parse("", &mask, "").is_ok());
        // On a thread, so that a matcher that never answers fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let name = "a".repeat(10_000);
            let started = std::time::Instant::now();
            let answers =
                (glob(&mask, &name), glob(&mask, &format!("{name}b")), glob(&"*?".repeat(MAX_MASK_LEN / 2), "short"));
            let _ = tx.send((answers, started.elapsed()));
        });
        // Generous for a loaded machine: the exponential matcher took minutes, this microseconds.
        let (answers, took) = rx.recv_timeout(std::time::Duration::from_secs(2)).expect("the match answers within 2 s");
        assert_eq!(answers, (false, true, false));
        println!("glob: 31 stars against 10 000 characters: {took:?}");
    }
}
