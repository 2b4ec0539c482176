//! Tells the live move streams that a move record changed, so that they send at once instead
//! of on their next poll.

use tokio::sync::watch;

/// Counts the writes of move records made by this process. Writes by other instances are not
/// seen here: the streams still poll for those.
pub struct MoveFeed {
    changes: watch::Sender<u64>,
}

impl Default for MoveFeed {
    fn default() -> Self {
        Self { changes: watch::Sender::new(0) }
    }
}

impl MoveFeed {
    /// A move record was written (started, progressed, ended, adopted).
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that wakes after each [`MoveFeed::changed`] (several changes in a row may
    /// wake it once).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
