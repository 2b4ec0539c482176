mod controller_status;
mod evaluate_controller;

pub use controller_status::*;
pub use evaluate_controller::*;
