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
        controller::{DecisionRecord, MoveRecord, PlanEntry, PlanSummary},
        geodb::{Backend, BackendStat, ClusterSetting, GroupSite, ProxyDestStat, Reachability, User, UserGroup},
        Page, PageRequest, Site, Tag,
    },
    ports::{
        AuditLog, BalancePlanStore, ControllerStore, GeoDb, GroupMembers, LeaderLease, Lease, OperatorRecord, OperatorStore, StoreError,
    },
};
use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use uuid::Uuid;

#[derive(Default)]
struct Tables {
    tags: BTreeMap<Uuid, Tag>,
    sites: BTreeMap<Uuid, Site>,
    backends: BTreeMap<(Uuid, Uuid), Backend>,
    groups: BTreeMap<(Uuid, String), UserGroup>,
    users: BTreeMap<String, User>,
    operators: BTreeMap<String, OperatorRecord>,
    settings: BTreeMap<(String, Uuid, Uuid, String), ClusterSetting>,
    reachability: BTreeMap<(Uuid, Uuid), Reachability>,
    group_sites: BTreeMap<(String, Uuid), GroupSite>,
    backend_stats: BTreeMap<(Uuid, Uuid, String), BackendStat>,
    proxy_dest_stats: BTreeMap<(Uuid, String, String, String), ProxyDestStat>,
    /// Per site: the lease holder, its token and when it expires; and the last token given.
    leases: BTreeMap<String, (String, u64, std::time::Instant)>,
    lease_tokens: BTreeMap<String, u64>,
    /// (site, group, username) → the username and when the record expires.
    members: BTreeMap<(Uuid, String, String), (String, std::time::Instant)>,
    /// Newest first within a day, like the Cassandra table's clustering order.
    audit: BTreeMap<(chrono::NaiveDate, Reverse<i64>, Uuid), AuditRecord>,
    /// Per site and day, newest first.
    decisions: BTreeMap<(Uuid, chrono::NaiveDate, Reverse<i64>, Uuid), DecisionRecord>,
    /// Per site, newest first; and the active ones by id.
    moves: BTreeMap<(Uuid, Reverse<i64>, Uuid), MoveRecord>,
    active_moves: BTreeMap<(Uuid, Uuid), MoveRecord>,
    /// Per site: when the plan was made, its size, and what is left of it.
    plans: BTreeMap<String, (chrono::DateTime<chrono::Utc>, u64, std::collections::VecDeque<PlanEntry>)>,
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
    // Cursors are base64url so that they are opaque and safe in links, as Cassandra's are.
    let start = match &request.cursor {
        Some(cursor) => {
            let raw = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(StoreError::BadCursor)?;
            Bound::Excluded(decode(&raw).ok_or(StoreError::BadCursor)?)
        }
        None => lo,
    };
    let limit = request.limit.max(1) as usize;
    let mut rows = map.range((start, hi));
    let items: Vec<(K, V)> = rows.by_ref().take(limit).map(|(k, v)| (k.clone(), v.clone())).collect();
    let next = match (items.last(), rows.next()) {
        (Some((last, _)), Some(_)) => Some(URL_SAFE_NO_PAD.encode(encode(last))),
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

    async fn get_backend(&self, site_id: Uuid, id: Uuid) -> Result<Option<Backend>, StoreError> {
        Ok(self.read().backends.get(&(site_id, id)).cloned())
    }

    async fn put_backend(&self, backend: &Backend) -> Result<(), StoreError> {
        self.write().backends.insert((backend.site_id, backend.id), backend.clone());
        Ok(())
    }

    async fn delete_backend(&self, site_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        self.write().backends.remove(&(site_id, id));
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

    async fn start_group_move(&self, site_id: Uuid, name: &str, destination: Uuid, token: &str) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.moving.is_empty() && group.backend_id.is_some() => {
                group.moving = token.to_string();
                group.alt_backend_id = Some(destination);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_backend_status(&self, site_id: Uuid, id: Uuid, expected: &str, status: &str, reason: &str) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.backends.get_mut(&(site_id, id)) {
            Some(backend) if backend.status == expected => {
                backend.status = status.to_string();
                backend.status_reason = reason.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_group_move(
        &self,
        site_id: Uuid,
        name: &str,
        token: &str,
        backend_id: Uuid,
        alt_backend_id: Option<Uuid>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        match tables.groups.get_mut(&(site_id, name.to_string())) {
            Some(group) if group.moving == token => {
                group.backend_id = Some(backend_id);
                group.alt_backend_id = alt_backend_id;
                group.moving = String::new();
                group.refresh_after = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
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

    async fn delete_user(&self, username: &str) -> Result<(), StoreError> {
        self.write().users.remove(username);
        Ok(())
    }

    async fn list_settings(&self, section: &str, request: PageRequest) -> Result<Page<ClusterSetting>, StoreError> {
        let section = section.to_string();
        let lo = (section.clone(), Uuid::nil(), Uuid::nil(), String::new());
        let hi = (format!("{section}\u{0}"), Uuid::nil(), Uuid::nil(), String::new());
        page(
            &self.read().settings,
            Bound::Included(lo),
            Bound::Excluded(hi),
            &request,
            |c| {
                let mut parts = c.splitn(3, '|');
                let site = Uuid::parse_str(parts.next()?).ok()?;
                let backend = Uuid::parse_str(parts.next()?).ok()?;
                Some((section.clone(), site, backend, parts.next()?.to_string()))
            },
            |(_, site, backend, name)| format!("{site}|{backend}|{name}"),
        )
    }

    async fn put_setting(&self, setting: &ClusterSetting) -> Result<(), StoreError> {
        let key = (setting.section.clone(), setting.site_id, setting.backend_id, setting.setting_name.clone());
        self.write().settings.insert(key, setting.clone());
        Ok(())
    }

    async fn delete_setting(&self, section: &str, site_id: Uuid, backend_id: Uuid, name: &str) -> Result<(), StoreError> {
        self.write().settings.remove(&(section.to_string(), site_id, backend_id, name.to_string()));
        Ok(())
    }

    async fn list_reachability(&self, request: PageRequest) -> Result<Page<Reachability>, StoreError> {
        page(
            &self.read().reachability,
            Bound::Unbounded,
            Bound::Unbounded,
            &request,
            |c| {
                let (a, b) = c.split_once('|')?;
                Some((Uuid::parse_str(a).ok()?, Uuid::parse_str(b).ok()?))
            },
            |(a, b)| format!("{a}|{b}"),
        )
    }

    async fn put_reachability(&self, row: &Reachability) -> Result<(), StoreError> {
        self.write().reachability.insert((row.src_site_id, row.dest_site_id), *row);
        Ok(())
    }

    async fn list_group_sites(&self, group_name: &str) -> Result<Vec<GroupSite>, StoreError> {
        let tables = self.read();
        let lo = (group_name.to_string(), Uuid::nil());
        let hi = (group_name.to_string(), Uuid::max());
        Ok(tables.group_sites.range(lo..=hi).map(|(_, v)| v.clone()).collect())
    }

    async fn put_group_site(&self, row: &GroupSite) -> Result<(), StoreError> {
        self.write().group_sites.insert((row.group_name.clone(), row.site_id), row.clone());
        Ok(())
    }

    async fn list_backend_stats(&self, site_id: Uuid, request: PageRequest) -> Result<Page<BackendStat>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() { Bound::Unbounded } else { Bound::Excluded((next_site, Uuid::nil(), String::new())) };
        page(
            &self.read().backend_stats,
            Bound::Included((site_id, Uuid::nil(), String::new())),
            hi,
            &request,
            |c| {
                let (id, key) = c.split_once('|')?;
                Some((site_id, Uuid::parse_str(id).ok()?, key.to_string()))
            },
            |(_, id, key)| format!("{id}|{key}"),
        )
    }

    async fn put_backend_stat(&self, row: &BackendStat) -> Result<(), StoreError> {
        self.write().backend_stats.insert((row.site_id, row.id, row.key.clone()), row.clone());
        Ok(())
    }

    async fn list_proxy_dest_stats(&self, site_id: Uuid, request: PageRequest) -> Result<Page<ProxyDestStat>, StoreError> {
        let next_site = Uuid::from_u128(site_id.as_u128().wrapping_add(1));
        let hi = if site_id == Uuid::max() {
            Bound::Unbounded
        } else {
            Bound::Excluded((next_site, String::new(), String::new(), String::new()))
        };
        page(
            &self.read().proxy_dest_stats,
            Bound::Included((site_id, String::new(), String::new(), String::new())),
            hi,
            &request,
            |c| {
                let mut parts = c.splitn(3, '|');
                Some((site_id, parts.next()?.to_string(), parts.next()?.to_string(), parts.next()?.to_string()))
            },
            |(_, dest, proxy, key)| format!("{dest}|{proxy}|{key}"),
        )
    }

    async fn put_proxy_dest_stat(&self, row: &ProxyDestStat) -> Result<(), StoreError> {
        let key = (row.proxy_site_id, row.dest_host.clone(), row.proxy_host.clone(), row.key.clone());
        self.write().proxy_dest_stats.insert(key, row.clone());
        Ok(())
    }

    async fn delete_proxy_dest_stats(&self, site_id: Uuid, dest_host: &str, proxy_host: &str) -> Result<(), StoreError> {
        self.write().proxy_dest_stats.retain(|(site, dest, proxy, _), _| !(*site == site_id && dest == dest_host && proxy == proxy_host));
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

#[async_trait]
impl GroupMembers for EmbeddedStore {
    async fn put_member(&self, site_id: Uuid, group: &str, username: &str, ttl: std::time::Duration) -> Result<(), StoreError> {
        let expires = std::time::Instant::now() + ttl;
        self.write().members.insert((site_id, group.to_string(), username.to_string()), (username.to_string(), expires));
        Ok(())
    }

    async fn list_members(&self, site_id: Uuid, group: &str, request: PageRequest) -> Result<Page<String>, StoreError> {
        let now = std::time::Instant::now();
        let mut tables = self.write();
        tables.members.retain(|_, (_, expires)| *expires > now);
        let group = group.to_string();
        let lo = (site_id, group.clone(), String::new());
        let hi = (site_id, format!("{group}\u{0}"), String::new());
        let found = page(
            &tables.members,
            Bound::Included(lo),
            Bound::Excluded(hi),
            &request,
            |c| Some((site_id, group.clone(), c.to_string())),
            |(_, _, user)| user.clone(),
        )?;
        Ok(found.map(|(user, _)| user))
    }
}

#[async_trait]
impl LeaderLease for EmbeddedStore {
    async fn acquire_or_renew(&self, site: &str, holder: &str, ttl: std::time::Duration) -> Result<Option<Lease>, StoreError> {
        let now = std::time::Instant::now();
        let mut tables = self.write();
        let tables = &mut *tables;
        match tables.leases.get_mut(site) {
            Some((current, token, expires)) if *expires > now => {
                if current == holder {
                    *expires = now + ttl;
                    Ok(Some(Lease { holder: holder.to_string(), token: *token }))
                } else {
                    Ok(None)
                }
            }
            _ => {
                let token = tables.lease_tokens.entry(site.to_string()).or_default();
                *token += 1;
                let token = *token;
                tables.leases.insert(site.to_string(), (holder.to_string(), token, now + ttl));
                Ok(Some(Lease { holder: holder.to_string(), token }))
            }
        }
    }

    async fn release(&self, site: &str, holder: &str) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables.leases.get(site).is_some_and(|(current, _, _)| current == holder) {
            tables.leases.remove(site);
        }
        Ok(())
    }

    async fn current(&self, site: &str) -> Result<Option<Lease>, StoreError> {
        let now = std::time::Instant::now();
        Ok(self
            .read()
            .leases
            .get(site)
            .filter(|(_, _, expires)| *expires > now)
            .map(|(holder, token, _)| Lease { holder: holder.clone(), token: *token }))
    }
}

fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

#[async_trait]
impl ControllerStore for EmbeddedStore {
    async fn record_decision(&self, record: &DecisionRecord) -> Result<(), StoreError> {
        let key = (record.site_id, record.day(), Reverse(micros(record.at)), record.id);
        self.write().decisions.insert(key, record.clone());
        Ok(())
    }

    async fn list_decisions(&self, site_id: Uuid, day: chrono::NaiveDate, request: PageRequest) -> Result<Page<DecisionRecord>, StoreError> {
        page(
            &self.read().decisions,
            Bound::Included((site_id, day, Reverse(i64::MAX), Uuid::nil())),
            Bound::Included((site_id, day, Reverse(i64::MIN), Uuid::max())),
            &request,
            |c| {
                let (micros, id) = c.split_once('_')?;
                Some((site_id, day, Reverse(micros.parse().ok()?), Uuid::parse_str(id).ok()?))
            },
            |(_, _, Reverse(micros), id)| format!("{micros}_{id}"),
        )
    }

    async fn put_move(&self, record: &MoveRecord) -> Result<(), StoreError> {
        let mut tables = self.write();
        tables.moves.insert((record.site_id, Reverse(micros(record.created_at)), record.id), record.clone());
        if record.state.is_active() {
            tables.active_moves.insert((record.site_id, record.id), record.clone());
        } else {
            tables.active_moves.remove(&(record.site_id, record.id));
        }
        Ok(())
    }

    async fn list_active_moves(&self, site_id: Uuid) -> Result<Vec<MoveRecord>, StoreError> {
        Ok(self.read().active_moves.range((site_id, Uuid::nil())..=(site_id, Uuid::max())).map(|(_, m)| m.clone()).collect())
    }

    async fn list_moves(&self, site_id: Uuid, request: PageRequest) -> Result<Page<MoveRecord>, StoreError> {
        page(
            &self.read().moves,
            Bound::Included((site_id, Reverse(i64::MAX), Uuid::nil())),
            Bound::Included((site_id, Reverse(i64::MIN), Uuid::max())),
            &request,
            |c| {
                let (micros, id) = c.split_once('_')?;
                Some((site_id, Reverse(micros.parse().ok()?), Uuid::parse_str(id).ok()?))
            },
            |(_, Reverse(micros), id)| format!("{micros}_{id}"),
        )
    }
}

#[async_trait]
impl BalancePlanStore for EmbeddedStore {
    async fn replace_plan(&self, site: &str, created_at: chrono::DateTime<chrono::Utc>, entries: &[PlanEntry]) -> Result<(), StoreError> {
        self.write().plans.insert(site.to_string(), (created_at, entries.len() as u64, entries.iter().cloned().collect()));
        Ok(())
    }

    async fn take_entries(&self, site: &str, count: usize) -> Result<Vec<PlanEntry>, StoreError> {
        let mut tables = self.write();
        Ok(match tables.plans.get_mut(site) {
            Some((_, _, entries)) => {
                let n = count.min(entries.len());
                entries.drain(..n).collect()
            }
            None => Vec::new(),
        })
    }

    async fn plan_summary(&self, site: &str) -> Result<Option<PlanSummary>, StoreError> {
        Ok(self.read().plans.get(site).map(|(created_at, total, entries)| PlanSummary {
            created_at: *created_at,
            total: *total,
            remaining: entries.len() as u64,
        }))
    }
}
