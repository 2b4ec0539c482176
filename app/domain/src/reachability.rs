//! The site reachability matrix as the pages and the API show it: for each pair of sites with a
//! `site_reachability` row, whether the source's proxies reach the destination, and since when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::geodb::{Reachability, ReachabilityTime};

/// Every site, and a cell per `site_reachability` row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReachabilityMatrix {
    /// Sites by id and name, in the order the matrix lists them.
    pub sites: Vec<(Uuid, String)>,
    pub cells: Vec<ReachabilityCell>,
}

/// One `site_reachability` row with the time its value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachabilityCell {
    pub from: Uuid,
    pub to: Uuid,
    pub reachable: bool,
    /// When the value was written (it holds since then); `None` when the store has no time.
    pub since: Option<DateTime<Utc>>,
}

impl ReachabilityMatrix {
    /// The matrix of `rows`, each with its write time from `times`.
    pub fn new(sites: Vec<(Uuid, String)>, rows: &[Reachability], times: &[ReachabilityTime]) -> Self {
        let cells = rows
            .iter()
            .map(|r| ReachabilityCell {
                from: r.src_site_id,
                to: r.dest_site_id,
                reachable: r.reachable != 0,
                since: times
                    .iter()
                    .find(|t| t.src_site_id == r.src_site_id && t.dest_site_id == r.dest_site_id)
                    .map(|t| t.written_at),
            })
            .collect();
        Self { sites, cells }
    }

    /// The cell from one site to another, if there is a row.
    pub fn cell(&self, from: Uuid, to: Uuid) -> Option<&ReachabilityCell> {
        self.cells.iter().find(|c| c.from == from && c.to == to)
    }

    /// A site's name, or its id when it is not (or no longer) in `sites`.
    pub fn name(&self, id: Uuid) -> String {
        self.sites.iter().find(|(known, _)| *known == id).map_or_else(|| id.to_string(), |(_, n)| n.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_gets_its_own_time() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = DateTime::UNIX_EPOCH;
        let rows = [
            Reachability { src_site_id: a, dest_site_id: b, reachable: 0 },
            Reachability { src_site_id: b, dest_site_id: a, reachable: 1 },
        ];
        let times = [ReachabilityTime { src_site_id: a, dest_site_id: b, written_at: at }];
        let matrix = ReachabilityMatrix::new(vec![(a, "dc1a".into())], &rows, &times);
        assert_eq!(matrix.cell(a, b), Some(&ReachabilityCell { from: a, to: b, reachable: false, since: Some(at) }));
        assert_eq!(matrix.cell(b, a).map(|c| (c.reachable, c.since)), Some((true, None)));
        assert_eq!(matrix.cell(a, a), None);
        assert_eq!((matrix.name(a), matrix.name(b)), ("dc1a".to_string(), b.to_string()));
    }
}
