//! Group-size balancing (docs/controller.md, "Group-size balancing"): on each backend, groups converge to about the same size.
//! A group is over when its size exceeds the backend's mean by more than the slack, under when
//! it is below it by more than the slack. The largest over group gives users to the smallest
//! under group: half the difference, at most `GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS`. Each
//! group takes part in at most one transfer per plan. Moving groups and groups with sticky
//! users are left alone. Each backend's share of the plan is one decision.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::feature::Feature;

use super::{by_backend::ByBackend, Action, BalanceInputs, Decision, DecisionInputs, NamedTransfer, Reason};

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

/// How many of a backend's transfers its decision names; the rest are counted.
pub const TRANSFERS_NAMED: usize = 20;

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

    fn named(&self) -> NamedTransfer {
        NamedTransfer {
            from_group: self.from.name.clone(),
            from_size: self.from.users,
            to_group: self.to.name.clone(),
            to_size: self.to.users,
            users: self.users,
        }
    }
}

/// The plan's decisions, one per backend with transfers, in the plan's order. One per
/// transfer would bury the decision log under a first plan on a large site (hundreds of
/// thousands of transfers); each backend's decision counts its transfers and users and names
/// the first [`TRANSFERS_NAMED`].
pub fn decisions<'a>(
    planned: &'a [PlannedTransfer<'a>],
    s: &'a GroupBalanceSettings,
) -> impl Iterator<Item = Decision> + 'a {
    planned.chunk_by(|a, b| a.backend_id == b.backend_id).map(move |share| backend_decision(share, s))
}

/// The decision for one backend's transfers (at least one, all on that backend).
fn backend_decision(share: &[PlannedTransfer<'_>], s: &GroupBalanceSettings) -> Decision {
    let first = &share[0];
    let transfers = share.len() as u64;
    let users: u64 = share.iter().map(|t| t.users).sum();
    // Rounded as `{:.0}` rounds (ties to even).
    let mean = first.mean.round_ties_even();
    let plural = if transfers == 1 { "" } else { "s" };
    Decision {
        feature: Feature::GroupBalance,
        reason: Reason::GroupsUneven,
        action: Some(Action::BalanceGroups { backend: first.backend_id, transfers, users }),
        summary: format!(
            "{transfers} transfer{plural} of {users} users between groups (mean {mean}, slack {}%); the first: {} has {} \
             users and {} has {}: move {}",
            s.slack_percent, first.from.name, first.from.users, first.to.name, first.to.users, first.users
        ),
        inputs: DecisionInputs::GroupBalanceBackend(BalanceInputs {
            backend: first.backend_id,
            transfers,
            users,
            mean: first.mean,
            slack_percent: s.slack_percent,
            cap: s.max_between_groups,
            named: share.iter().take(TRANSFERS_NAMED).map(PlannedTransfer::named).collect(),
        }),
        rejected: vec![],
    }
}

/// Plans the transfers and their decisions.
pub fn plan(groups: &[SizedGroup], s: &GroupBalanceSettings) -> (Vec<Transfer>, Vec<Decision>) {
    let planned = plan_transfers(groups, s);
    (planned.iter().map(PlannedTransfer::transfer).collect(), decisions(&planned, s).collect())
}

/// Plans the transfers for every backend, in backend id order, each backend's largest groups
/// first.
pub fn plan_transfers<'a>(groups: &'a [SizedGroup], s: &GroupBalanceSettings) -> Vec<PlannedTransfer<'a>> {
    // Each group the balancer may touch (neither moving nor with sticky users) as its size and
    // its place in `groups`: sorted and paired without following a pointer.
    let mut by_backend = ByBackend::new(
        groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.moving && !g.sticky_users)
            .map(|(i, g)| (g.backend_id, (g.users, i))),
    );
    let slack = f64::from(s.slack_percent) / 100.0;
    // A transfer pairs two groups: sized for the most there can be, so that it never grows.
    let mut out = Vec::with_capacity(groups.len() / 2);
    for (backend, members) in by_backend.in_id_order() {
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
            let ((big_users, big), (small_users, small)) = (members[high], members[low]);
            let over = big_users as f64 > mean * (1.0 + slack);
            let under = (small_users as f64) < mean * (1.0 - slack);
            if !over && !under {
                break;
            }
            let users = ((big_users - small_users) / 2).min(u64::from(s.max_between_groups));
            if users == 0 {
                break;
            }
            out.push(PlannedTransfer { backend_id: backend, from: &groups[big], to: &groups[small], users, mean });
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
        let (transfers, decisions) = plan(&[g("a", 200), g("b", 100), g("c", 100), g("d", 20)], &s);
        assert_eq!(
            transfers,
            [Transfer { backend_id: Uuid::from_u128(1), from_group: "a".into(), to_group: "d".into(), users: 30 }]
        );
        assert_eq!(decisions.len(), 1);
        assert_eq!(
            decisions[0].summary,
            "1 transfer of 30 users between groups (mean 105, slack 10%); the first: a has 200 users and d has 20: move 30"
        );
    }

    #[test]
    fn balanced_sticky_and_moving_groups_are_left_alone() {
        let s = GroupBalanceSettings { slack_percent: 10, max_between_groups: 1000 };
        assert_eq!(plan(&[g("a", 100), g("b", 95)], &s), (vec![], vec![]));
        let sticky = SizedGroup { sticky_users: true, ..g("a", 500) };
        let moving = SizedGroup { moving: true, ..g("c", 0) };
        assert_eq!(plan(&[sticky, g("b", 100), moving], &s), (vec![], vec![]));
    }

    #[test]
    fn backends_come_in_id_order_each_with_one_decision_and_equal_sizes_by_name() {
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
        let (transfers, decisions) = plan(&groups, &s);
        let pairs: Vec<(u128, &str, &str)> =
            transfers.iter().map(|t| (t.backend_id.as_u128(), t.from_group.as_str(), t.to_group.as_str())).collect();
        assert_eq!(pairs, [(2, "a", "d"), (2, "b", "c"), (9, "y", "x")]);
        let actions: Vec<Option<Action>> = decisions.iter().map(|d| d.action.clone()).collect();
        assert_eq!(
            actions,
            [
                Some(Action::BalanceGroups { backend: Uuid::from_u128(2), transfers: 2, users: 100 }),
                Some(Action::BalanceGroups { backend: Uuid::from_u128(9), transfers: 1, users: 40 }),
            ]
        );
        assert_eq!(
            decisions[0].summary,
            "2 transfers of 100 users between groups (mean 50, slack 10%); the first: a has 100 users and d has 0: move 50"
        );
        let rows: Vec<String> =
            decisions[0].inputs.rows().into_iter().map(|(name, value)| format!("{name} = {value}")).collect();
        assert_eq!(
            rows,
            [
                "transfers = 2",
                "users = 100",
                "mean = 50",
                "slack_percent = 10",
                "cap = 1000",
                "a → d = 100 and 0: move 50",
                "b → c = 100 and 0: move 50"
            ]
        );
    }

    #[test]
    fn a_backends_decision_names_its_first_transfers_and_counts_them_all() {
        let s = GroupBalanceSettings { slack_percent: 10, max_between_groups: 1000 };
        let groups: Vec<SizedGroup> =
            (0..100u64).map(|n| g(&format!("g{n:03}"), if n % 2 == 0 { 200 + n } else { n })).collect();
        let (transfers, decisions) = plan(&groups, &s);
        assert_eq!(transfers.len(), 50);
        assert_eq!(decisions.len(), 1);
        let Some(Action::BalanceGroups { transfers: counted, users, .. }) = decisions[0].action else {
            panic!("{:?}", decisions[0].action)
        };
        assert_eq!((counted, users), (50, transfers.iter().map(|t| t.users).sum()));
        let DecisionInputs::GroupBalanceBackend(inputs) = &decisions[0].inputs else {
            panic!("{:?}", decisions[0].inputs)
        };
        assert_eq!(inputs.named.len(), TRANSFERS_NAMED);
        assert_eq!(inputs.named[0].from_group, transfers[0].from_group);
    }
}
