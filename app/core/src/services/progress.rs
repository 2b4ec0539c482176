//! Long operations running on this instance, counted as they go, so that their pages can
//! show a progress bar (site initialisation creates up to 100,000 groups).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use domain::cluster::Progress;

/// What is running, by key (e.g. `site-init:<site id>`).
#[derive(Default)]
pub struct Operations {
    running: Mutex<HashMap<String, Progress>>,
}

impl Operations {
    /// Counts an operation of `total` steps under `key` until the returned guard is dropped.
    pub(crate) fn start(self: &Arc<Self>, key: String, total: u64) -> Running {
        self.lock().insert(key.clone(), Progress { done: 0, total });
        Running { operations: self.clone(), key }
    }

    /// How far the operation under `key` is, while it runs.
    pub fn get(&self, key: &str) -> Option<Progress> {
        self.lock().get(key).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Progress>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running operation; it is forgotten when this is dropped, however it ended.
pub(crate) struct Running {
    operations: Arc<Operations>,
    key: String,
}

impl Running {
    /// One more step done.
    pub(crate) fn step(&self) {
        if let Some(p) = self.operations.lock().get_mut(&self.key) {
            p.done = (p.done + 1).min(p.total);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.operations.lock().remove(&self.key);
    }
}

/// The key of a site's initialisation.
pub fn site_init_key(site_id: uuid::Uuid) -> String {
    format!("site-init:{site_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_counts_until_it_ends() {
        let ops = Arc::new(Operations::default());
        let running = ops.start("k".into(), 3);
        running.step();
        running.step();
        assert_eq!(ops.get("k"), Some(Progress { done: 2, total: 3 }));
        drop(running);
        assert_eq!(ops.get("k"), None);
    }
}
