mod add_site;
mod get_site;
mod list_sites;
mod remove_site;
mod update_site;

pub use add_site::*;
pub use get_site::*;
pub use list_sites::*;
pub use remove_site::*;
pub use update_site::*;
