mod get_group;
mod init_progress;
mod init_site_groups;
mod list_group_members;
mod list_groups;
mod move_group;
mod set_group_sticky;

pub use get_group::*;
pub use init_progress::*;
pub use init_site_groups::*;
pub use list_group_members::*;
pub use list_groups::*;
pub use move_group::*;
pub use set_group_sticky::*;
