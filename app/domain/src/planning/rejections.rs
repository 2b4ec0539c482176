//! The candidates a decision turned down, and why. A site of 10,000 backends would otherwise
//! record 10,000 of them in each decision: the first [`REJECTIONS_NAMED`] are named, the rest
//! counted by reason in one last entry, which the decision log shows as it shows the others.

/// How many turned-down candidates a decision names.
pub const REJECTIONS_NAMED: usize = 20;

#[derive(Debug, Default)]
pub struct Rejections {
    named: Vec<(String, String)>,
    /// Counts by reason; a decision has a handful of reasons, so a list is searched fastest.
    more: Vec<(String, usize)>,
}

impl Rejections {
    pub fn push(&mut self, candidate: &str, why: &str) {
        if self.named.len() < REJECTIONS_NAMED {
            self.named.push((candidate.to_string(), why.to_string()));
        } else if let Some((_, count)) = self.more.iter_mut().find(|(reason, _)| reason == why) {
            *count += 1;
        } else {
            self.more.push((why.to_string(), 1));
        }
    }

    /// The named ones, then, if there were more, `("N more", "reason count, …")`.
    pub fn into_vec(mut self) -> Vec<(String, String)> {
        let mut out = self.named;
        if !self.more.is_empty() {
            self.more.sort_unstable();
            let total: usize = self.more.iter().map(|(_, n)| n).sum();
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
