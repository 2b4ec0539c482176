//! Controller settings with some changed, for a what-if replay.

use crate::controller::ControllerSettings;
use domain::{logtext::Untrusted, replay::SettingOverride, AppError};

/// The controller's settings with `changed` instead of the values in force, each read exactly
/// as the server reads its variable at start-up (the same names, forms, bounds and error
/// text). The server's configuration reader implements it.
pub trait SettingsOverrides: Send + Sync + 'static {
    fn controller_settings(&self, changed: &[SettingOverride]) -> Result<ControllerSettings, AppError>;
    /// A setting's value in force, as its variable would be written; `None` for a name that
    /// is not a controller setting.
    fn in_force(&self, name: &str) -> Option<String>;
}

/// For services built without a configuration (tests): no setting can be changed, only
/// features' states.
pub struct NoSettingsOverrides;

impl SettingsOverrides for NoSettingsOverrides {
    fn controller_settings(&self, changed: &[SettingOverride]) -> Result<ControllerSettings, AppError> {
        let names: Vec<String> = changed.iter().map(|o| Untrusted(&o.name).to_string()).collect();
        Err(AppError::invalid("set", format!("this server cannot change {} in a replay", names.join(", "))))
    }

    fn in_force(&self, _name: &str) -> Option<String> {
        None
    }
}
