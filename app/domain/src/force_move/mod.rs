//! Force-move and recover (`doveadm cluster site|backend force-move start|update|stop`, `site
//! recover`): users leave a site or backend, or come back to a site, one at a time as they log
//! in. A user is chosen when `hash(id + username) mod 100 < percent`, so raising the percent
//! chooses more users and keeps the ones chosen before.
//!
//! The state lives in the GeoDB's `cluster_settings`, section [`FORCE_MOVE_SECTION`] (one row
//! per running operation); every user a site force-move moved has a row in section
//! [`MOVED_USERS_SECTION`], so that a recover brings back exactly those users. What a login does
//! is [`relocation`], a pure function; the services carry it out with conditional writes.

mod login;
mod state;
mod view;

pub use login::{relocation, Relocation};
pub use state::{check_percent, parse_percent, ForceMove, ForceMoveDraft, MovedUser};
pub use view::{ForceMovePage, ForceMoveView};

use crate::closed_set::closed_set;
use crate::routing::stable_hash;

/// The `cluster_settings` section of running force-moves and recovers.
pub const FORCE_MOVE_SECTION: &str = "force_move";
/// The `cluster_settings` section that remembers, per user moved out of a site, where from.
pub const MOVED_USERS_SECTION: &str = "force_moved_users";
/// The most destinations one force-move may name.
pub const MAX_DESTINATIONS: usize = 32;
/// The most groups a backend force-move spreads users over.
pub const MAX_DESTINATION_GROUPS: usize = 64;
/// The longest `--id`.
pub const MAX_ID_BYTES: usize = 64;

closed_set! {
    /// What a force-move moves users out of.
    pub enum ForceMoveScope("scope", "scope") {
        Site = "site",
        Backend = "backend",
    }
}

closed_set! {
    /// Which way users go: out of the source, or back into a site they were force-moved out of.
    pub enum ForceMoveKind("kind", "kind") {
        ForceMove = "force_move",
        Recover = "recover",
    }
}

/// The bucket, 0 to 99, that chooses a user for the operation with this `id`.
pub fn bucket(id: &str, username: &str) -> u8 {
    (spread(id, username) % 100) as u8
}

/// Whether the operation with this `id` at `percent` chooses `username`.
pub fn chosen(id: &str, username: &str, percent: u8) -> bool {
    bucket(id, username) < percent
}

/// A well-mixed hash of `id` and `username`. The plain FNV hash of names that differ in their
/// last characters varies little in its low digits; the finaliser spreads it.
fn spread(id: &str, username: &str) -> u64 {
    let mut h = stable_hash(&format!("{id}{username}"));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Which of `count` destinations the user goes to: the same one at every login.
fn destination_index(id: &str, username: &str, count: usize) -> usize {
    ((spread(id, username) / 100) % count.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_chooses_about_that_share_and_more_keeps_the_earlier_choice() {
        let users: Vec<String> = (0..10_000).map(|i| format!("user{i}@example.net")).collect();
        let at = |p| users.iter().filter(|u| chosen("fm1", u, p)).count();
        let (thirty, sixty) = (at(30), at(60));
        assert!((2_850..=3_150).contains(&thirty), "{thirty}");
        assert!((5_850..=6_150).contains(&sixty), "{sixty}");
        assert!(users.iter().filter(|u| chosen("fm1", u, 30)).all(|u| chosen("fm1", u, 60)));
        assert_eq!(at(0), 0);
        assert_eq!(at(100), users.len());
    }

    #[test]
    fn another_id_chooses_other_users() {
        let users: Vec<String> = (0..1_000).map(|i| format!("u{i}")).collect();
        let same = users.iter().filter(|u| chosen("a", u, 50) == chosen("b", u, 50)).count();
        assert!((400..=600).contains(&same), "{same}");
    }

    #[test]
    fn words_are_one_per_value() {
        assert_eq!("recover".parse::<ForceMoveKind>(), Ok(ForceMoveKind::Recover));
        assert_eq!(ForceMoveScope::Backend.to_string(), "backend");
    }
}
