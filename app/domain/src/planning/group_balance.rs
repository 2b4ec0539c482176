//! Group-size balancing (docs/controller.md, "Group-size balancing"): on each backend, groups converge to about the same size.
//! A group is over when its size exceeds the backend's mean by more than the slack, under when
//! it is below it by more than the slack. The largest over group gives users to the smallest
//! under group: half the difference, at most `GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS`. Each
//! group takes part in at most one transfer per plan. Moving groups and groups with sticky
//! users are left alone.

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

/// A planned transfer with the sizes it was planned from, which its decision shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTransfer {
    pub transfer: Transfer,
    pub from_size: u64,
    pub to_size: u64,
    /// The mean group size on the backend.
    pub mean: f64,
}

impl PlannedTransfer {
    /// The decision that records this transfer.
    pub fn decision(&self, s: &GroupBalanceSettings) -> Decision {
        let Transfer { backend_id, from_group, to_group, users } = &self.transfer;
        Decision {
            feature: Feature::GroupBalance,
            reason: Reason::GroupsUneven,
            action: Some(Action::MoveUsers {
                backend: *backend_id,
                from_group: from_group.clone(),
                to_group: to_group.clone(),
                users: *users,
            }),
            summary: format!(
                "{from_group} has {} users and {to_group} has {} (mean {:.0}, slack {}%): move {users}",
                self.from_size, self.to_size, self.mean, s.slack_percent
            ),
            inputs: DecisionInputs::GroupBalanceTransfer(TransferInputs {
                from_size: self.from_size,
                to_size: self.to_size,
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
    plan_transfers(groups, s)
        .into_iter()
        .map(|planned| {
            let decision = planned.decision(s);
            (planned.transfer, decision)
        })
        .collect()
}

/// Plans the transfers for every backend, in backend id order, without their decisions: a
/// first plan on a large unbalanced site has tens of thousands, and holding all their
/// decisions at once (about 1 KB each) costs more than planning. The controller builds each
/// one as it records it.
pub fn plan_transfers(groups: &[SizedGroup], s: &GroupBalanceSettings) -> Vec<PlannedTransfer> {
    // Hashed then sorted: cheaper than a BTreeMap with 100,000 inserts, in the same order.
    let mut per_backend: IdMap<Vec<&SizedGroup>> = IdMap::default();
    for g in groups.iter().filter(|g| !g.moving && !g.sticky_users) {
        per_backend.entry(g.backend_id).or_default().push(g);
    }
    let mut per_backend: Vec<(Uuid, Vec<&SizedGroup>)> = per_backend.into_iter().collect();
    per_backend.sort_unstable_by_key(|(backend, _)| *backend);
    let slack = f64::from(s.slack_percent) / 100.0;
    let mut out = Vec::new();
    for (backend, mut members) in per_backend {
        if members.len() < 2 {
            continue;
        }
        let mean = members.iter().map(|g| g.users as f64).sum::<f64>() / members.len() as f64;
        // Names are compared only between groups of one size (`then_with`, not `then`).
        members.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.name.cmp(&b.name)));
        let (mut high, mut low) = (0, members.len() - 1);
        while high < low {
            let (big, small) = (members[high], members[low]);
            let over = big.users as f64 > mean * (1.0 + slack);
            let under = (small.users as f64) < mean * (1.0 - slack);
            if !over && !under {
                break;
            }
            let users = ((big.users - small.users) / 2).min(u64::from(s.max_between_groups));
            if users == 0 {
                break;
            }
            out.push(PlannedTransfer {
                transfer: Transfer {
                    backend_id: backend,
                    from_group: big.name.clone(),
                    to_group: small.name.clone(),
                    users,
                },
                from_size: big.users,
                to_size: small.users,
                mean,
            });
            high += 1;
            low -= 1;
        }
    }
    out
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
            plan_transfers(&groups, &s).into_iter().map(|p| (p.transfer.clone(), p.decision(&s))).collect();
        assert_eq!(one_by_one, plan);
    }
}
