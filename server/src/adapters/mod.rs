//! Adapters: the ports' implementations. `cassandra` and `redis_sessions` are the real ones;
//! `embedded` is the small in-process store that runs the demo and the fast tests.

pub mod cassandra;
pub mod embedded;
pub mod redis_sessions;
