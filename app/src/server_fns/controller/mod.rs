mod controller_status;
mod end_move;
mod evaluate_controller;
mod list_decisions;
mod list_moves;

pub use controller_status::*;
pub use end_move::*;
pub use evaluate_controller::*;
pub use list_decisions::*;
pub use list_moves::*;
