mod end_move;
mod list_moves;

pub use end_move::*;
pub use list_moves::*;
