//! The candidates a decision turned down, and why. A site of 10,000 backends would otherwise
//! record 10,000 of them in each decision: the first [`REJECTIONS_NAMED`] are named, the rest
//! counted by reason in one last entry, which the decision log shows as it shows the others.

use std::collections::BTreeMap;

/// How many turned-down candidates a decision names.
pub const REJECTIONS_NAMED: usize = 20;

#[derive(Debug, Default)]
pub struct Rejections {
    named: Vec<(String, String)>,
    more: BTreeMap<String, usize>,
}

impl Rejections {
    pub fn push(&mut self, candidate: &str, why: &str) {
        if self.named.len() < REJECTIONS_NAMED {
            self.named.push((candidate.to_string(), why.to_string()));
        } else if let Some(count) = self.more.get_mut(why) {
            *count += 1;
        } else {
            self.more.insert(why.to_string(), 1);
        }
    }

    /// The named ones, then, if there were more, `("N more", "reason count, …")`.
    pub fn into_vec(self) -> Vec<(String, String)> {
        let mut out = self.named;
        if !self.more.is_empty() {
            let total: usize = self.more.values().sum();
            let by_reason: Vec<String> = self.more.iter().map(|(why, n)| format!("{why}: {n}")).collect();
            out.push((format!("{total} more"), by_reason.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_named_ones_candidates_are_counted_by_reason() {
        let mut r = Rejections::default();
        for i in 0..REJECTIONS_NAMED + 5 {
            r.push(&format!("be{i}"), if i % 2 == 0 { "not online" } else { "failing too" });
        }
        let out = r.into_vec();
        assert_eq!(out.len(), REJECTIONS_NAMED + 1);
        assert_eq!(out[0], ("be0".to_string(), "not online".to_string()));
        assert_eq!(out[REJECTIONS_NAMED], ("5 more".to_string(), "failing too: 2, not online: 3".to_string()));
    }

    #[test]
    fn a_few_are_all_named() {
        let mut r = Rejections::default();
        r.push("be1", "load factor 0");
        assert_eq!(r.into_vec(), vec![("be1".to_string(), "load factor 0".to_string())]);
    }
}
