//! Login throttling that protects an account without handing it to a stranger. Failed logins
//! slow further tries down with exponential backoff, counted by four keys:
//! - the username at one client address: a guesser is slowed down at once, and only there;
//! - the client address, across usernames: one address cannot try many accounts;
//! - the username from anywhere, for browsers not known to be the account holder's: guesses
//!   spread over many addresses are slowed down too;
//! - a known browser (a device cookie, signed by the server, issued to a browser at a
//!   successful login of that account): it is exempt from the previous key, so a stranger's
//!   guesses never lock the account holder out of a browser they used before, and it has a
//!   count of its own, so a stolen cookie buys few guesses.
//!
//! Kept in this process's memory (per server instance): an attacker spreading tries over
//! instances gains at most their number as a factor.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    sync::Mutex,
    time::{Duration, Instant},
};

/// How failures turn into waiting times.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed for a username at one address, or from one known browser, before the
    /// first wait.
    pub free_per_user: u32,
    /// Failures allowed per client address before the first wait (several operators may share
    /// one address behind NAT, so more than per user).
    pub free_per_address: u32,
    /// Failures allowed for a username from browsers not known to be its holder's, over all
    /// addresses, before they wait.
    pub free_per_user_from_strangers: u32,
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
            free_per_user_from_strangers: 20,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(30 * 60),
            max_entries: 10_000,
        }
    }
}

/// A browser that proved, with a device cookie the server signed, that it logged in as
/// `username` before. Only the web layer makes one, after checking the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// The account it logged in as (as typed then, compared case-folded).
    pub username: String,
    /// The cookie's own random id: its failures are counted apart.
    pub id: String,
}

/// Device cookies, as the login reads and issues them: the web layer signs and checks them,
/// holding the key, so that no other code can make a [`KnownDevice`] out of a cookie.
pub trait DeviceCookies: Send + Sync {
    /// The known browser a request's `Cookie` header proves, if a device cookie in it carries
    /// the server's signature.
    fn known_device(&self, cookie_header: &str) -> Option<KnownDevice>;
    /// The `Set-Cookie` value that makes this browser a known device of `username`.
    fn issue(&self, username: &str) -> String;
}

/// One login attempt, as the throttle counts it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub username: &'a str,
    /// The client's address; `None` when unknown (all unknown clients share one count).
    pub address: Option<IpAddr>,
    /// The browser's device cookie, whoever it was issued to.
    pub device: Option<&'a KnownDevice>,
}

impl Attempt<'_> {
    /// The device cookie, if it was issued for this attempt's account.
    fn own_device(&self) -> Option<&KnownDevice> {
        self.device.filter(|d| user_key(&d.username) == user_key(self.username))
    }

    fn address_key(&self) -> IpAddr {
        self.address.map(address_key).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
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
    user_at_address: HashMap<(String, IpAddr), Entry>,
    addresses: HashMap<IpAddr, Entry>,
    user_from_strangers: HashMap<String, Entry>,
    devices: HashMap<String, Entry>,
}

/// The failed logins of the last while, by the keys above.
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

    /// How long this attempt must wait before it may be tried, if it must.
    pub fn wait(&self, attempt: &Attempt<'_>, now: Instant) -> Option<Duration> {
        let tables = self.lock();
        let user = user_key(attempt.username);
        let address = attempt.address_key();
        let waits = [
            tables.user_at_address.get(&(user.clone(), address)),
            attempt.address.and_then(|_| tables.addresses.get(&address)),
            match attempt.own_device() {
                Some(device) => tables.devices.get(&device.id),
                None => tables.user_from_strangers.get(&user),
            },
        ];
        waits.into_iter().flatten().filter_map(|e| remaining(e, now)).max()
    }

    /// Counts a failed attempt against each of its keys.
    pub fn failed(&self, attempt: &Attempt<'_>, now: Instant) {
        let policy = self.policy;
        let user = user_key(attempt.username);
        let address = attempt.address_key();
        let mut tables = self.lock();
        record(&mut tables.user_at_address, (user.clone(), address), policy.free_per_user, &policy, now);
        if attempt.address.is_some() {
            record(&mut tables.addresses, address, policy.free_per_address, &policy, now);
        }
        match attempt.own_device() {
            Some(device) => record(&mut tables.devices, device.id.clone(), policy.free_per_user, &policy, now),
            None => record(&mut tables.user_from_strangers, user, policy.free_per_user_from_strangers, &policy, now),
        }
    }

    /// A successful login clears the count of its username at its address and of its browser;
    /// not the address's (one good account must not buy an address more guesses at others),
    /// nor the strangers' count of the account (the holder's success says nothing of them).
    pub fn succeeded(&self, attempt: &Attempt<'_>) {
        let mut tables = self.lock();
        tables.user_at_address.remove(&(user_key(attempt.username), attempt.address_key()));
        if let Some(device) = attempt.own_device() {
            tables.devices.remove(&device.id);
        }
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
        ThrottlePolicy {
            free_per_user: 3,
            free_per_address: 5,
            free_per_user_from_strangers: 6,
            max_entries: 4,
            ..ThrottlePolicy::default()
        }
    }

    fn from<'a>(username: &'a str, address: &str, device: Option<&'a KnownDevice>) -> Attempt<'a> {
        Attempt { username, address: Some(address.parse().expect("an address")), device }
    }

    #[test]
    fn waits_double_after_the_free_failures_and_are_capped() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let alice = from("alice", "192.0.2.1", None);
        for _ in 0..2 {
            throttle.failed(&alice, now);
            assert_eq!(throttle.wait(&alice, now), None);
        }
        throttle.failed(&from("Alice", "192.0.2.1", None), now);
        assert_eq!(throttle.wait(&alice, now), Some(Duration::from_secs(1)), "case-folded");
        throttle.failed(&alice, now);
        assert_eq!(throttle.wait(&alice, now), Some(Duration::from_secs(2)));
        for _ in 0..40 {
            throttle.failed(&alice, now);
        }
        assert_eq!(throttle.wait(&alice, now), Some(Duration::from_secs(15 * 60)), "capped");
        let later = now + Duration::from_secs(15 * 60 + 1);
        assert_eq!(throttle.wait(&alice, later), None, "a lockout ends");
    }

    #[test]
    fn the_address_is_throttled_across_usernames() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        for i in 0..5 {
            throttle.failed(&from(&format!("user{i}"), "192.0.2.1", None), now);
        }
        assert!(throttle.wait(&from("someone-else", "192.0.2.1", None), now).is_some());
        assert_eq!(throttle.wait(&from("someone-else", "192.0.2.2", None), now), None);
        for i in 0..5 {
            throttle.failed(&from(&format!("v6-{i}"), &format!("2001:db8::{i}"), None), now);
        }
        assert!(throttle.wait(&from("x", "2001:db8::ffff", None), now).is_some(), "one /64");
        assert_eq!(throttle.wait(&from("x", "2001:db8:0:1::1", None), now), None);
    }

    #[test]
    fn a_strangers_guesses_leave_the_holders_known_browser_alone() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let cookie = KnownDevice { username: "Admin".into(), id: "d1".into() };
        // From one address: the stranger waits there, the account holder anywhere else does not.
        for _ in 0..100 {
            let guess = from("admin", "203.0.113.9", None);
            if throttle.wait(&guess, now).is_none() {
                throttle.failed(&guess, now);
            }
        }
        assert!(throttle.wait(&from("admin", "203.0.113.9", None), now).is_some(), "the stranger waits");
        assert_eq!(throttle.wait(&from("admin", "198.51.100.1", None), now), None, "elsewhere, nobody does");
        // From many addresses: strangers wait for the account everywhere; its known browser does not.
        for i in 0..20 {
            let address = format!("203.0.113.{}", 10 + i);
            for _ in 0..5 {
                let guess = from("admin", &address, None);
                if throttle.wait(&guess, now).is_none() {
                    throttle.failed(&guess, now);
                }
            }
        }
        assert!(throttle.wait(&from("admin", "198.51.100.2", None), now).is_some(), "a new address waits");
        assert_eq!(throttle.wait(&from("admin", "198.51.100.2", Some(&cookie)), now), None, "the known browser");
        // Another account's cookie is no pass for this one.
        let other = KnownDevice { username: "viewer".into(), id: "d2".into() };
        assert!(throttle.wait(&from("admin", "198.51.100.2", Some(&other)), now).is_some());
    }

    #[test]
    fn a_known_browser_has_a_count_of_its_own() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let cookie = KnownDevice { username: "admin".into(), id: "d1".into() };
        for i in 0..3 {
            throttle.failed(&from("admin", &format!("198.51.100.{i}"), Some(&cookie)), now);
        }
        assert!(throttle.wait(&from("admin", "198.51.100.9", Some(&cookie)), now).is_some(), "a stolen cookie");
        assert_eq!(throttle.wait(&from("admin", "198.51.100.9", None), now), None, "strangers' count untouched");
    }

    #[test]
    fn success_clears_the_user_at_its_address_and_memory_is_bounded() {
        let throttle = LoginThrottle::new(policy());
        let now = Instant::now();
        let bob = Attempt { username: "bob", address: None, device: None };
        for _ in 0..3 {
            throttle.failed(&bob, now);
        }
        assert!(throttle.wait(&bob, now).is_some(), "unknown addresses share one count");
        throttle.succeeded(&bob);
        assert_eq!(throttle.wait(&bob, now), None);
        for i in 0..100 {
            throttle.failed(
                &Attempt { username: &format!("u{i}"), address: Some(IpAddr::from([10, 0, 0, i as u8])), device: None },
                now,
            );
        }
        let tables = throttle.lock();
        assert!(
            tables.user_at_address.len() <= 4 && tables.addresses.len() <= 4 && tables.user_from_strangers.len() <= 4
        );
    }
}
