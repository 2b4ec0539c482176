//! One leader per site: the same checks on the embedded lease and on the Redis one.

mod common;

use std::time::Duration;

use app::ports::LeaderLease;
use palomar_server::adapters::{embedded::EmbeddedStore, redis_lease::RedisLease};

/// Two controllers contend for one site: exactly one leads, renewals keep the token, a new
/// holder gets a larger token, and an expired lease can be taken over.
async fn one_leader_with_fencing_tokens(lease: &dyn LeaderLease, site: &str) {
    let ttl = Duration::from_millis(400);
    let a = lease.acquire_or_renew(site, "controller-a", ttl).await.unwrap().expect("a leads");
    assert!(lease.acquire_or_renew(site, "controller-b", ttl).await.unwrap().is_none(), "b does not");
    let renewed = lease.acquire_or_renew(site, "controller-a", ttl).await.unwrap().expect("a renews");
    assert_eq!(renewed.token, a.token, "a renewal keeps the token");
    assert_eq!(lease.current(site).await.unwrap().map(|l| l.holder), Some("controller-a".into()));
    lease.release(site, "controller-b").await.unwrap();
    assert_eq!(lease.current(site).await.unwrap().map(|l| l.holder), Some("controller-a".into()), "only the holder releases");
    lease.release(site, "controller-a").await.unwrap();
    let b = lease.acquire_or_renew(site, "controller-b", ttl).await.unwrap().expect("b takes over");
    assert!(b.token > a.token, "a new holder gets a larger fencing token");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(lease.current(site).await.unwrap(), None, "expired");
    let a_again = lease.acquire_or_renew(site, "controller-a", ttl).await.unwrap().expect("a takes the expired lease");
    assert!(a_again.token > b.token);
    // Other sites are independent.
    assert!(lease.acquire_or_renew(&format!("{site}-other"), "controller-b", ttl).await.unwrap().is_some());
}

#[tokio::test]
async fn embedded_lease() {
    one_leader_with_fencing_tokens(&EmbeddedStore::new(), "dc1a").await;
}

#[tokio::test]
async fn redis_lease() {
    let Some(url) = common::redis_url() else { return };
    let lease = RedisLease::connect(&url).await.expect("redis");
    let site = format!("test-{}", std::process::id());
    one_leader_with_fencing_tokens(&lease, &site).await;
}
