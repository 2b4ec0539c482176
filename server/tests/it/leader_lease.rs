//! One leader per site: the same checks on the embedded lease and on the Redis one.

use crate::common;

use std::time::Duration;

use palomar_core::ports::LeaderLease;
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
    assert_eq!(
        lease.current(site).await.unwrap().map(|l| l.holder),
        Some("controller-a".into()),
        "only the holder releases"
    );
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
    // Redis restarted without its data (the broker keeps none): the count is gone, yet the next
    // holder's token is still larger than every earlier one.
    let before = lease.current(&site).await.unwrap().expect("a holder").token;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys = [format!("palomar:leader:{site}"), format!("palomar:leader:{site}:token")];
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut connection).await.unwrap();
    let after = lease.acquire_or_renew(&site, "c", std::time::Duration::from_secs(30)).await.unwrap();
    assert!(after.expect("a free lease").token > before, "a token after the data was lost is larger");
}

/// The group-balance plan store: replace, take from the front in order, summary.
async fn plans_are_taken_in_order(plans: &dyn palomar_core::ports::BalancePlanStore, site: &str) {
    use domain::moves::PlanEntry;
    let entry = |i: u32| PlanEntry {
        user: format!("u{i}"),
        from_group: "a".into(),
        to_group: "b".into(),
        backend_id: uuid::Uuid::nil(),
    };
    let t0 = chrono::DateTime::from_timestamp(1_795_860_000, 0).unwrap_or_default();
    assert_eq!(plans.plan_summary(site).await.unwrap(), None);
    plans.replace_plan(site, t0, &(0..5).map(entry).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(plans.take_entries(site, 2).await.unwrap(), vec![entry(0), entry(1)]);
    let summary = plans.plan_summary(site).await.unwrap().unwrap();
    assert_eq!((summary.created_at, summary.total, summary.remaining), (t0, 5, 3));
    plans.replace_plan(site, t0, &[entry(9)]).await.unwrap();
    assert_eq!(plans.take_entries(site, 10).await.unwrap(), vec![entry(9)], "a new plan replaces the old");
    assert!(plans.take_entries(site, 10).await.unwrap().is_empty());
    assert!(plans.take_entries(site, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn embedded_plans() {
    plans_are_taken_in_order(&EmbeddedStore::new(), "dc1a").await;
}

#[tokio::test]
async fn redis_plans() {
    let Some(url) = common::redis_url() else { return };
    let plans = palomar_server::adapters::redis_plans::RedisPlans::connect(&url).await.expect("redis");
    plans_are_taken_in_order(&plans, &format!("plans-{}", std::process::id())).await;
}
