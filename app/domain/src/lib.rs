//! Domain types shared by the server and the browser. Nothing here does I/O.

pub mod audit;
mod closed_set;
pub mod cluster;
pub mod dashboard;
pub mod decisions;
pub mod doveadm;
pub mod edition;
pub mod error;
pub mod feature;
pub mod force_move;
pub mod geodb;
pub mod logtext;
pub mod loops;
pub mod metrics;
pub mod moves;
pub mod operator;
pub mod page;
pub mod planning;
pub mod probe;
pub mod reachability;
pub mod routing;
pub mod site;
pub mod tag;
pub mod time;
pub mod token;
pub mod validate;
pub mod values;
pub mod version;

pub use error::{AppError, ErrorKind, WriteError};
pub use feature::{Feature, FeatureState};
pub use operator::Role;
pub use page::{Page, PageRequest};
pub use site::{Site, SiteDraft, SiteRow, SiteStatus};
pub use tag::{Tag, TagDraft};
pub use values::{BackendHost, BadValue, GroupName, LoadFactor, SiteName};
pub use version::IfMatch;
