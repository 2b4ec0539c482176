mod cancel_move;
mod controller_status;
mod evaluate_controller;
mod force_move;
mod list_decisions;
mod list_moves;

pub use cancel_move::*;
pub use controller_status::*;
pub use evaluate_controller::*;
pub use force_move::*;
pub use list_decisions::*;
pub use list_moves::*;
