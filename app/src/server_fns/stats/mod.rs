mod list_backend_stats;
mod list_proxy_dest_stats;
mod list_reachability;
mod prune_proxy_stats;

pub use list_backend_stats::*;
pub use list_proxy_dest_stats::*;
pub use list_reachability::*;
pub use prune_proxy_stats::*;
