mod add_operator;
mod list_operators;
mod reset_operator_password;
mod set_operator_disabled;
mod set_operator_role;

pub use add_operator::*;
pub use list_operators::*;
pub use reset_operator_password::*;
pub use set_operator_disabled::*;
pub use set_operator_role::*;
