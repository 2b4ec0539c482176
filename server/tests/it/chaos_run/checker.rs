//! The invariants of a fault run, read straight from Cassandra after every fault and at the end.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use domain::{
    decisions::{DecisionRecord, Outcome},
    feature::Feature,
    geodb::BackendStatus,
    moves::MoveState,
    planning::Action,
    PageRequest,
};
use futures::TryStreamExt;
use palomar_core::ports::{read_all, BackendTable, GroupTable, RecordStore, SiteTable, UserTable};
use uuid::Uuid;

use super::stack::{Stack, FINISH_TIMEOUT, LEASE_TTL, PASS, START_TIMEOUT};

/// Figures of the run, from the records.
#[derive(Debug, Default)]
pub struct Figures {
    pub decisions_applied: BTreeMap<String, u64>,
    pub moves: BTreeMap<String, u64>,
    pub tokens: usize,
}

pub struct Checker {
    users: u64,
    /// Held faults, as (start, end): time a move may wait beyond its timeouts.
    pub faults: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub violations: Vec<String>,
}

impl Checker {
    pub async fn new(stack: &Stack) -> Checker {
        let users = count_users(stack).await;
        Checker { users, faults: Vec::new(), violations: Vec::new() }
    }

    fn violated(&mut self, when: &str, what: String) {
        println!("chaos: VIOLATION {when}: {what}");
        self.violations.push(format!("{when}: {what}"));
    }

    /// Every invariant; `when` says after what, for the report. Waits first until the GeoDB
    /// answers this process again (its driver reconnects after a restart of Cassandra).
    pub async fn check(&mut self, stack: &Stack, when: &str) {
        let site = stack.site_id;
        while stack.store.get_site(site).await.is_err() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Every group has exactly one backend, one of the site's.
        let backends = read_all(|page| stack.store.list_backends(site, page)).await.expect("backends");
        let known: BTreeSet<Uuid> = backends.iter().map(|b| b.id).collect();
        let groups = read_all(|page| stack.store.list_groups(site, page)).await.expect("groups");
        for group in &groups {
            match group.backend_id {
                Some(id) if known.contains(&id) => {}
                other => {
                    self.violated(when, format!("group {} has backend {other:?}, not one of the site's", group.name))
                }
            }
        }
        // No user row lost.
        let users = count_users(stack).await;
        if users != self.users {
            self.violated(when, format!("the census counts {users} users, {} were seeded", self.users));
        }
        // No move active past its timeouts plus one pass, plus the faults held meanwhile (a
        // stopped GeoDB or controller supervises nothing) and a lease's hand-over.
        let now = Utc::now();
        for active in stack.store.list_active_moves(site).await.expect("active moves") {
            let held: i64 = self
                .faults
                .iter()
                .filter(|(_, end)| *end >= active.created_at)
                .map(|(start, end)| (*end - (*start).max(active.created_at)).num_seconds())
                .sum();
            let allowed = (START_TIMEOUT + FINISH_TIMEOUT + PASS + LEASE_TTL + 10) as i64 + held;
            let age = (now - active.created_at).num_seconds();
            if age > allowed {
                self.violated(when, format!("move of {} active for {age} s (allowed {allowed} s)", active.group));
            }
        }
        let decisions = read_decisions(stack).await;
        // At most one controller acts per fencing token.
        let mut holders: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        for d in &decisions {
            let instance = d.holder.split_whitespace().next().unwrap_or_default().to_string();
            holders.entry(d.token).or_default().insert(instance);
        }
        for (token, names) in holders.iter().filter(|(_, names)| names.len() > 1) {
            self.violated(when, format!("fencing token {token} used by {names:?}"));
        }
        // Every applied decision is visible: a move decision has its move record (or, when the
        // store failed between the move's start and its record, the record a pass made when it
        // adopted the move, soon after, to the same destination); a backend's
        // row shows the last applied status decision (read after the row, so a decision made
        // meanwhile is newer than what the row shows, and is skipped).
        let moves = read_all(|page| stack.store.list_moves(site, page)).await.expect("moves");
        let by_decision: BTreeMap<Uuid, &domain::moves::MoveRecord> =
            moves.iter().filter_map(|m| m.decision_id.map(|d| (d, m))).collect();
        for d in decisions.iter().filter(|d| d.outcome == Outcome::Applied) {
            if let Some(Action::MoveGroup { group, to, .. }) = &d.decision.action {
                // A forced move's decision ends a move that stood before it (started by whoever,
                // with its own decision or none): that move shows it, ended `forced`.
                if d.decision.feature == Feature::GroupMoveTimeouts {
                    let forced = moves.iter().any(|m| {
                        m.group == *group
                            && m.destination == *to
                            && m.state == MoveState::Forced
                            && m.created_at <= d.at
                    });
                    if !forced {
                        self.violated(
                            when,
                            format!("applied decision {} forced {group}, but no move of it ended forced", d.id),
                        );
                    }
                    continue;
                }
                let adopted = || {
                    moves.iter().any(|m| {
                        m.decision_id.is_none()
                            && m.group == *group
                            && m.destination == *to
                            && (m.created_at - d.at).num_seconds().abs() <= 30
                    })
                };
                match by_decision.get(&d.id) {
                    Some(m) if m.group == *group && m.destination == *to => {}
                    None if adopted() => {}
                    other => self.violated(
                        when,
                        format!("applied decision {} (move {group}) has move record {:?}", d.id, other.map(|m| m.id)),
                    ),
                }
            }
        }
        let rows = read_all(|page| stack.store.list_backends(site, page)).await.expect("backends");
        let later = read_decisions(stack).await;
        for row in rows {
            let last = later
                .iter()
                .filter(|d| d.outcome == Outcome::Applied)
                .filter_map(|d| match d.decision.action {
                    Some(Action::SetOffline { backend }) if backend == row.id => {
                        Some((d.at, d.id, BackendStatus::Offline))
                    }
                    Some(Action::SetOnline { backend }) if backend == row.id => {
                        Some((d.at, d.id, BackendStatus::Online))
                    }
                    _ => None,
                })
                .max_by_key(|(at, _, _)| *at);
            if let Some((_, id, status)) = last {
                let before_the_row = decisions.iter().any(|d| d.id == id);
                if before_the_row && row.status != status {
                    self.violated(
                        when,
                        format!("{} is {} but the last applied decision set it {status}", row.host, row.status),
                    );
                }
            }
        }
        let site_row = stack.store.get_site(site).await.expect("the site");
        if site_row.is_none() {
            self.violated(when, "the site row is gone".into());
        }
    }

    pub async fn figures(&self, stack: &Stack) -> Figures {
        let mut figures = Figures::default();
        let decisions = read_decisions(stack).await;
        for d in decisions.iter().filter(|d| d.outcome == Outcome::Applied) {
            *figures.decisions_applied.entry(d.decision.feature.to_string()).or_default() += 1;
        }
        figures.tokens = decisions.iter().map(|d| d.token).collect::<BTreeSet<_>>().len();
        let moves = read_all(|page| stack.store.list_moves(stack.site_id, page)).await.expect("moves");
        for m in moves {
            *figures.moves.entry(m.state.to_string()).or_default() += 1;
        }
        figures
    }
}

async fn count_users(stack: &Stack) -> u64 {
    let batches: Vec<Vec<domain::geodb::Membership>> =
        stack.store.scan_memberships().try_collect().await.expect("a census of users");
    batches.iter().map(|b| b.len() as u64).sum()
}

/// The site's decisions of today and yesterday (a run may cross midnight).
async fn read_decisions(stack: &Stack) -> Vec<DecisionRecord> {
    let today = Utc::now().date_naive();
    let mut all = Vec::new();
    for day in [today - chrono::Days::new(1), today] {
        let page = |p: PageRequest| stack.store.list_decisions(stack.site_id, day, p);
        all.extend(read_all(page).await.expect("decisions"));
    }
    all
}

/// How long to let the controller settle before the last check.
pub const SETTLE: Duration = Duration::from_secs(START_TIMEOUT + FINISH_TIMEOUT + PASS + LEASE_TTL + 10);
