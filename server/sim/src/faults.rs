//! Faults an operator injects into one backend through the control API.

use serde::{Deserialize, Serialize};

use super::Simulator;

/// What the doveadm HTTP API of a backend does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoveadmMode {
    #[default]
    Ok,
    /// The listener is closed: connections are refused.
    Unreachable,
    /// Every command fails with exit code 75 (EX_TEMPFAIL).
    Error,
}

/// Faults injected into one backend. `Default` is a healthy backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Percentage of logins that fail at this backend (0–100): the backend's own trouble.
    pub login_fail_percent: f64,
    /// Percentage of the logins routed to this backend that bring a wrong password (0–100):
    /// password guessing aimed at its users. Never the backend's fault.
    pub bad_password_percent: f64,
    /// Percentage of deliveries that fail temporarily (4.x.x) at this backend.
    pub delivery_fail_percent: f64,
    /// Resource levels (0–1) that replace the backend's normal ones: a hot backend.
    pub cpu: Option<f64>,
    pub memused: Option<f64>,
    pub metacache: Option<f64>,
    pub doveadm: DoveadmMode,
    /// The backend never starts a group move it is the source of.
    pub stall_moves: bool,
    /// Multiplies the user move rate (e.g. 0.1 for a slow backend). 0 means 1.
    pub move_rate_factor: f64,
}

impl Faults {
    /// A hot backend: CPU, memory and metacache near full.
    pub fn hot() -> Self {
        Self { cpu: Some(0.95), memused: Some(0.95), metacache: Some(0.95), ..Self::default() }
    }

    /// A backend that is down: every login and delivery fails, and its doveadm API refuses
    /// connections.
    pub fn down() -> Self {
        Self {
            login_fail_percent: 100.0,
            delivery_fail_percent: 100.0,
            doveadm: DoveadmMode::Unreachable,
            ..Self::default()
        }
    }

    /// Checks the values an operator gave.
    pub fn validate(&self) -> Result<(), String> {
        let percent = |name: &str, v: f64| {
            if (0.0..=100.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be between 0 and 100, got {v}"))
            }
        };
        percent("login_fail_percent", self.login_fail_percent)?;
        percent("bad_password_percent", self.bad_password_percent)?;
        percent("delivery_fail_percent", self.delivery_fail_percent)?;
        for (name, level) in [("cpu", self.cpu), ("memused", self.memused), ("metacache", self.metacache)] {
            if let Some(v) = level {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!("{name} must be between 0 and 1, got {v}"));
                }
            }
        }
        if !(self.move_rate_factor >= 0.0 && self.move_rate_factor.is_finite()) {
            return Err("move_rate_factor must be 0 or more".into());
        }
        Ok(())
    }
}

impl Simulator {
    /// Replaces a backend's faults. Unknown host: `Err`.
    pub fn set_faults(&self, host: &str, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        let mut world = self.world();
        let backend =
            world.backends.values_mut().find(|b| b.row.host == host).ok_or_else(|| format!("no backend {host}"))?;
        tracing::info!(host, ?faults, "faults set");
        backend.faults = faults;
        Ok(())
    }

    /// Cuts (or, with `cut` false, restores) the link from site `from` to site `to`: the
    /// sessions `from`'s proxies send to `to`'s load balancer fail, each after a timeout.
    pub fn set_link(&self, from: &str, to: &str, cut: bool) -> Result<(), String> {
        let mut world = self.world();
        let id = |name: &str| {
            world.sites.iter().find(|s| s.name == name).map(|s| s.id).ok_or_else(|| format!("no site {name}"))
        };
        let link = (id(from)?, id(to)?);
        if link.0 == link.1 {
            return Err("a link joins two different sites".into());
        }
        tracing::info!(from, to, cut, "site link changed");
        if cut {
            world.cut_links.insert(link);
        } else {
            world.cut_links.remove(&link);
        }
        Ok(())
    }

    /// Sets the same faults on every backend of site `site`: a whole site cut or degraded.
    pub fn set_site_faults(&self, site: &str, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        let mut world = self.world();
        let mut found = false;
        for backend in world.backends.values_mut().filter(|b| b.site_name == site) {
            backend.faults = faults.clone();
            found = true;
        }
        if !found {
            return Err(format!("no site {site} with backends"));
        }
        tracing::info!(site, ?faults, "faults set on every backend of the site");
        Ok(())
    }

    /// A backend's faults; `None` for an unknown host.
    pub fn faults(&self, host: &str) -> Option<Faults> {
        self.world().backends.values().find(|b| b.row.host == host).map(|b| b.faults.clone())
    }
}
