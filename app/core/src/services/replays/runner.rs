//! The replays running here: one per site at a time, each in a task of its own that writes
//! its record after every slice of passes and at its end.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, PoisonError},
};

use uuid::Uuid;

use super::PreparedReplay;
use crate::ports::{Ports, MAX_REPLAY_BYTES};
use domain::{
    replay::{ReplayRun, ReplayStatus},
    AppError, Site,
};

/// The sites with a replay running here.
#[derive(Default)]
pub struct ReplayRunner {
    running: Mutex<BTreeSet<Uuid>>,
}

/// A site's place in the runner, given back when the replay ends however it ends.
pub(super) struct Slot {
    runner: Arc<ReplayRunner>,
    site_id: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.runner.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.site_id);
    }
}

impl ReplayRunner {
    /// The site's place, unless a replay of it runs here already.
    pub(super) fn claim(self: &Arc<Self>, site: &Site) -> Result<Slot, AppError> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if !running.insert(site.id) {
            return Err(AppError::Conflict(format!(
                "a replay of site {} is running; one runs at a time per site, start this one when it ends",
                site.name
            )));
        }
        Ok(Slot { runner: self.clone(), site_id: site.id })
    }
}

/// Runs `prepared` to its end in the background, writing `run` as it goes.
pub(super) fn spawn(slot: Slot, prepared: PreparedReplay, run: ReplayRun, ports: Ports) {
    tokio::spawn(async move {
        let _slot = slot;
        let id = run.id;
        let ended = match drive(prepared, run.clone(), &ports).await {
            Ok(done) => done,
            Err(e) => ReplayRun {
                status: ReplayStatus::Failed,
                error: Some(e.to_string()),
                updated_at: ports.clock.now(),
                ..run
            },
        };
        tracing::info!(replay = %id, status = %ended.status, "replay ended");
        if let Err(e) = ports.records.update_replay(&ended).await {
            tracing::warn!(replay = %id, error = %e, "the replay's end could not be recorded");
        }
    });
}

/// Replays slice by slice, recording the progress after each; the run as it ended.
async fn drive(mut prepared: PreparedReplay, mut run: ReplayRun, ports: &Ports) -> Result<ReplayRun, AppError> {
    while !prepared.is_done() {
        prepared = prepared.advance().await?;
        let (done, total) = prepared.progress();
        run.done = done as u64;
        run.total = total as u64;
        run.updated_at = ports.clock.now();
        // A progress write that fails costs only the progress shown; the end is written anyway.
        if let Err(e) = ports.records.update_replay(&run).await {
            tracing::warn!(replay = %run.id, error = %e, "the replay's progress could not be recorded");
        }
    }
    run.result = Some(prepared.finish());
    run.status = ReplayStatus::Done;
    run.updated_at = ports.clock.now();
    let bytes = serde_json::to_vec(&run).map(|b| b.len()).unwrap_or(usize::MAX);
    if bytes > MAX_REPLAY_BYTES {
        return Err(AppError::invalid(
            "from",
            format!(
                "the result takes {} MB, more than the {} MB kept: replay a shorter window",
                bytes >> 20,
                MAX_REPLAY_BYTES >> 20
            ),
        ));
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str) -> Site {
        Site {
            id: Uuid::new_v4(),
            name: name.into(),
            tag: None,
            load_balancer: format!("lb.{name}.example.net"),
            status: domain::SiteStatus::Online,
        }
    }

    #[test]
    fn one_replay_runs_at_a_time_per_site_and_its_end_frees_the_place() {
        let runner = Arc::new(ReplayRunner::default());
        let (dc1, dc2) = (site("dc1a"), site("dc2a"));
        let slot = runner.claim(&dc1).expect("a free site");
        assert!(matches!(runner.claim(&dc1), Err(AppError::Conflict(_))), "a second replay of the site waits");
        let other = runner.claim(&dc2).expect("another site runs beside it");
        drop(slot);
        assert!(runner.claim(&dc1).is_ok(), "the end of a replay frees its site");
        drop(other);
    }
}
