//! A running force-move or recover as the pages, the API and the CLI show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ForceMove, ForceMoveKind};

/// A force-move or recover with names for its ids and its progress by the census.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForceMoveView {
    pub operation: ForceMove,
    /// The site's name, or the backend's host.
    pub source: String,
    /// The destination sites' names or backends' hosts.
    pub destinations: Vec<String>,
    /// False once the source's status changed: the operation no longer moves anyone.
    pub live: bool,
    /// Users in the source by the latest census, and when it was taken.
    pub users_at_source: Option<u64>,
    pub counted_at: Option<DateTime<Utc>>,
}

impl ForceMoveView {
    /// Users moved so far by the census: out of the source for a force-move, into the site for
    /// a recover.
    pub fn moved(&self) -> Option<u64> {
        let (start, now) = (self.operation.users_at_start?, self.users_at_source?);
        Some(match self.operation.kind {
            ForceMoveKind::ForceMove => start.saturating_sub(now),
            ForceMoveKind::Recover => now.saturating_sub(start),
        })
    }

    /// Users moved per minute, from the start to the census that counted them.
    pub fn per_minute(&self) -> Option<f64> {
        let minutes = (self.counted_at? - self.operation.started_at).num_seconds() as f64 / 60.0;
        (minutes > 0.0).then(|| self.moved().unwrap_or(0) as f64 / minutes)
    }
}

/// The force-move page of a site: what runs, and what the forms offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForceMovePage {
    pub site: crate::Site,
    pub operations: Vec<ForceMoveView>,
    /// The other sites' names: a site force-move's possible destinations.
    pub other_sites: Vec<String>,
    /// The site's backends' hosts.
    pub backends: Vec<String>,
}
