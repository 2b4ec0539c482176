//! The controller's features and the state each one is in per site (docs/controller.md, "Modes").

use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;

use super::geodb::ClusterSetting;

closed_set! {
    /// A controller feature, switchable per site. Stored and shown by its snake_case name.
    #[derive(PartialOrd, Ord)]
    pub enum Feature("feature", "feature") {
        HostFailure = "host_failure",
        LoadBalance = "load_balance",
        /// Supervision of group moves: forcing those that time out.
        GroupMoveTimeouts = "group_move_timeouts",
        Evacuation = "evacuation",
        GroupBalance = "group_balance",
        SiteHealth = "site_health",
    }
}

impl Feature {
    /// What the feature does, in one line for the Features page.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::HostFailure => {
                "Sets a backend offline when its logins fail and its doveadm API does not answer; moves a group away from one that fails while it answers; brings back the backends it set offline."
            }
            Feature::LoadBalance => {
                "Moves one group from the busiest backend to the least busy when their summed Z-scores differ by more than the threshold."
            }
            Feature::GroupMoveTimeouts => "Forces group moves that do not start or finish within their timeouts.",
            Feature::Evacuation => "Empties backends with load factor 0, one group at a time.",
            Feature::GroupBalance => "Evens out the sizes of the groups on each backend by moving users between them.",
            Feature::SiteHealth => {
                "Marks how this site's proxies reach each other site (site_reachability) from their sessions to its load balancer; sets this site offline when none of its backends can take users, and back online when one can."
            }
        }
    }

    /// The features one controller pass plans together on one snapshot.
    pub const PASS: [Feature; 4] =
        [Feature::HostFailure, Feature::Evacuation, Feature::LoadBalance, Feature::SiteHealth];
}

/// The `cluster_settings` section holding feature states (docs/controller.md, "Modes").
pub const FEATURE_SECTION: &str = "controller_features";

closed_set! {
    /// A feature's state for a site: on, dry (decides and records, writes nothing) or off.
    /// Absent means off.
    pub enum FeatureState("state", "state") {
        On = "on",
        Dryrun = "dryrun",
        Off = "off",
    }
}

/// How a feature's decisions are applied: the site's feature state, made dry by the global
/// `DRY_RUN` (docs/controller.md, "Modes").
pub fn effective_mode(state: FeatureState, dry_run: bool) -> FeatureState {
    match state {
        FeatureState::On if dry_run => FeatureState::Dryrun,
        other => other,
    }
}

/// Why a feature's effective mode is not its stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModeReason {
    /// `DRY_RUN=true`: every feature that is on runs dry.
    DryRun,
    /// `GROUP_BALANCE_ENABLED=false`: group-size balancing is off whatever its state.
    GroupBalanceDisabled,
}

impl ModeReason {
    /// The reason as an operator reads it.
    pub fn explain(self) -> &'static str {
        match self {
            ModeReason::DryRun => "DRY_RUN=true: every feature that is on runs dry",
            ModeReason::GroupBalanceDisabled => "GROUP_BALANCE_ENABLED=false: group balancing is off",
        }
    }
}

/// A feature as it is stored for a site and as the controller runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureMode {
    pub feature: Feature,
    pub stored: FeatureState,
    pub effective: FeatureState,
    pub reason: Option<ModeReason>,
}

/// The mode the controller runs `feature` in, from its stored state and the instance's
/// `DRY_RUN` and `GROUP_BALANCE_ENABLED`: the one place both the controller and the pages ask.
pub fn resolve_mode(feature: Feature, stored: FeatureState, dry_run: bool, group_balance_enabled: bool) -> FeatureMode {
    let (effective, reason) =
        if feature == Feature::GroupBalance && !group_balance_enabled && stored != FeatureState::Off {
            (FeatureState::Off, Some(ModeReason::GroupBalanceDisabled))
        } else if stored == FeatureState::On && dry_run {
            (effective_mode(stored, dry_run), Some(ModeReason::DryRun))
        } else {
            (stored, None)
        };
    FeatureMode { feature, stored, effective, reason }
}

/// Each feature's state for a site from the `controller_features` rows: the site's own row,
/// else the all-sites (nil site) row, else off. Rows with unknown values count as absent.
pub fn feature_states(rows: &[ClusterSetting], site_id: uuid::Uuid) -> Vec<(Feature, FeatureState)> {
    let state = |feature: Feature, site: uuid::Uuid| {
        rows.iter()
            .find(|r| {
                r.section == FEATURE_SECTION
                    && r.setting_name == feature.as_str()
                    && r.site_id == site
                    && r.backend_id.is_nil()
            })
            .and_then(|r| r.setting_value.parse::<FeatureState>().ok())
    };
    Feature::ALL
        .into_iter()
        .map(|f| (f, state(f, site_id).or_else(|| state(f, uuid::Uuid::nil())).unwrap_or(FeatureState::Off)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_and_states_parse_once() {
        assert_eq!("dryrun".parse::<FeatureState>().unwrap(), FeatureState::Dryrun);
        assert!("maybe".parse::<FeatureState>().is_err());
        assert_eq!("load_balance".parse::<Feature>().unwrap(), Feature::LoadBalance);
        assert!("teleport".parse::<Feature>().is_err());
        for f in Feature::ALL {
            assert_eq!(f.as_str().parse::<Feature>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
    }

    #[test]
    fn the_effective_mode_says_why_it_differs() {
        let m = resolve_mode(Feature::LoadBalance, FeatureState::On, true, true);
        assert_eq!((m.effective, m.reason), (FeatureState::Dryrun, Some(ModeReason::DryRun)));
        let m = resolve_mode(Feature::GroupBalance, FeatureState::Dryrun, false, false);
        assert_eq!((m.effective, m.reason), (FeatureState::Off, Some(ModeReason::GroupBalanceDisabled)));
        let m = resolve_mode(Feature::GroupBalance, FeatureState::Off, true, false);
        assert_eq!((m.effective, m.reason), (FeatureState::Off, None));
        let m = resolve_mode(Feature::HostFailure, FeatureState::Dryrun, true, true);
        assert_eq!((m.effective, m.reason), (FeatureState::Dryrun, None));
    }
}
