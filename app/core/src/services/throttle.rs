//! Login throttling: failed logins slow down further tries, per username and per client
//! address, with exponential backoff. Kept in this process's memory (per server instance):
//! an attacker spreading tries over instances gains at most their number as a factor.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How failures turn into waiting times.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed per username before the first wait.
    pub free_per_user: u32,
    /// Failures allowed per client address before the first wait (several operators may share
    /// one address behind NAT, so more than per user).
    pub free_per_address: u32,
    /// The first wait; each further failure doubles it.
    pub base: Duration,
    /// The longest wait: a lockout always ends, so a real admin is never locked out for good.
    pub cap: Duration,
    /// After this long without a failure, a key's count starts again from zero.
    pub forget_after: Duration,
    /// At most this many keys are tracked per kind; the stalest give way to new ones.
    pub max_entries: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_per_user: 5,
            free_per_address: 20,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(30 * 60),
            max_entries: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

#[derive(Default)]
struct Tables {
    users: HashMap<String, Entry>,
    addresses: HashMap<IpAddr, Entry>,
}

/// The failed logins of the last while, by username and by client address.
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    tables: Mutex<Tables>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(ThrottlePolicy::default())
    }
}

impl LoginThrottle {
    /// A throttle with its own policy (tests use short waits).
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self { policy, tables: Mutex::new(Tables::default()) }
    }

    /// How long this login must wait before it may be tried, if it must.
    pub fn wait(&self, username: &str, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let tables = self.lock();
        let user = tables.users.get(&user_key(username)).and_then(|e| remaining(e, now));
        let addr = address.and_then(|a| tables.addresses.get(&address_key(a))).and_then(|e| remaining(e, now));
        user.into_iter().chain(addr).max()
    }

    /// Counts a failed login against the username and the address.
    pub fn failed(&self, username: &str, address: Option<IpAddr>, now: Instant) {
        let policy = self.policy;
        let mut tables = self.lock();
        record(&mut tables.users, user_key(username), policy.free_per_user, &policy, now);
        if let Some(address) = address {
            record(&mut tables.addresses, address_key(address), policy.free_per_address, &policy, now);
        }
    }

    /// A successful login clears its username's count (not the address's: one good account
    /// must not buy an address more guesses at others).
    pub fn succeeded(&self, username: &str) {
        self.lock().users.remove(&user_key(username));
    }

    /// A poisoned lock only means another thread panicked mid-update; the counts stay usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Usernames are compared as typed but case-folded and bounded, so that variants of one name
/// share a count and a huge name cannot take much memory.
fn user_key(username: &str) -> String {
    username.trim().chars().take(64).collect::<String>().to_lowercase()
}

/// An IPv6 client usually holds a whole /64, so that is what counts as one address; an
/// IPv4-mapped address counts as its IPv4 form.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !(u128::MAX >> 64)).into()),
        },
        v4 => v4,
    }
}

fn remaining(entry: &Entry, now: Instant) -> Option<Duration> {
    entry.blocked_until.checked_duration_since(now).filter(|d| !d.is_zero())
}

fn record<K: std::hash::Hash + Eq + Clone>(
    table: &mut HashMap<K, Entry>,
    key: K,
    free: u32,
    policy: &ThrottlePolicy,
    now: Instant,
) {
    if !table.contains_key(&key) && table.len() >= policy.max_entries {
        make_room(table, policy, now);
    }
    let entry = table.entry(key).or_insert(Entry { failures: 0, last_failure: now, blocked_until: now });
    if now.saturating_duration_since(entry.last_failure) > policy.forget_after {
        entry.failures = 0;
    }
    entry.failures = entry.failures.saturating_add(1);
    entry.last_failure = now;
    if entry.failures >= free {
        entry.blocked_until = now + backoff(entry.failures - free, policy);
    }
}

/// `base · 2^excess`, at most `cap`.
fn backoff(excess: u32, policy: &ThrottlePolicy) -> Duration {
    let factor = 1u32.checked_shl(excess.min(31)).unwrap_or(u32::MAX);
    policy.base.checked_mul(factor).unwrap_or(policy.cap).min(policy.cap)
}

/// Drops the forgotten entries; if the table is still full, the one whose last failure is
/// oldest. Linear, but only when full, and the table is bounded.
fn make_room<K: std::hash::Hash + Eq + Clone>(table: &mut HashMap<K, Entry>, policy: &ThrottlePolicy, now: Instant) {
    table.retain(|_, e| now.saturating_duration_since(e.last_failure) <= policy.forget_after);
    if table.len() >= policy.max_entries {
        if let Some(oldest) = table.iter().min_by_key(|(_, e)| e.last_failure).map(|(k, _)| k.clone()) {
            table.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy { free_per_user: 3, free_per_address: 5, max_entries: 4, ..ThrottlePolicy::default() }
    }

    #[test]
    fn waits_double_after_the_free_failures_and_are_capped() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..2 {
            throttle.failed("alice", Some(ip), now);
            assert_eq!(throttle.wait("alice", Some(ip), now), None);
        }
        throttle.failed("Alice", Some(ip), now);
        assert_eq!(throttle.wait("alice", None, now), Some(Duration::from_secs(1)), "case-folded");
        throttle.failed("alice", Some(ip), now);
        assert_eq!(throttle.wait("alice", None, now), Some(Duration::from_secs(2)));
        for _ in 0..40 {
            throttle.failed("alice", Some(ip), now);
        }
        assert_eq!(throttle.wait("alice", None, now), Some(Duration::from_secs(15 * 60)), "capped");
        let later = now + Duration::from_secs(15 * 60 + 1);
        assert_eq!(throttle.wait("alice", Some(ip), later), None, "a lockout ends");
    }

    #[test]
    fn the_address_is_throttled_across_usernames() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..5 {
            throttle.failed(&format!("user{i}"), Some(ip), now);
        }
        assert!(throttle.wait("someone-else", Some(ip), now).is_some());
        assert_eq!(throttle.wait("someone-else", Some("192.0.2.2".parse().unwrap()), now), None);
        for i in 0..5 {
            throttle.failed(&format!("v6-{i}"), Some(format!("2001:db8::{i}").parse().unwrap()), now);
        }
        assert!(throttle.wait("x", Some("2001:db8::ffff".parse().unwrap()), now).is_some(), "one /64");
        assert_eq!(throttle.wait("x", Some("2001:db8:0:1::1".parse().unwrap()), now), None);
    }

    #[test]
    fn success_clears_the_username_and_memory_is_bounded() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        for _ in 0..3 {
            throttle.failed("bob", None, now);
        }
        throttle.succeeded("bob");
        assert_eq!(throttle.wait("bob", None, now), None);
        for i in 0..100 {
            throttle.failed(&format!("u{i}"), Some(IpAddr::from([10, 0, 0, i as u8])), now);
        }
        let tables = throttle.lock();
        assert!(tables.users.len() <= 4 && tables.addresses.len() <= 4);
    }
}
