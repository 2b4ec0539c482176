//! Reads that the pages and the route API repeat on every request, reused for a moment: a
//! site's backends (1,000 rows at scale, read by every group page, user lookup and route
//! lookup), the list of sites and their reachability, and the account behind each session. Never used on a write
//! path: a write reads afresh and is conditional on what it read.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use uuid::Uuid;

use domain::{
    force_move::ForceMove,
    geodb::{Backend, Reachability, UserGroup},
    operator::OperatorView,
    page::natural_cmp,
    token::TokenRecord,
    Page, PageRequest, Site,
};

use crate::ports::{read_all, GeoDb, OperatorStore, StoreError};

/// How long a site's backends are reused. Short: a backend marked offline by another
/// controller instance reaches the route API within this; this instance's own changes
/// through the services take effect at once ([`SiteBackends::forget`]).
pub const BACKENDS_FRESH_FOR: Duration = Duration::from_secs(1);
/// How long the running force-moves are reused: every login reads them.
const FORCE_MOVES_FRESH_FOR: Duration = Duration::from_secs(2);
/// How long the list of sites is reused: sites change rarely.
const SITES_FRESH_FOR: Duration = Duration::from_secs(5);
/// How long an account's state is reused by the session checks of every request. A change made
/// through this instance ends the account's sessions at once ([`Accounts::forget`]); one made
/// through another instance (or `palomar operator`) reaches this one within this.
pub const ACCOUNTS_FRESH_FOR: Duration = Duration::from_secs(1);

/// How many pages of groups are kept at most: their keys come from requests (cursors).
const GROUP_PAGES_KEPT: usize = 256;
/// How many API tokens are kept at most: their ids come from requests.
const TOKENS_KEPT: usize = 4096;

/// How many times `fresh_for` a value may be served while another request reads it afresh.
const STALE_WHILE_READING: u32 = 3;

/// Values by key, each reused until it is `fresh_for` old. One read at a time refreshes: while
/// it runs, other requests for a key that has a value get that value, a moment older, rather
/// than queueing behind the read (a value dropped by [`FreshCache::forget`] is not served
/// again: those requests wait for the read). At most `max_entries` are kept: when full, stale
/// entries go, then all.
struct FreshCache<K, V> {
    fresh_for: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<K, (Instant, Arc<V>)>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl<K: Eq + Hash + Clone, V> FreshCache<K, V> {
    fn new(fresh_for: Duration) -> Self {
        Self::bounded(fresh_for, usize::MAX)
    }

    fn bounded(fresh_for: Duration, max_entries: usize) -> Self {
        Self { fresh_for, max_entries, entries: Mutex::default(), refreshing: tokio::sync::Mutex::new(()) }
    }

    fn fresh(&self, key: &K) -> Option<Arc<V>> {
        self.kept(key).filter(|(at, _)| at.elapsed() < self.fresh_for).map(|(_, v)| v)
    }

    fn kept(&self, key: &K) -> Option<(Instant, Arc<V>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).map(|(at, v)| (*at, v.clone()))
    }

    async fn get<F, Fut>(&self, key: K, read: F) -> Result<Arc<V>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, StoreError>>,
    {
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let _one_at_a_time = match self.refreshing.try_lock() {
            Ok(guard) => guard,
            Err(_) => match self.kept(&key) {
                // Another request is reading: the value from a moment ago will do meanwhile,
                // but not one that the store has failed to renew for long.
                Some((at, value)) if at.elapsed() < self.fresh_for * STALE_WHILE_READING => return Ok(value),
                _ => self.refreshing.lock().await,
            },
        };
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let value = Arc::new(read().await?);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max_entries {
            entries.retain(|_, (at, _)| at.elapsed() < self.fresh_for);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value.clone()));
        Ok(value)
    }

    fn forget(&self, key: &K) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    fn forget_where(&self, mut which: impl FnMut(&K) -> bool) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).retain(|key, _| !which(key));
    }
}

/// Every site's backends as read lately (see [`BACKENDS_FRESH_FOR`]).
pub(crate) struct SiteBackends {
    geodb: Arc<dyn GeoDb>,
    cache: FreshCache<Uuid, Vec<Backend>>,
}

impl SiteBackends {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>) -> Self {
        Self { geodb, cache: FreshCache::new(BACKENDS_FRESH_FOR) }
    }

    /// All backends of the site, ordered by host as people read them ([`natural_cmp`]).
    pub(crate) async fn of(&self, site_id: Uuid) -> Result<Arc<Vec<Backend>>, StoreError> {
        let geodb = self.geodb.clone();
        self.cache
            .get(site_id, || async move {
                let mut backends = read_all(|page| geodb.list_backends(site_id, page)).await?;
                backends.sort_by(|a, b| natural_cmp(&a.host, &b.host));
                Ok(backends)
            })
            .await
    }

    /// Drops what was read of the site, after a change to its backends.
    pub(crate) fn forget(&self, site_id: Uuid) {
        self.cache.forget(&site_id);
    }
}

/// Pages of a site's groups as read lately, by cursor and size, reused for as long as a site's
/// backends are ([`BACKENDS_FRESH_FOR`]): a page opened by many at once, or reloaded in a
/// burst, costs one store read. Changes made through this instance's services drop the site's
/// pages at once ([`GroupPages::forget`]); the controller's moves show within the moment.
pub(crate) struct GroupPages {
    geodb: Arc<dyn GeoDb>,
    cache: FreshCache<(Uuid, PageRequest), Page<UserGroup>>,
}

impl GroupPages {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>) -> Self {
        Self { geodb, cache: FreshCache::bounded(BACKENDS_FRESH_FOR, GROUP_PAGES_KEPT) }
    }

    /// One page of the site's groups, in the store's order.
    pub(crate) async fn page(&self, site_id: Uuid, request: PageRequest) -> Result<Arc<Page<UserGroup>>, StoreError> {
        let geodb = self.geodb.clone();
        let read = request.clone();
        self.cache.get((site_id, request), || async move { geodb.list_groups(site_id, read).await }).await
    }

    /// Drops what was read of the site's groups, after a change to one.
    pub(crate) fn forget(&self, site_id: Uuid) {
        self.cache.forget_where(|(site, _)| *site == site_id);
    }
}

/// The running force-moves and recovers of every site as read lately (see
/// [`FORCE_MOVES_FRESH_FOR`]): one small partition of `cluster_settings`.
pub(crate) struct ForceMoves {
    geodb: Arc<dyn GeoDb>,
    cache: FreshCache<(), Vec<ForceMove>>,
}

impl ForceMoves {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>) -> Self {
        Self { geodb, cache: FreshCache::new(FORCE_MOVES_FRESH_FOR) }
    }

    pub(crate) async fn all(&self) -> Result<Arc<Vec<ForceMove>>, StoreError> {
        let geodb = self.geodb.clone();
        self.cache.get((), || async move { super::force_moves::read_force_moves(geodb.as_ref()).await }).await
    }

    /// Drops the list, after a change to one.
    pub(crate) fn forget(&self) {
        self.cache.forget(&());
    }
}

/// The list of sites as read lately (see [`SITES_FRESH_FOR`]).
pub(crate) struct Sites {
    geodb: Arc<dyn GeoDb>,
    cache: FreshCache<(), Vec<Site>>,
}

impl Sites {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>) -> Self {
        Self { geodb, cache: FreshCache::new(SITES_FRESH_FOR) }
    }

    pub(crate) async fn all(&self) -> Result<Arc<Vec<Site>>, StoreError> {
        let geodb = self.geodb.clone();
        self.cache.get((), || async move { read_all(|page| geodb.list_sites(page)).await }).await
    }

    /// One site; one the list read lately lacks (just added elsewhere) is read afresh.
    pub(crate) async fn get(&self, id: Uuid) -> Result<Option<Site>, StoreError> {
        match self.all().await?.iter().find(|s| s.id == id) {
            Some(site) => Ok(Some(site.clone())),
            None => self.geodb.get_site(id).await,
        }
    }

    /// Drops the list, after a change to a site.
    pub(crate) fn forget(&self) {
        self.cache.forget(&());
    }
}

/// The `site_reachability` rows as read lately (see [`SITES_FRESH_FOR`]): every route lookup
/// needs them, and they change at most once a controller pass.
pub(crate) struct Reachabilities {
    geodb: Arc<dyn GeoDb>,
    cache: FreshCache<(), Vec<Reachability>>,
}

impl Reachabilities {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>) -> Self {
        Self { geodb, cache: FreshCache::new(SITES_FRESH_FOR) }
    }

    pub(crate) async fn all(&self) -> Result<Arc<Vec<Reachability>>, StoreError> {
        let geodb = self.geodb.clone();
        self.cache.get((), || async move { read_all(|page| geodb.list_reachability(page)).await }).await
    }
}

/// API tokens as read lately by every API request (see [`ACCOUNTS_FRESH_FOR`]); `None`: no
/// such token. A revocation through this instance takes effect at once ([`Tokens::forget`]).
pub(crate) struct Tokens {
    store: Arc<dyn OperatorStore>,
    cache: FreshCache<Uuid, Option<TokenRecord>>,
}

impl Tokens {
    pub(crate) fn new(store: Arc<dyn OperatorStore>) -> Self {
        Self { store, cache: FreshCache::bounded(ACCOUNTS_FRESH_FOR, TOKENS_KEPT) }
    }

    pub(crate) async fn of(&self, id: Uuid) -> Result<Arc<Option<TokenRecord>>, StoreError> {
        let store = self.store.clone();
        self.cache.get(id, || async move { store.get_token(id).await }).await
    }

    pub(crate) fn forget(&self, id: Uuid) {
        self.cache.forget(&id);
    }
}

/// An account as the session checks need it: enabled (`Some`) or not, and its session epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountState {
    pub(crate) active: Option<OperatorView>,
    pub(crate) epoch: String,
}

/// Every account as read lately by the session checks (see [`ACCOUNTS_FRESH_FOR`]).
pub(crate) struct Accounts {
    store: Arc<dyn OperatorStore>,
    cache: FreshCache<String, AccountState>,
}

impl Accounts {
    pub(crate) fn new(store: Arc<dyn OperatorStore>) -> Self {
        Self { store, cache: FreshCache::new(ACCOUNTS_FRESH_FOR) }
    }

    /// The account's state; both reads at once, since every page load waits on them.
    pub(crate) async fn of(&self, username: &str) -> Result<Arc<AccountState>, StoreError> {
        let store = self.store.clone();
        let name = username.to_string();
        self.cache
            .get(username.to_string(), || async move {
                let (record, epoch) = futures::try_join!(store.get_operator(&name), store.session_epoch(&name))?;
                Ok(AccountState {
                    active: record.filter(|r| !r.disabled).map(|r| OperatorView { username: r.username, role: r.role }),
                    epoch: epoch.map(|e| e.to_string()).unwrap_or_default(),
                })
            })
            .await
    }

    /// Drops what was read of the account, after it changed.
    pub(crate) fn forget(&self, username: &str) {
        self.cache.forget(&username.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stale_value_is_served_while_one_request_reads_and_a_forgotten_one_never() {
        let cache: Arc<FreshCache<u8, u32>> = Arc::new(FreshCache::new(Duration::from_millis(20)));
        assert_eq!(*cache.get(1, || async { Ok(1) }).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let reader = tokio::spawn({
            let cache = cache.clone();
            async move {
                cache
                    .get(1, || async move {
                        let _ = wait.await;
                        Ok(2)
                    })
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let meanwhile = cache.get(1, || async { Ok(99) }).await.unwrap();
        assert_eq!(*meanwhile, 1, "the stale value, not a second read");
        let _ = release.send(());
        assert_eq!(*reader.await.unwrap().unwrap(), 2);
        assert_eq!(*cache.get(1, || async { Ok(99) }).await.unwrap(), 2, "fresh again");
        cache.forget(&1);
        assert_eq!(*cache.get(1, || async { Ok(3) }).await.unwrap(), 3, "forgotten: read afresh");
    }
}
