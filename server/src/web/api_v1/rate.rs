//! Requests per API token (`API_REQUESTS_PER_SECOND`): each token has a bucket that fills at
//! that rate and holds twice as much, so a script may burst; a request that finds it empty is
//! answered 429 with `Retry-After`, before it is audited or does anything. Kept per server
//! instance, like the login throttle.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use uuid::Uuid;

/// At most this many tokens are tracked; full buckets (idle tokens) give way first.
const MAX_TOKENS_TRACKED: usize = 10_000;

pub struct TokenRate {
    per_second: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl TokenRate {
    pub fn new(per_second: u32) -> Self {
        Self { per_second: f64::from(per_second.max(1)), buckets: Mutex::default() }
    }

    fn capacity(&self) -> f64 {
        2.0 * self.per_second
    }

    /// Takes one request from `token`'s bucket, or says how many seconds to wait.
    pub fn admit(&self, token: Uuid, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TOKENS_TRACKED && !buckets.contains_key(&token) {
            let refill = Duration::from_secs_f64(self.capacity() / self.per_second);
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < refill);
            if buckets.len() >= MAX_TOKENS_TRACKED {
                if let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(id, _)| *id) {
                    buckets.remove(&oldest);
                }
            }
        }
        let capacity = self.capacity();
        let bucket = buckets.entry(token).or_insert(Bucket { level: capacity, at: now });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.level = (bucket.level + refilled).min(capacity);
        bucket.at = now;
        if bucket.level >= 1.0 {
            bucket.level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.level) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_bursts_to_twice_its_rate_then_waits_and_others_are_apart() {
        let rate = TokenRate::new(5);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(rate.admit(a, now), Ok(()));
        }
        assert_eq!(rate.admit(a, now), Err(1), "the burst is spent");
        assert_eq!(rate.admit(b, now), Ok(()), "another token has its own bucket");
        let later = now + Duration::from_millis(400);
        assert_eq!(rate.admit(a, later), Ok(()), "two requests came back in 0.4 s");
        assert_eq!(rate.admit(a, later), Ok(()));
        assert!(rate.admit(a, later).is_err());
    }
}
