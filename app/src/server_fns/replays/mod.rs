mod get_replay_page;
mod start_replay;

pub use get_replay_page::*;
pub use start_replay::*;
