mod current_operator;
mod login;
mod logout;

pub use current_operator::*;
pub use login::*;
pub use logout::*;
