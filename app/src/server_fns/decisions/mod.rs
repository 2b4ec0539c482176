mod list_decisions;

pub use list_decisions::*;
