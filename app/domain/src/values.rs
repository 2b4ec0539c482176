//! Values from outside (forms, the JSON API, the CLI, doveadm parameters), each checked once,
//! here. A front turns text into one of these types and every later step takes the type, so no
//! check is written twice and every front answers a bad value with the same words; the front
//! only says which field the value came in (`BadValue::on`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::{edition::DovecotEdition, AppError};

/// Why a value was refused, in words that do not depend on the front it came through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadValue(String);

impl BadValue {
    pub fn new(words: impl Into<String>) -> Self {
        Self(words.into())
    }

    /// The refusal as the error of the form or request field `field`.
    pub fn on(self, field: &str) -> AppError {
        AppError::invalid(field, self.0)
    }
}

/// Implements the string forms of a checked name: `as_str`, `Display`, `AsRef<str>`, serde
/// through `TryFrom<String>` (so a JSON body is checked as it is read) and `Into<String>`.
macro_rules! checked_text {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadValue;

            fn try_from(raw: String) -> Result<Self, BadValue> {
                raw.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

/// A backend's load factor: a whole number from 0 to 100. 100 is a full share of groups, 0
/// drains the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i32")]
pub struct LoadFactor(u8);

impl LoadFactor {
    /// No share: the controller drains the backend.
    pub const DRAINED: Self = Self(0);
    /// A full share (a new backend's).
    pub const FULL: Self = Self(100);

    /// The value as the GeoDB's `load_factor` column holds it.
    pub fn get(self) -> i32 {
        i32::from(self.0)
    }
}

impl TryFrom<i64> for LoadFactor {
    type Error = BadValue;

    fn try_from(value: i64) -> Result<Self, BadValue> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 100)
            .map(Self)
            .ok_or_else(|| BadValue("the load factor is a whole number from 0 to 100 (0 drains the backend)".into()))
    }
}

impl FromStr for LoadFactor {
    type Err = BadValue;

    fn from_str(raw: &str) -> Result<Self, BadValue> {
        // Anything that is not a number gets the same words as a number out of range.
        Self::try_from(raw.trim().parse::<i64>().unwrap_or(-1))
    }
}

impl From<LoadFactor> for i32 {
    fn from(value: LoadFactor) -> Self {
        value.get()
    }
}

impl fmt::Display for LoadFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The longest name `doveadm cluster` takes for a group, a site or a tag.
pub const CLUSTER_NAME_MAX_CHARS: usize = 64;

/// Whether `name` is a name as `doveadm cluster` takes it for a group, a site or a tag: 1 to
/// [`CLUSTER_NAME_MAX_CHARS`] letters, digits, `.`, `_` and `-`.
pub fn is_cluster_name(name: &str) -> bool {
    (1..=CLUSTER_NAME_MAX_CHARS).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `raw` trimmed, if it is a cluster name; else the refusal, naming what `what` names.
pub(crate) fn cluster_name(raw: &str, what: &str) -> Result<String, BadValue> {
    let name = raw.trim();
    if is_cluster_name(name) {
        Ok(name.to_string())
    } else {
        Err(BadValue(format!("a {what} name has 1 to {CLUSTER_NAME_MAX_CHARS} letters, digits, '.', '_' or '-'")))
    }
}

/// The name of a group of users, as `doveadm cluster` accepts it ([`is_cluster_name`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

checked_text!(GroupName);

impl FromStr for GroupName {
    type Err = BadValue;

    fn from_str(raw: &str) -> Result<Self, BadValue> {
        cluster_name(raw, "group").map(Self)
    }
}

/// A site's name, as `doveadm cluster` and `cluster_local_site` take it ([`is_cluster_name`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteName(String);

checked_text!(SiteName);

impl FromStr for SiteName {
    type Err = BadValue;

    fn from_str(raw: &str) -> Result<Self, BadValue> {
        cluster_name(raw, "site").map(Self)
    }
}

/// A backend's host as `backends.host` holds it: a DNS name (lower case, without the final
/// dot) or an IP address. Dovecot Pro names its backends (`cluster_backend_name`), so only a
/// Dovecot CE backend may be an IP address ([`BackendHost::for_edition`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BackendHost(String);

checked_text!(BackendHost);

/// The longest DNS name.
const MAX_HOST_CHARS: usize = 253;

impl FromStr for BackendHost {
    type Err = BadValue;

    fn from_str(raw: &str) -> Result<Self, BadValue> {
        let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.chars().count() > MAX_HOST_CHARS {
            return Err(BadValue(format!("a host has at most {MAX_HOST_CHARS} characters")));
        }
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            return Ok(Self(ip.to_string()));
        }
        if is_dns_name(&host) {
            Ok(Self(host))
        } else {
            Err(BadValue("a host is a DNS name (letters, digits, '-' and dots) or an IP address".into()))
        }
    }
}

impl BackendHost {
    pub fn is_ip(&self) -> bool {
        self.0.parse::<std::net::IpAddr>().is_ok()
    }

    /// The host, if the backends of `edition` may have it: Dovecot Pro's only by name.
    pub fn for_edition(self, edition: DovecotEdition) -> Result<Self, BadValue> {
        match edition {
            DovecotEdition::Pro if self.is_ip() => {
                Err(BadValue("a Dovecot Pro backend's host is a DNS name, not an IP address".into()))
            }
            _ => Ok(self),
        }
    }
}

/// True for a syntactically valid DNS name: labels of 1..63 of `a-z0-9-`, not starting or
/// ending with `-`, at most 253 characters in all.
pub fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= MAX_HOST_CHARS
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_name_is_what_doveadm_cluster_accepts() {
        assert_eq!(" dc1a ".parse::<SiteName>().unwrap().as_str(), "dc1a");
        for bad in ["", "a b", "dc/1", &"x".repeat(65)] {
            assert!(bad.parse::<SiteName>().is_err(), "{bad:?}");
        }
        let err = serde_json::from_str::<SiteName>("\"a b\"").unwrap_err().to_string();
        assert!(err.starts_with("a site name has 1 to 64"), "{err}");
    }

    #[test]
    fn a_backend_host_is_a_dns_name_or_for_dovecot_ce_an_ip_address() {
        assert_eq!(" BE1.dc1a.Example.NET. ".parse::<BackendHost>().unwrap().as_str(), "be1.dc1a.example.net");
        assert_eq!("[::1]".parse::<BackendHost>().unwrap().as_str(), "::1");
        for bad in ["", "a b", "-x.example", "a..b", &"x".repeat(254)] {
            assert!(bad.parse::<BackendHost>().is_err(), "{bad:?}");
        }
        let ip: BackendHost = "10.0.0.1".parse().unwrap();
        assert!(ip.clone().for_edition(DovecotEdition::Ce).is_ok());
        assert!(ip.for_edition(DovecotEdition::Pro).is_err());
        let name: BackendHost = "be1.example.net".parse().unwrap();
        assert!(name.for_edition(DovecotEdition::Pro).is_ok());
    }

    #[test]
    fn a_load_factor_is_a_whole_number_from_0_to_100() {
        assert_eq!("0".parse::<LoadFactor>().unwrap(), LoadFactor::DRAINED);
        assert_eq!(" 100 ".parse::<LoadFactor>().unwrap(), LoadFactor::FULL);
        assert_eq!("55".parse::<LoadFactor>().unwrap().get(), 55);
        let refused: Vec<_> = ["101", "-1", "x", "", "5.5", "99999999999999999999"]
            .iter()
            .map(|raw| raw.parse::<LoadFactor>().unwrap_err().to_string())
            .collect();
        assert!(refused.iter().all(|words| *words == refused[0]), "one text for every refusal: {refused:?}");
        assert_eq!(LoadFactor::try_from(256).unwrap_err().to_string(), refused[0], "no wrap-around");
    }

    #[test]
    fn a_load_factor_reads_and_writes_json_as_a_number() {
        assert_eq!(serde_json::from_str::<LoadFactor>("42").unwrap().get(), 42);
        assert_eq!(serde_json::to_string(&LoadFactor::FULL).unwrap(), "100");
        let err = serde_json::from_str::<LoadFactor>("101").unwrap_err().to_string();
        assert!(err.starts_with("the load factor is a whole number from 0 to 100"), "{err}");
    }

    #[test]
    fn a_group_name_is_what_doveadm_cluster_accepts() {
        assert_eq!(" default-1 ".parse::<GroupName>().unwrap().as_str(), "default-1");
        assert!("a.b_c-D9".parse::<GroupName>().is_ok());
        assert!("x".repeat(64).parse::<GroupName>().is_ok());
        for bad in ["", " ", "a b", "grüppe", "a/b", "a;b", &"x".repeat(65)] {
            assert!(bad.parse::<GroupName>().is_err(), "{bad:?}");
        }
        let err = serde_json::from_str::<GroupName>("\"a b\"").unwrap_err().to_string();
        assert!(err.starts_with("a group name has 1 to 64"), "{err}");
    }
}
