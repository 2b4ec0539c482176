mod delete_setting;
mod list_features;
mod list_settings;
mod put_setting;
mod set_feature;

pub use delete_setting::*;
pub use list_features::*;
pub use list_settings::*;
pub use put_setting::*;
pub use set_feature::*;
