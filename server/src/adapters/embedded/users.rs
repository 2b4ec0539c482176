//! `users` rows with the write time of each user's membership (what Cassandra's `WRITETIME`
//! gives the census), and the census's scans of `users` and `user_groups`.

use std::ops::Bound;

use std::collections::BTreeMap;

use domain::geodb::{GroupBackend, Membership, User};

use chrono::Utc;
use futures::{stream::BoxStream, StreamExt};
use palomar_core::ports::StoreError;

use super::{EmbeddedStore, Tables};

/// Users per batch of a scan.
const SCAN_BATCH: usize = 1000;

impl Tables {
    /// Writes a whole `users` row; the membership's write time moves when the user is new or
    /// their site or group changes.
    pub(super) fn put_user(&mut self, user: &User) {
        let changed = self
            .users
            .get(&user.username)
            .is_none_or(|old| (old.preferred_site_id, &old.group_name) != (user.preferred_site_id, &user.group_name));
        if changed {
            self.membership_written.insert(user.username.clone(), Utc::now());
        }
        self.users.insert(user.username.clone(), user.clone());
    }

    pub(super) fn delete_user(&mut self, username: &str) {
        self.users.remove(username);
        self.membership_written.remove(username);
    }

    pub(super) fn membership(&self, username: &str) -> Option<Membership> {
        let user = self.users.get(username)?;
        Some(Membership {
            username: user.username.clone(),
            preferred_site_id: user.preferred_site_id,
            group_name: user.group_name.clone(),
            written_at: self.membership_written.get(username).copied(),
        })
    }
}

impl EmbeddedStore {
    /// Every user's membership, [`SCAN_BATCH`] at a time in name order.
    pub(super) fn scan_memberships(&self) -> BoxStream<'_, Result<Vec<Membership>, StoreError>> {
        self.scan(|tables| &tables.users, |tables, name, _| tables.membership(name))
    }

    /// Every group's backend, [`SCAN_BATCH`] at a time in key order.
    pub(super) fn scan_group_backends(&self) -> BoxStream<'_, Result<Vec<GroupBackend>, StoreError>> {
        self.scan(
            |tables| &tables.groups,
            |_, _, g| Some(GroupBackend { site_id: g.site_id, name: g.name.clone(), backend_id: g.backend_id }),
        )
    }

    /// The items `item` makes of a table's rows, a batch at a time; the lock is taken per
    /// batch, so writers are never held up for a whole scan.
    fn scan<K, V, T>(
        &self,
        table: impl Fn(&Tables) -> &BTreeMap<K, V> + Copy + Send + 'static,
        item: impl Fn(&Tables, &K, &V) -> Option<T> + Copy + Send + 'static,
    ) -> BoxStream<'_, Result<Vec<T>, StoreError>>
    where
        K: Ord + Clone + Send + Sync + 'static,
        V: Send + Sync + 'static,
        T: Send + 'static,
    {
        futures::stream::unfold(Some(Bound::Unbounded), move |from: Option<Bound<K>>| async move {
            let tables = self.read();
            let rows: Vec<(&K, &V)> = table(&tables).range((from?, Bound::Unbounded)).take(SCAN_BATCH).collect();
            let (last, _) = rows.last()?;
            let next = (rows.len() == SCAN_BATCH).then(|| Bound::Excluded((*last).clone()));
            let batch = rows.iter().filter_map(|(key, value)| item(&tables, key, value)).collect();
            Some((Ok(batch), next))
        })
        .boxed()
    }
}
