//! A replay's changed controller settings, read as start-up reads them: the same [`Reader`],
//! names, forms, bounds and error text, over the values in force with the changes on top.

use std::collections::BTreeMap;

use domain::{logtext::Untrusted, replay::SettingOverride, AppError};
use palomar_core::{controller::ControllerSettings, services::SettingsOverrides};

use super::{
    controller,
    env::{Process, Reader},
};

/// Settings that say which controller this is rather than how it decides.
const NOT_FOR_REPLAY: [&str; 2] = ["CLUSTER_SITE", "CONTROLLER_INSTANCE"];

/// The controller's variables as they were set at start-up.
#[derive(Debug, Clone)]
pub struct ReplayOverrides {
    /// Every variable the controller's settings are read from, with its value in force.
    in_force: BTreeMap<&'static str, String>,
    /// Those that were set, with their values.
    set: BTreeMap<String, String>,
    process: Process,
}

impl ReplayOverrides {
    pub(super) fn new(lookup: &dyn Fn(&str) -> Option<String>, process: &Process) -> Self {
        let mut reader = Reader::new(lookup);
        controller::read(&mut reader, process);
        let (effective, _) = reader.finish();
        let set = effective.keys().filter_map(|name| Some((name.to_string(), lookup(name)?))).collect();
        let in_force = effective.into_iter().map(|(name, (value, _))| (name, value)).collect();
        Self { in_force, set, process: process.clone() }
    }
}

impl SettingsOverrides for ReplayOverrides {
    fn controller_settings(&self, changed: &[SettingOverride]) -> Result<ControllerSettings, AppError> {
        let mut values = self.set.clone();
        for o in changed {
            let name = o.name.to_ascii_uppercase();
            if NOT_FOR_REPLAY.contains(&name.as_str()) {
                return Err(AppError::invalid(
                    "set",
                    format!("{name} names this controller; a replay cannot change it"),
                ));
            }
            if !self.in_force.contains_key(name.as_str()) {
                return Err(AppError::invalid(
                    "set",
                    format!(
                        "{} is neither a controller setting nor a feature (palomar config lists the settings)",
                        Untrusted(&o.name)
                    ),
                ));
            }
            values.insert(name, o.value.clone());
        }
        let lookup = |name: &str| values.get(name).cloned();
        let mut reader = Reader::new(&lookup);
        let settings = controller::read(&mut reader, &self.process);
        let (_, errors) = reader.finish();
        match errors.first() {
            None => Ok(settings),
            Some(e) => Err(AppError::invalid("set", e.to_string())),
        }
    }

    fn in_force(&self, name: &str) -> Option<String> {
        self.in_force.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides() -> ReplayOverrides {
        let env: BTreeMap<&str, &str> = [("HOST_FAILURE_RATIO", "0.2"), ("CONTROLLER_PASS_INTERVAL_SECS", "30")].into();
        let lookup = |name: &str| env.get(name).map(|v| v.to_string());
        ReplayOverrides::new(&lookup, &Process { hostname: "palomar".into(), pid: 0 })
    }

    fn set(name: &str, value: &str) -> Vec<SettingOverride> {
        vec![SettingOverride::new(name, value).expect("override")]
    }

    #[test]
    fn a_change_is_read_over_the_values_in_force() {
        let settings = overrides().controller_settings(&set("host_failure_cool_time_secs", "60")).expect("reads");
        assert_eq!(settings.host_failure.cool_time.as_secs(), 60);
        assert_eq!(settings.host_failure.ratio, 0.2, "the others stay as set at start-up");
        assert_eq!(settings.intervals.pass.as_secs(), 30);
        assert_eq!(overrides().in_force("HOST_FAILURE_COOL_TIME_SECS").as_deref(), Some("3600"), "a default");
        assert_eq!(overrides().in_force("CONTROLLER_PASS_INTERVAL_SECS").as_deref(), Some("30"), "as set");
    }

    #[test]
    fn every_setting_the_replay_page_lists_is_one_the_controller_reads() {
        let o = overrides();
        for name in palomar_core::services::REPLAYED_SETTINGS {
            assert!(o.in_force(name).is_some(), "{name}");
        }
    }

    #[test]
    fn a_change_is_refused_with_the_start_up_error() {
        let bad = overrides().controller_settings(&set("HOST_FAILURE_RATIO", "2")).expect_err("out of range");
        assert_eq!(
            bad.to_string(),
            "HOST_FAILURE_RATIO: expected a number strictly between 0 and 1, e.g. 0.1, got \"2\""
        );
        let unknown = overrides().controller_settings(&set("HOST_OFFLINE_RATIO", "0.5")).expect_err("removed");
        assert!(unknown.to_string().contains("neither a controller setting"), "{unknown}");
        let identity = overrides().controller_settings(&set("CLUSTER_SITE", "dc2")).expect_err("identity");
        assert!(identity.to_string().contains("names this controller"), "{identity}");
    }
}
