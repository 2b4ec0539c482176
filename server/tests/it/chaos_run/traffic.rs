//! Operators at work during a fault run: through the API of either server, they change backends'
//! load factors and start group moves. Every answer is tallied; a 5xx while the GeoDB was in
//! reach is a broken invariant.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use domain::Role;
use palomar_core::{ports::Ports, services::Caller};
use palomar_server::adapters::{cassandra::CassandraStore, embedded::EmbeddedStore, NoMetrics};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use tokio::{task::JoinHandle, time::Instant};

use crate::common;

use super::stack::SITE;

/// An admin and its API token, made in the run's keyspace.
pub async fn admin_token(store: Arc<CassandraStore>) -> String {
    let ports = Ports {
        operators: store.clone(),
        audit: store.clone(),
        ..common::embedded_ports(Arc::new(EmbeddedStore::new()), Arc::new(NoMetrics))
    };
    let services = common::services_with(ports);
    let cli = Caller::trusted_cli();
    services
        .operator_admin(&cli)
        .expect("the CLI")
        .add("chaos", Role::Admin, "chaos run password")
        .await
        .expect("an admin");
    services
        .api_tokens(&cli)
        .expect("the CLI")
        .create(Some("chaos"), Role::Admin, "chaos", None)
        .await
        .expect("a token")
        .secret
}

/// When the GeoDB was out of reach: intervals, the last one open while a fault holds.
#[derive(Default)]
pub struct Outages {
    spans: Vec<(Instant, Option<Instant>)>,
}

impl Outages {
    pub fn begin(&mut self) {
        self.spans.push((Instant::now(), None));
    }

    pub fn end(&mut self) {
        if let Some(span) = self.spans.last_mut() {
            span.1.get_or_insert_with(Instant::now);
        }
    }

    /// Whether a call in flight from `sent` to `answered` overlaps an outage or the `grace` after
    /// one (connections come back). A call sent a moment before a fault begins can still be
    /// caught by it: a write the paused node times out once it resumes.
    pub fn overlap(&self, sent: Instant, answered: Instant, grace: Duration) -> bool {
        self.spans.iter().any(|(from, to)| answered >= *from && to.is_none_or(|to| sent <= to + grace))
    }
}

/// What the operators saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub calls: u64,
    pub accepted: u64,
    /// Refusals a caller must expect: 404, 409, 412, 422, 429.
    pub refused: u64,
    /// 5xx while the GeoDB was out of reach (503 is the right answer then).
    pub unavailable: u64,
    /// No answer: the server was stopped or killed.
    pub no_answer: u64,
    /// 5xx while the GeoDB was in reach, and answers no caller should get (400, 401, 403):
    /// each a broken invariant.
    pub server_errors: Vec<String>,
}

impl Tally {
    fn count(&mut self, status: Option<u16>, geodb_out: bool, describe: impl FnOnce() -> String) {
        self.calls += 1;
        match status {
            None => self.no_answer += 1,
            Some(s) if s < 300 => self.accepted += 1,
            Some(404 | 409 | 412 | 422 | 429) => self.refused += 1,
            Some(s) if s >= 500 && geodb_out => self.unavailable += 1,
            Some(_) => self.server_errors.push(describe()),
        }
    }
}

pub struct Traffic {
    pub tally: Arc<Mutex<Tally>>,
    task: JoinHandle<()>,
}

impl Traffic {
    pub fn start(
        urls: Vec<String>,
        token: String,
        hosts: Vec<String>,
        groups: Vec<String>,
        outages: Arc<Mutex<Outages>>,
        seed: u64,
    ) -> Self {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let shared = tally.clone();
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("a client");
            let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
            loop {
                let url = &urls[rng.gen_range(0..urls.len())];
                let (method, path, body) = if rng.gen_bool(0.6) {
                    let host = &hosts[rng.gen_range(0..hosts.len())];
                    let body = json!({ "load_factor": rng.gen_range(20..=100) });
                    (reqwest::Method::PATCH, format!("/api/v1/sites/{SITE}/backends/{host}"), body)
                } else {
                    let group = &groups[rng.gen_range(0..groups.len())];
                    let body = json!({ "backend": hosts[rng.gen_range(0..hosts.len())] });
                    (reqwest::Method::POST, format!("/api/v1/sites/{SITE}/groups/{group}/move"), body)
                };
                let sent = Instant::now();
                let answer =
                    client.request(method.clone(), format!("{url}{path}")).bearer_auth(&token).json(&body).send().await;
                let status = answer.as_ref().map(|a| a.status().as_u16()).ok();
                let detail = match answer {
                    Ok(a) => a.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                let geodb_out = outages.lock().expect("outages").overlap(sent, Instant::now(), Duration::from_secs(15));
                shared.lock().expect("tally").count(status, geodb_out, || {
                    let detail: String = detail.chars().take(300).collect();
                    format!("{method} {url}{path}: {} {detail}", status.unwrap_or_default())
                });
                tokio::time::sleep(Duration::from_millis(rng.gen_range(100..400))).await;
            }
        });
        Traffic { tally, task }
    }

    pub fn stop(self) -> Tally {
        self.task.abort();
        let tally = self.tally.lock().expect("tally").clone();
        tally
    }
}

#[test]
fn a_call_sent_just_before_an_outage_and_answered_in_it_overlaps_it() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let outages = Outages { spans: vec![(t0 + secs(10), Some(t0 + secs(13)))] };
    let grace = secs(15);
    assert!(outages.overlap(t0 + secs(9), t0 + secs(12), grace), "in flight when it began");
    assert!(outages.overlap(t0 + secs(20), t0 + secs(21), grace), "in the grace after");
    assert!(!outages.overlap(t0 + secs(1), t0 + secs(2), grace), "before it");
    assert!(!outages.overlap(t0 + secs(40), t0 + secs(41), grace), "long after it");
}
