//! The decision log's repeat rule: a dry decision or a non-action is stored only when its
//! feature's slot (the feature and its subject) last stored another one, or stored it over
//! [`REPEAT_AFTER`] ago. The controller and the replay both keep a [`RepeatMemory`], so that
//! a replay stores what the controller would have stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Decision, RepeatKey, RepeatSlot};

/// How long a stored dry decision or non-action holds back its repeats.
pub const REPEAT_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// The last stored decision per slot.
#[derive(Debug, Clone, Default)]
pub struct RepeatMemory {
    last: HashMap<RepeatSlot, (RepeatKey, DateTime<Utc>)>,
}

impl RepeatMemory {
    /// True when `decision`, dry or a non-action at `now`, repeats what its slot stored less
    /// than [`REPEAT_AFTER`] ago; otherwise it is remembered as stored.
    pub fn is_repeat(&mut self, decision: &Decision, now: DateTime<Utc>) -> bool {
        let (slot, key) = (decision.repeat_slot(), decision.repeat_key());
        if self.last.get(&slot).is_some_and(|(k, at)| *k == key && now - *at < REPEAT_AFTER) {
            return true;
        }
        // A slot whose last record is older than the repeat time no longer holds anything back.
        self.last.retain(|_, (_, at)| now - *at < REPEAT_AFTER);
        self.last.insert(slot, (key, now));
        false
    }
}
