mod cluster_overview;
mod site_charts;
mod site_dashboard;

pub use cluster_overview::*;
pub use site_charts::*;
pub use site_dashboard::*;
