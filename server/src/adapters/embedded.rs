//! The embedded store: every table in memory, in key order. It behaves like the Cassandra
//! adapter as far as the ports can tell; the conformance suite (`tests/geodb_conformance.rs`)
//! holds both to that.

use std::{
    cmp::Reverse,
    collections::BTreeMap,
    ops::Bound,
    sync::{RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use app::{
    domain::{
        audit::AuditRecord,
        geodb::{Backend, User, UserGroup},
        Page, PageRequest, Site, Tag,
    },
    ports::{AuditLog, GeoDb, OperatorRecord, OperatorStore, StoreError},
};
use async_trait::async_trait;
use uuid::Uuid;

#[derive(Default)]
struct Tables {
    tags: BTreeMap<Uuid, Tag>,
    sites: BTreeMap<Uuid, Site>,
    backends: BTreeMap<(Uuid, Uuid), Backend>,
    groups: BTreeMap<(Uuid, String), UserGroup>,
    users: BTreeMap<String, User>,
    operators: BTreeMap<String, OperatorRecord>,
    /// Newest first within a day, like the Cassandra table's clustering order.
    audit: BTreeMap<(chrono::NaiveDate, Reverse<i64>, Uuid), AuditRecord>,
}

/// The GeoDB and the controller's tables in process memory.
#[derive(Default)]
pub struct EmbeddedStore {
    tables: RwLock<Tables>,
}

impl EmbeddedStore {
    pub fn new() -> Self {
        Self::default()
    }

    // Nothing panics while holding the lock, so a poisoned lock still guards consistent tables.
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of rows in `users`, for the demo's start-up message.
    pub fn user_count(&self) -> usize {
        self.read().users.len()
    }
}

/// Reads one page of `map` within the partition `lo..=hi`, starting after the cursor's key.
fn page<K: Ord + Clone, V: Clone>(
    map: &BTreeMap<K, V>,
    lo: Bound<K>,
    hi: Bound<K>,
    request: &PageRequest,
    decode: impl Fn(&str) -> Option<K>,
    encode: impl Fn(&K) -> String,
) -> Result<Page<V>, StoreError> {
    let start = match &request.cursor {
        Some(cursor) => Bound::Excluded(decode(cursor).ok_or(StoreError::BadCursor)?),
        None => lo,
    };
    let limit = request.limit.max(1) as usize;
    let mut rows = map.range((start, hi));
    let items: Vec<(K, V)> = rows.by_ref().take(limit).map(|(k, v)| (k.clone(), v.clone())).collect();
    let next = match (items.last(), rows.next()) {
        (Some((last, _)), Some(_)) => Some(encode(last)),
        _ => None,
    };
    Ok(Page { items: items.into_iter().map(|(_, v)| v).collect(), next })
}

fn uuid_key(cursor: &str) -> Option<Uuid> {
    Uuid::parse_str(cursor).ok()
}

#[async_trait]
impl GeoDb for EmbeddedStore {
    async fn list_tags(&self, request: PageRequest) -> Result<Page<Tag>, StoreError> {
        page(&self.read().tags, Bound::Unbounded, Bound::Unbounded, &request, uuid_key, Uuid::to_string)
    }

    async fn get_tag(&self, id: Uuid) -> Result<Option<Tag>, StoreError> {
        Ok(self.read().tags.get(&id).cloned())
    }

    async fn put_tag(&self, tag: &Tag) -> Result<(), StoreError> {
        self.write().tags.insert(tag.id, tag.clone());
        Ok(())
    }

    async fn delete_tag(&self, id: Uuid) -> Result<(), StoreError> {
        self.write().tags.remove(&id);
        Ok(())
    }

    async fn list_sites(&self, request: PageRequest) -> Result<Page<Site>, StoreError> {
        page(&self.read().sites, Bound::Unbounded, Bound::Unbounded, &request, uuid_key, Uuid::to_string)
    }

    async fn get_site(&self, id: Uuid) -> Result<Option<Site>, StoreError> {
        Ok(self.read().sites.get(&id).cloned())
    }

    async fn put_site(&self, site: &Site) -> Result<(), StoreError> {
        self.write().sites.insert(site.id, site.clone());
        Ok(())
    }

    async fn delete_site(&self, id: Uuid) -> Result<(), StoreError> {
        self.write().sites.remove(&id);
        Ok(())
    }

    async fn list_backends(&self, site_id: Uuid, request: PageRequest) -> Result<Page<Backend>, StoreError> {
        page(
            &self.read().backends,
            Bound::Included((site_id, Uuid::nil())),
            Bound::Included((site_id, Uuid::max())),
            &request,
            |c| uuid_key(c).map(|id| (site_id, id)),
            |(_, id)| id.to_string(),
        )
    }

    async fn put_backend(&self, backend: &Backend) -> Result<(), StoreError> {
        self.write().backends.insert((backend.site_id, backend.id), backend.clone());
        Ok(())
    }

    async fn list_groups(&self, site_id: Uuid, request: PageRequest) -> Result<Page<UserGroup>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() { Bound::Unbounded } else { Bound::Excluded((next_site, String::new())) };
        page(
            &self.read().groups,
            Bound::Included((site_id, String::new())),
            hi,
            &request,
            |c| Some((site_id, c.to_string())),
            |(_, name)| name.clone(),
        )
    }

    async fn get_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        Ok(self.read().groups.get(&(site_id, name.to_string())).cloned())
    }

    async fn put_group(&self, group: &UserGroup) -> Result<(), StoreError> {
        self.write().groups.insert((group.site_id, group.name.clone()), group.clone());
        Ok(())
    }

    async fn list_users(&self, request: PageRequest) -> Result<Page<User>, StoreError> {
        page(&self.read().users, Bound::Unbounded, Bound::Unbounded, &request, |c| Some(c.to_string()), String::clone)
    }

    async fn get_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self.read().users.get(username).cloned())
    }

    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.write().users.insert(user.username.clone(), user.clone());
        Ok(())
    }
}

#[async_trait]
impl OperatorStore for EmbeddedStore {
    async fn get_operator(&self, username: &str) -> Result<Option<OperatorRecord>, StoreError> {
        Ok(self.read().operators.get(username).cloned())
    }

    async fn put_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError> {
        self.write().operators.insert(operator.username.clone(), operator.clone());
        Ok(())
    }

    async fn list_operators(&self, request: PageRequest) -> Result<Page<OperatorRecord>, StoreError> {
        page(&self.read().operators, Bound::Unbounded, Bound::Unbounded, &request, |c| Some(c.to_string()), String::clone)
    }
}

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let key = (record.day(), Reverse(record.at.timestamp_micros()), record.id);
        self.write().audit.insert(key, record.clone());
        Ok(())
    }

    async fn list_day(&self, day: chrono::NaiveDate, request: PageRequest) -> Result<Page<AuditRecord>, StoreError> {
        page(
            &self.read().audit,
            Bound::Included((day, Reverse(i64::MAX), Uuid::nil())),
            Bound::Included((day, Reverse(i64::MIN), Uuid::max())),
            &request,
            |c| {
                let (micros, id) = c.split_once('_')?;
                Some((day, Reverse(micros.parse().ok()?), Uuid::parse_str(id).ok()?))
            },
            |(_, Reverse(micros), id)| format!("{micros}_{id}"),
        )
    }
}
