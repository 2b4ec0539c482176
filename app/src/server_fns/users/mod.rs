mod delete_user;
mod lookup_user;
mod move_user;

pub use delete_user::*;
pub use lookup_user::*;
pub use move_user::*;
