//! The services' own settings: `CENSUS_INTERVAL_SECS`, `CENSUS_CHANGE_MARGIN_SECS` and
//! `BACKEND_HOST_CHECK`.

use std::{fmt, time::Duration};

use super::env::Reader;

/// How a new backend's host name is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCheck {
    /// It must resolve (the system resolver), like `doveadm cluster backend add`.
    Dns,
    /// It need only be a valid DNS name: for labs whose backends are not in DNS.
    Syntax,
}

impl fmt::Display for HostCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostCheck::Dns => "dns",
            HostCheck::Syntax => "syntax",
        })
    }
}

/// Settings of the services behind the pages.
#[derive(Debug, Clone)]
pub struct ServicesSettings {
    /// How often the census (users per group, groups per backend) is taken.
    pub census_interval: Duration,
    /// How far before the previous census's start a membership write still counts as new
    /// (writers' clocks and late replication): the census records group members changed since.
    pub census_change_margin: Duration,
    /// `BACKEND_HOST_CHECK`.
    pub backend_host_check: HostCheck,
}

impl ServicesSettings {
    /// Reads `BACKEND_HOST_CHECK`, `CENSUS_INTERVAL_SECS` and `CENSUS_CHANGE_MARGIN_SECS`.
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        Self {
            backend_host_check: r.get(&["BACKEND_HOST_CHECK"], HostCheck::Dns, "dns or syntax", |s| match s {
                "dns" => Some(HostCheck::Dns),
                "syntax" => Some(HostCheck::Syntax),
                _ => None,
            }),
            census_interval: r.seconds(&["CENSUS_INTERVAL_SECS"], 3600, 10),
            census_change_margin: r.seconds(&["CENSUS_CHANGE_MARGIN_SECS"], 300, 0),
        }
    }
}
