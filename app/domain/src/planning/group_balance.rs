//! Group-size balancing (docs/controller.md, "Group-size balancing"): on each backend, groups converge to about the same size.
//! A group is over when its size exceeds the backend's mean by more than the slack, under when
//! it is below it by more than the slack. The largest over group gives users to the smallest
//! under group: half the difference, at most `GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS`. Each
//! group takes part in at most one transfer per plan. Moving groups and groups with sticky
//! users are left alone.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::feature::Feature;

use super::{Action, Decision, DecisionInputs, IdMap, Reason, TransferInputs};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupBalanceSettings {
    pub slack_percent: u32,
    pub max_between_groups: u32,
}

/// A group as the balancer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizedGroup {
    pub name: String,
    pub backend_id: Uuid,
    pub users: u64,
    pub moving: bool,
    pub sticky_users: bool,
}

/// How many users to reassign from one group to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub backend_id: Uuid,
    pub from_group: String,
    pub to_group: String,
    pub users: u64,
}

/// A planned transfer between two of the plan's groups, which it borrows: a first plan on a
/// large unbalanced site has hundreds of thousands, and copying two names for each cost more
/// than planning them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedTransfer<'a> {
    pub backend_id: Uuid,
    pub from: &'a SizedGroup,
    pub to: &'a SizedGroup,
    pub users: u64,
    /// The mean group size on the backend.
    pub mean: f64,
}

impl PlannedTransfer<'_> {
    /// The transfer on its own, owning its names.
    pub fn transfer(&self) -> Transfer {
        Transfer {
            backend_id: self.backend_id,
            from_group: self.from.name.clone(),
            to_group: self.to.name.clone(),
            users: self.users,
        }
    }

    /// The decision that records this transfer.
    pub fn decision(&self, s: &GroupBalanceSettings) -> Decision {
        let (from, to, users) = (&self.from.name, &self.to.name, self.users);
        // Rounded as `{:.0}` rounds (ties to even), printed as an integer, which is cheaper.
        let mean = self.mean.round_ties_even() as u64;
        Decision {
            feature: Feature::GroupBalance,
            reason: Reason::GroupsUneven,
            action: Some(Action::MoveUsers {
                backend: self.backend_id,
                from_group: from.clone(),
                to_group: to.clone(),
                users,
            }),
            summary: format!(
                "{from} has {} users and {to} has {} (mean {mean}, slack {}%): move {users}",
                self.from.users, self.to.users, s.slack_percent
            ),
            inputs: DecisionInputs::GroupBalanceTransfer(TransferInputs {
                from_size: self.from.users,
                to_size: self.to.users,
                mean: self.mean,
                slack_percent: s.slack_percent,
                cap: s.max_between_groups,
            }),
            rejected: vec![],
        }
    }
}

/// Plans the transfers for every backend, in backend id order; each comes with its decision.
pub fn plan(groups: &[SizedGroup], s: &GroupBalanceSettings) -> Vec<(Transfer, Decision)> {
    plan_transfers(groups, s).into_iter().map(|planned| (planned.transfer(), planned.decision(s))).collect()
}

/// Plans the transfers for every backend, in backend id order, without their decisions: a
/// first plan on a large unbalanced site has tens of thousands, and holding all their
/// decisions at once (about 1 KB each) costs more than planning. The controller builds each
/// one as it records it.
pub fn plan_transfers<'a>(groups: &'a [SizedGroup], s: &GroupBalanceSettings) -> Vec<PlannedTransfer<'a>> {
    let ByBackend { backends, mut members } = ByBackend::new(groups);
    let slack = f64::from(s.slack_percent) / 100.0;
    let mut out = Vec::new();
    for (backend, range) in backends {
        let members = &mut members[range];
        if members.len() < 2 {
            continue;
        }
        let mean = members.iter().map(|&(users, _)| users as f64).sum::<f64>() / members.len() as f64;
        // Largest first, groups of one size by name. Names are unique, so this order is the only
        // one. Sizes are sorted first and names only within each run of one size: reading a
        // name is a trip to memory, and most sizes are held by one group.
        members.sort_unstable_by_key(|&(users, _)| std::cmp::Reverse(users));
        for run in members.chunk_by_mut(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
            run.sort_unstable_by(|a, b| groups[a.1].name.cmp(&groups[b.1].name));
        }
        let (mut high, mut low) = (0, members.len() - 1);
        while high < low {
            let (big, small) = (&groups[members[high].1], &groups[members[low].1]);
            let over = big.users as f64 > mean * (1.0 + slack);
            let under = (small.users as f64) < mean * (1.0 - slack);
            if !over && !under {
                break;
            }
            let users = ((big.users - small.users) / 2).min(u64::from(s.max_between_groups));
            if users == 0 {
                break;
            }
            out.push(PlannedTransfer { backend_id: backend, from: big, to: small, users, mean });
            high += 1;
            low -= 1;
        }
    }
    out
}

/// The groups the balancer may touch (neither moving nor with sticky users), each as its size
/// and its position in the plan's input, laid out backend after backend in one list: a million
/// groups sort and pair faster there than behind a pointer each.
struct ByBackend {
    /// Each backend with where its groups lie in `members`, in backend id order.
    backends: Vec<(Uuid, Range<usize>)>,
    members: Vec<(u64, usize)>,
}

impl ByBackend {
    fn new(groups: &[SizedGroup]) -> Self {
        let mut slot_of: IdMap<usize> = IdMap::default();
        // Each backend with its count of groups, in order of first appearance.
        let mut counts: Vec<(Uuid, usize)> = Vec::new();
        // Each group's backend slot, `None` for the groups left alone.
        let slots: Vec<Option<usize>> = groups
            .iter()
            .map(|g| {
                let slot = (!g.moving && !g.sticky_users).then(|| {
                    let next = counts.len();
                    *slot_of.entry(g.backend_id).or_insert_with(|| {
                        counts.push((g.backend_id, 0));
                        next
                    })
                });
                if let Some(slot) = slot {
                    counts[slot].1 += 1;
                }
                slot
            })
            .collect();
        let mut start = 0;
        let mut next: Vec<usize> = Vec::with_capacity(counts.len());
        let mut backends: Vec<(Uuid, Range<usize>)> = Vec::with_capacity(counts.len());
        for &(id, count) in &counts {
            next.push(start);
            backends.push((id, start..start + count));
            start += count;
        }
        let mut members = vec![(0, 0); start];
        for (i, (slot, g)) in slots.iter().zip(groups).enumerate() {
            if let Some(slot) = *slot {
                members[next[slot]] = (g.users, i);
                next[slot] += 1;
            }
        }
        backends.sort_unstable_by_key(|(id, _)| *id);
        Self { backends, members }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, users: u64) -> SizedGroup {
        SizedGroup { name: name.into(), backend_id: Uuid::from_u128(1), users, moving: false, sticky_users: false }
    }

    #[test]
    fn the_largest_gives_to_the_smallest_within_the_cap() {
        let s = GroupBalanceSettings { slack_percent: 10, max_between_groups: 30 };
        let plan = plan(&[g("a", 200), g("b", 100), g("c", 100), g("d", 20)], &s);
        assert_eq!(plan.len(), 1);
        assert_eq!(
            plan[0].0,
            Transfer { backend_id: Uuid::from_u128(1), from_group: "a".into(), to_group: "d".into(), users: 30 }
        );
    }

    #[test]
    fn balanced_sticky_and_moving_groups_are_left_alone() {
        let s = GroupBalanceSettings { slack_percent: 10, max_between_groups: 1000 };
        assert!(plan(&[g("a", 100), g("b", 95)], &s).is_empty());
        let sticky = SizedGroup { sticky_users: true, ..g("a", 500) };
        let moving = SizedGroup { moving: true, ..g("c", 0) };
        assert!(plan(&[sticky, g("b", 100), moving], &s).is_empty());
    }

    #[test]
    fn backends_come_in_id_order_and_equal_sizes_by_name() {
        let s = GroupBalanceSettings { slack_percent: 10, max_between_groups: 1000 };
        let on = |backend: u128, group: SizedGroup| SizedGroup { backend_id: Uuid::from_u128(backend), ..group };
        let groups = [
            on(9, g("x", 10)),
            on(2, g("b", 100)),
            on(9, g("y", 90)),
            on(2, g("d", 0)),
            on(2, g("a", 100)),
            on(2, g("c", 0)),
        ];
        let plan = plan(&groups, &s);
        let pairs: Vec<(u128, &str, &str)> =
            plan.iter().map(|(t, _)| (t.backend_id.as_u128(), t.from_group.as_str(), t.to_group.as_str())).collect();
        assert_eq!(pairs, [(2, "a", "d"), (2, "b", "c"), (9, "y", "x")]);
        let decision = &plan[0].1;
        assert_eq!(decision.summary, "a has 100 users and d has 0 (mean 50, slack 10%): move 50");
        let rows: Vec<String> =
            decision.inputs.rows().into_iter().map(|(name, value)| format!("{name} = {value}")).collect();
        assert_eq!(rows, ["from_size = 100", "to_size = 0", "mean = 50", "slack_percent = 10", "cap = 1000"]);
        // The controller's way, one decision at a time, decides the same.
        let one_by_one: Vec<(Transfer, Decision)> =
            plan_transfers(&groups, &s).into_iter().map(|p| (p.transfer(), p.decision(&s))).collect();
        assert_eq!(one_by_one, plan);
    }
}
