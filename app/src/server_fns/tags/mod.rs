mod all_tags;
mod create_tag;
mod list_tags;
mod remove_tag;
mod rename_tag;

pub use all_tags::*;
pub use create_tag::*;
pub use list_tags::*;
pub use remove_tag::*;
pub use rename_tag::*;
