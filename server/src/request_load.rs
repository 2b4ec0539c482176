//! The requests this server is answering, so that background reads can give way to them.
//!
//! The census reads every user; on a small site Cassandra shares the server's cores, and a
//! census at full speed then slows every page and route lookup. While requests come in, the
//! census reads fewer ranges at a time ([`RequestLoad::busy`]); it never stops.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{extract::Request, extract::State, middleware::Next, response::Response};

/// How long after the last request the server still counts as busy: requests that come one
/// after another (a client's next request, a page's assets) leave short gaps.
const QUIET_AFTER: Duration = Duration::from_millis(100);

/// Requests in flight and when the last one ended.
#[derive(Debug)]
pub struct RequestLoad {
    in_flight: AtomicUsize,
    /// Milliseconds from `started` to the end of the last request.
    last_ended_ms: AtomicU64,
    started: Instant,
}

impl Default for RequestLoad {
    fn default() -> Self {
        Self { in_flight: AtomicUsize::new(0), last_ended_ms: AtomicU64::new(0), started: Instant::now() }
    }
}

impl RequestLoad {
    /// True while a request is being answered or one ended within [`QUIET_AFTER`].
    pub fn busy(&self) -> bool {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return true;
        }
        let last = self.last_ended_ms.load(Ordering::Relaxed);
        last > 0 && self.now_ms().saturating_sub(last) < QUIET_AFTER.as_millis() as u64
    }

    /// Counts a request from now until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> Visit {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Visit(self.clone())
    }

    fn now_ms(&self) -> u64 {
        // At least 1: 0 means no request has ended yet.
        (self.started.elapsed().as_millis() as u64).max(1)
    }
}

/// One request being answered ([`RequestLoad::enter`]).
#[derive(Debug)]
pub struct Visit(Arc<RequestLoad>);

impl Drop for Visit {
    fn drop(&mut self) {
        let requests = &self.0;
        requests.last_ended_ms.store(requests.now_ms(), Ordering::Relaxed);
        requests.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Middleware: counts every request until its response is ready (a stream's body, sent
/// later, is not counted).
pub async fn count(State(requests): State<Arc<RequestLoad>>, request: Request, next: Next) -> Response {
    let _visit = requests.enter();
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_while_a_request_runs_and_for_a_moment_after() {
        let requests = Arc::new(RequestLoad::default());
        assert!(!requests.busy(), "no request yet");
        let visit = requests.enter();
        assert!(requests.busy());
        drop(visit);
        assert!(requests.busy(), "just ended");
        std::thread::sleep(QUIET_AFTER + Duration::from_millis(20));
        assert!(!requests.busy());
    }
}
