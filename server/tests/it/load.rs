//! A bounded load test against a running server (scripts/test.sh runs it on `palomar serve` on
//! Cassandra and Redis while the controller leads): 32 clients, each with its own session, browse
//! the pages and post read and harmless write server functions for 30 s. Any 5xx fails it; it
//! prints one summary line with the count, rate, p50 and p99.
//!
//! Skipped unless `PALOMAR_LOAD_URL` (e.g. `http://127.0.0.1:3300`, only 127.0.0.1) and
//! `PALOMAR_LOAD_ACCOUNTS` (`name,name,…:password`, one password for all) are
//! set; client i logs in as account i mod their number. Operators (and admins) also make the
//! harmless writes. `PALOMAR_LOAD_CLIENTS` and `PALOMAR_LOAD_SECS` change the 32 clients and 30 s.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{header, redirect::Policy, Client, StatusCode};
use serde_json::Value;

struct Settings {
    base: String,
    accounts: Vec<String>,
    password: String,
    clients: usize,
    duration: Duration,
}

fn settings() -> Settings {
    let base =
        std::env::var("PALOMAR_LOAD_URL").expect("PALOMAR_LOAD_URL: the server under load (scripts/test.sh sets it)");
    let base = base.trim_end_matches('/').to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "the load test only talks to 127.0.0.1, not {base}");
    let accounts = std::env::var("PALOMAR_LOAD_ACCOUNTS").expect("PALOMAR_LOAD_ACCOUNTS: name,name,…:password");
    let (names, password) = accounts.split_once(':').expect("PALOMAR_LOAD_ACCOUNTS: name,name,…:password");
    let number =
        |name: &str, default: u64| std::env::var(name).ok().map(|v| v.parse::<u64>().expect(name)).unwrap_or(default);
    Settings {
        base,
        accounts: names.split(',').map(str::to_string).collect(),
        password: password.to_string(),
        clients: number("PALOMAR_LOAD_CLIENTS", 32) as usize,
        duration: Duration::from_secs(number("PALOMAR_LOAD_SECS", 30)),
    }
}

/// What every client reports: latencies in µs, and the answers by kind.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    /// 4xx answers by status and function or page (ids left out).
    client_errors: std::collections::BTreeMap<String, u64>,
    server_errors: Vec<String>,
    transport_errors: Vec<String>,
}

/// One client's session.
struct Session {
    http: Client,
    base: String,
    cookie: String,
    operator: bool,
}

impl Session {
    /// Logs in once (a throttled login is retried after its Retry-After, a few times).
    async fn login(settings: &Settings, index: usize) -> Session {
        let http = Client::builder()
            .redirect(Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        let account = &settings.accounts[index % settings.accounts.len()];
        let form = [("username", account.as_str()), ("password", settings.password.as_str()), ("next", "/")];
        for _ in 0..10 {
            let response = http
                .post(format!("{}/api/auth/login", settings.base))
                .header(header::ORIGIN, &settings.base)
                .header(header::ACCEPT, "application/json")
                .form(&form)
                .send()
                .await
                .expect("login answers");
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                let wait = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait.clamp(1, 10))).await;
                continue;
            }
            assert!(response.status().is_success(), "login of {account}: {}", response.status());
            let cookie = response
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("palomar_session="))
                .and_then(|v| v.split(';').next())
                .expect("a session cookie")
                .to_string();
            let mut session = Session { http, base: settings.base.clone(), cookie, operator: false };
            let me = session.post("auth/current_operator", &[], &Mutex::default()).await.expect("who am I");
            session.operator = me["role"] != "viewer";
            return session;
        }
        panic!("login of {account} stayed throttled");
    }

    async fn get(&self, path: &str, tally: &Mutex<Tally>) {
        let request = self.http.get(format!("{}{path}", self.base)).header(header::COOKIE, &self.cookie);
        self.send(format!("GET {path}"), request, tally).await;
    }

    async fn post(&self, function: &str, form: &[(&str, &str)], tally: &Mutex<Tally>) -> Option<Value> {
        let request = self
            .http
            .post(format!("{}/api/{function}", self.base))
            .header(header::COOKIE, &self.cookie)
            .header(header::ORIGIN, &self.base)
            .header(header::ACCEPT, "application/json")
            .form(form);
        let body = self.send(format!("POST /api/{function}"), request, tally).await?;
        serde_json::from_str(&body).ok()
    }

    /// Sends, times and tallies one request; returns the body of a 2xx answer.
    async fn send(&self, what: String, request: reqwest::RequestBuilder, tally: &Mutex<Tally>) -> Option<String> {
        let began = Instant::now();
        let result = request.send().await;
        let result = match result {
            Ok(response) => {
                let status = response.status();
                response.text().await.map(|body| (status, body))
            }
            Err(err) => Err(err),
        };
        let micros = began.elapsed().as_micros() as u64;
        let mut tally = tally.lock().expect("tally");
        tally.latencies_us.push(micros);
        match result {
            Ok((status, body)) if status.is_server_error() => {
                let mut body = body;
                body.truncate(200);
                tally.server_errors.push(format!("{what}: {status} {body}"));
                None
            }
            Ok((status, _)) if status.is_client_error() => {
                let mut kind: String = what.split(['?']).next().unwrap_or_default().to_string();
                if let Some(site) = kind.find("/sites/") {
                    kind.truncate(site + "/sites/".len());
                }
                *tally.client_errors.entry(format!("{} {kind}", status.as_u16())).or_default() += 1;
                None
            }
            Ok((_, body)) => Some(body),
            Err(err) => {
                tally.transport_errors.push(format!("{what}: {err}"));
                None
            }
        }
    }
}

/// What the clients browse: the site, a group and the feature states, read once.
struct Targets {
    site: String,
    groups: Vec<String>,
    features: Vec<(String, String)>,
}

async fn targets(session: &Session, tally: &Mutex<Tally>) -> Targets {
    let sites = session.post("sites/list", &[], tally).await.expect("sites/list answers");
    // The simulated site (the browser tests add others, without groups).
    let items = sites["items"].as_array().expect("site rows");
    let row = items.iter().find(|row| row["site"]["name"] == "dc1a").or(items.first()).expect("a site");
    let site = row["site"]["id"].as_str().expect("a site id").to_string();
    let groups = session
        .post("groups/list", &[("site_id", &site), ("backend", ""), ("mask", ""), ("moving", "")], tally)
        .await
        .expect("groups/list answers");
    let groups = groups["rows"]
        .as_array()
        .expect("group rows")
        .iter()
        .filter_map(|row| row["group"]["name"].as_str().map(str::to_string))
        .collect();
    let features = session.post("settings/features", &[("site_id", &site)], tally).await.expect("features answer");
    let features = features
        .as_array()
        .expect("feature states")
        .iter()
        .filter_map(|mode| Some((mode["feature"].as_str()?.to_string(), mode["stored"].as_str()?.to_lowercase())))
        .collect::<Vec<_>>();
    assert!(!features.is_empty(), "settings/features names the features");
    Targets { site, groups, features }
}

async fn client(session: Session, targets: Arc<Targets>, index: usize, until: Instant, tally: Arc<Mutex<Tally>>) {
    let site = targets.site.as_str();
    let mut round = index;
    while Instant::now() < until {
        round += 1;
        let group = &targets.groups[round % targets.groups.len().max(1)];
        let pages = [
            "/".to_string(),
            "/sites".to_string(),
            format!("/sites/{site}/backends"),
            format!("/sites/{site}/groups"),
            format!("/sites/{site}/groups/{group}"),
            format!("/sites/{site}/moves"),
            format!("/sites/{site}/decisions"),
            format!("/sites/{site}/features"),
            "/controller".to_string(),
            // A user of the sample cluster (scripts/test.sh seeds 1000).
            format!("/users?username=user{:07}%40example.net", round % 1000),
            "/tags".to_string(),
            "/reachability".to_string(),
        ];
        session.get(&pages[round % pages.len()], &tally).await;
        match round % 6 {
            0 => drop(session.post("sites/list", &[], &tally).await),
            1 => drop(
                session
                    .post(
                        "groups/list",
                        &[("site_id", site), ("backend", ""), ("mask", "default-*"), ("moving", "")],
                        &tally,
                    )
                    .await,
            ),
            2 => drop(session.post("backends/list", &[("site_id", site)], &tally).await),
            3 => drop(session.post("controller/moves", &[("site_id", site)], &tally).await),
            4 => drop(session.post("controller/status", &[], &tally).await),
            _ if session.operator => {
                // Harmless writes: a feature set to the state it is in, and a group's sticky
                // flags set to what they are.
                if round % 12 == 5 {
                    let (feature, state) = &targets.features[round % targets.features.len().max(1)];
                    let form = [("site_id", site), ("feature", feature.as_str()), ("state", state.as_str())];
                    drop(session.post("settings/set_feature", &form, &tally).await);
                } else if let Some(detail) =
                    session.post("groups/get", &[("site_id", site), ("name", group.as_str())], &tally).await
                {
                    let on = |name: &str| detail["row"]["group"][name] == Value::Bool(true);
                    let flag = |name: &str| if on(name) { "on" } else { "" };
                    let shown = |name: &str| if on(name) { "yes" } else { "no" };
                    let form = [
                        ("site_id", site),
                        ("name", group.as_str()),
                        ("shown_sticky_users", shown("sticky_users")),
                        ("shown_sticky_backend", shown("sticky_backend")),
                        ("sticky_users", flag("sticky_users")),
                        ("sticky_backend", flag("sticky_backend")),
                    ];
                    drop(session.post("groups/set_sticky", &form, &tally).await);
                }
            }
            _ => drop(session.post("tags/list", &[], &tally).await),
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a running server: scripts/test.sh's load stage runs it with --ignored"]
async fn thirty_two_clients_for_thirty_seconds() {
    let settings = settings();
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Logins one after another, each a fresh session (login throttling counts failures).
    let mut sessions = Vec::new();
    for index in 0..settings.clients {
        sessions.push(Session::login(&settings, index).await);
    }
    let targets = Arc::new(targets(&sessions[0], &tally).await);
    assert!(!targets.groups.is_empty(), "the site has groups");
    *tally.lock().expect("tally") = Tally::default();

    let began = Instant::now();
    let until = began + settings.duration;
    let mut tasks = Vec::new();
    for (index, session) in sessions.into_iter().enumerate() {
        tasks.push(tokio::spawn(client(session, targets.clone(), index, until, tally.clone())));
    }
    for task in tasks {
        task.await.expect("a client task");
    }
    let elapsed = began.elapsed().as_secs_f64();

    let mut tally = tally.lock().expect("tally");
    tally.latencies_us.sort_unstable();
    let count = tally.latencies_us.len();
    println!(
        "load: {} clients, {:.0} s: {count} requests ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, \
         {} 4xx {:?}, {} 5xx, {} transport errors",
        settings.clients,
        elapsed,
        count as f64 / elapsed,
        percentile(&tally.latencies_us, 50.0),
        percentile(&tally.latencies_us, 99.0),
        percentile(&tally.latencies_us, 100.0),
        tally.client_errors.values().sum::<u64>(),
        tally.client_errors,
        tally.server_errors.len(),
        tally.transport_errors.len(),
    );
    assert!(
        tally.server_errors.is_empty(),
        "5xx answers: {:?}",
        &tally.server_errors[..tally.server_errors.len().min(10)]
    );
    assert!(
        tally.transport_errors.is_empty(),
        "requests without an answer: {:?}",
        &tally.transport_errors[..tally.transport_errors.len().min(10)]
    );
    assert!(count > settings.clients, "the clients made requests");
}
