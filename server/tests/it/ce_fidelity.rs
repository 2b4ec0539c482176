//! The simulator against the real thing, on both CE lines: the same generic doveadm HTTP
//! requests go, over a bare socket, to a real Dovecot CE (2.3.19, and 2.4 in its trixie root)
//! and to the simulator told to mimic that line, and their status lines, challenges, headers
//! and bodies must agree (a malformed body's `JSON parse error: …` by its shape, not its
//! wording); the same for the stats listener of a CE proxy and a simulated one. A few
//! deliberate differences are recorded answer by answer, with the line each was seen on
//! (`known_differences` in cases.rs), so that the test fails when either side changes. Needs
//! `PALOMAR_TEST_DOVECOT` and `PALOMAR_TEST_DOVECOT24_ROOT` (scripts/test.sh sets both) and
//! root; without them the tests say so and pass. docs/simulator.md lists what is compared and
//! each deliberate difference.

use crate::common;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::Utc;
use common::{
    dovecot::{self, CeInstance, Line},
    raw_http::{exchange, request, RawResponse},
};
use domain::doveadm::DovecotLine;
use palomar_core::ports::ManualClock;
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{
    doveadm_api::DoveadmCredentials,
    servers::{start, RunningSimulator, ServeOptions},
    Faults, SimSettings, Simulator,
};
use serde_json::Value;

#[path = "ce_fidelity/cases.rs"]
mod cases;
use cases::{auth_cases, protocol_cases, stats_cases, BodyCheck, Case, NO_ANSWER, PARSE_ERROR};

const PASSWORD: &str = "secret";
const API_KEY: &str = "apikey";
const TIMEOUT: Duration = Duration::from_secs(2);

/// Which of `doveadm_password` and `doveadm_api_key` are configured.
#[derive(Clone, Copy, Debug)]
enum Mechanisms {
    Both,
    PasswordOnly,
    ApiKeyOnly,
    Neither,
}

impl Mechanisms {
    fn password(self) -> Option<&'static str> {
        matches!(self, Mechanisms::Both | Mechanisms::PasswordOnly).then_some(PASSWORD)
    }

    fn api_key(self) -> Option<&'static str> {
        matches!(self, Mechanisms::Both | Mechanisms::ApiKeyOnly).then_some(API_KEY)
    }
}

/// A simulator on a small embedded cluster, ticked by hand.
struct Sim {
    sim: Arc<Simulator>,
    clock: Arc<ManualClock>,
}

impl Sim {
    async fn new() -> Self {
        let store = Arc::new(EmbeddedStore::new());
        let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 10, users: 600 };
        seed_sample_cluster(store.clone(), size, 1).await.expect("seed");
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let settings = SimSettings {
            logins_per_second: 200.0,
            deliveries_per_second: 100.0,
            score_interval: Duration::from_secs(1),
            ..SimSettings::default()
        };
        let sim = Simulator::load(store, clock.clone(), settings, 7).await.expect("load the simulator");
        Sim { sim, clock }
    }

    /// The simulator's servers, with these credentials, mimicking `line`.
    async fn serve(&self, mechanisms: Mechanisms, line: &Line) -> RunningSimulator {
        let line = match line {
            Line::Ce23 { .. } => DovecotLine::Ce23,
            Line::Ce24 { .. } => DovecotLine::Ce24,
        };
        let credentials = DoveadmCredentials {
            password: mechanisms.password().map(String::from),
            api_key: mechanisms.api_key().map(String::from),
        };
        let options = ServeOptions {
            ip: [127, 0, 0, 1].into(),
            control: ([127, 0, 0, 1], 0).into(),
            credentials,
            line,
            tick: None,
        };
        start(self.sim.clone(), options).await.expect("start the simulator")
    }
}

/// What the fidelity contract covers of one answer.
#[derive(Debug, PartialEq)]
struct Normalized {
    /// `None`: the connection closed without an answer.
    status_line: Option<String>,
    /// Lower-cased; both servers send `Date` and, but for HEAD, `Content-Length`.
    header_names: BTreeSet<String>,
    /// Every challenge, in order.
    www_authenticate: Vec<String>,
    content_type: Option<String>,
    connection: Option<String>,
    access_control: Vec<(String, String)>,
    kept_open: bool,
    body: String,
}

fn normalize(response: &RawResponse, check: BodyCheck) -> Normalized {
    let access_control = response
        .headers
        .iter()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with("access-control-"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect();
    Normalized {
        status_line: response.status_line.clone(),
        header_names: response.headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect(),
        www_authenticate: response.header_values("www-authenticate"),
        content_type: response.header("content-type"),
        connection: response.header("connection"),
        access_control,
        kept_open: response.kept_open,
        body: match check {
            BodyCheck::Exact => response.text(),
            BodyCheck::Answer => answer_shape(&response.text()),
            BodyCheck::CommandList => command_list_shape(&response.text()),
            BodyCheck::ParseError => parse_error_shape(&response.text()),
            BodyCheck::Metrics => {
                let text = response.text();
                format!(
                    "starts with # HELP: {}, ends with # EOF: {}",
                    text.starts_with("# HELP"),
                    text.ends_with("# EOF\n")
                )
            }
        },
    }
}

/// `JSON parse error: <detail>` and a CRLF, the detail on one line, is [`PARSE_ERROR`];
/// anything else stays as it is.
fn parse_error_shape(body: &str) -> String {
    let detail = body.strip_prefix("JSON parse error: ").and_then(|rest| rest.strip_suffix("\r\n"));
    match detail {
        Some(detail) if !detail.is_empty() && !detail.contains(['\r', '\n']) => PARSE_ERROR.to_string(),
        _ => body.to_string(),
    }
}

/// A doveadm answer with its values normalized: kinds and tags kept, errors kept whole,
/// the rows of a `doveadmResponse` compared by their keys. Not JSON (CE's answer to several
/// commands can lack commas): the text itself.
fn answer_shape(body: &str) -> String {
    let Ok(Value::Array(answers)) = serde_json::from_str::<Value>(body) else { return body.to_string() };
    let shaped: Vec<String> = answers
        .iter()
        .map(|answer| match answer.as_array().map(Vec::as_slice) {
            Some([Value::String(kind), Value::Array(rows), tag]) if kind == "doveadmResponse" => {
                let keys: BTreeSet<Vec<&String>> =
                    rows.iter().filter_map(|row| row.as_object()).map(|row| row.keys().collect()).collect();
                format!("{kind} rows with keys {keys:?}, tag {tag}")
            }
            _ => answer.to_string(),
        })
        .collect();
    shaped.join("; ")
}

/// `GET /doveadm/v1`: CE lists its commands and the simulator Palomar's, so what must agree
/// is the layout (the text without its entries' contents), the keys and types of an entry, and
/// the parameters of `who`, which both serve.
fn command_list_shape(body: &str) -> String {
    let Ok(Value::Array(commands)) = serde_json::from_str::<Value>(body) else { return format!("not JSON: {body}") };
    let mut keys = BTreeSet::new();
    let mut types = BTreeSet::new();
    for command in &commands {
        keys.insert(command.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()));
        for param in command["parameters"].as_array().into_iter().flatten() {
            keys.insert(param.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()));
            types.insert(param["type"].as_str().unwrap_or("?").to_string());
        }
    }
    let who: Vec<String> = commands
        .iter()
        .find(|c| c["command"] == "who")
        .and_then(|c| c["parameters"].as_array())
        .into_iter()
        .flatten()
        .map(|p| format!("{}:{}", p["name"].as_str().unwrap_or("?"), p["type"].as_str().unwrap_or("?")))
        .collect();
    let layout = if body.starts_with("[\n\t{") { "a line per entry" } else { "compact" };
    let types_known = types.iter().all(|t| ["string", "boolean", "integer", "array"].contains(&t.as_str()));
    format!("{layout}; keys {keys:?}; types known: {types_known}; who: {}", who.join(" "))
}

/// Sends every case to both servers; the differences, one line each.
async fn compare(cases: &[Case], ce: SocketAddr, sim: SocketAddr, label: &str) -> Vec<String> {
    let mut differences = Vec::new();
    for case in cases {
        let (real, ours) = tokio::join!(exchange(ce, &case.request, TIMEOUT), exchange(sim, &case.request, TIMEOUT));
        let (real, ours) = (normalize(&real, case.body), normalize(&ours, case.body));
        match &case.known {
            None if real != ours => {
                differences.push(format!("[{label}] {}:\n  CE:  {real:?}\n  sim: {ours:?}", case.name))
            }
            Some(known) => {
                let seen = |n: &Normalized| (n.status_line.as_deref().unwrap_or(NO_ANSWER).to_string(), n.body.clone());
                let expected = |(status, body): &(&str, String)| (status.to_string(), body.clone());
                let (ce_seen, sim_seen) = (seen(&real), seen(&ours));
                if ce_seen != expected(&known.ce) || sim_seen != expected(&known.sim) {
                    differences.push(format!(
                        "[{label}] {} (a deliberate difference) changed:\n  CE:  {ce_seen:?}, recorded {:?}\n  sim: {sim_seen:?}, recorded {:?}",
                        case.name, known.ce, known.sim
                    ));
                }
            }
            None => {}
        }
    }
    differences
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doveadm_api_answers_like_ce() {
    let lines = dovecot::lines();
    let mut differences = Vec::new();
    for line in &lines {
        differences.extend(doveadm_differences(line).await);
    }
    assert!(differences.is_empty(), "{} difference(s) from CE:\n{}", differences.len(), differences.join("\n"));
}

/// Every doveadm case against one line, in each credentials configuration.
async fn doveadm_differences(line: &Line) -> Vec<String> {
    let began = Instant::now();
    let all = [Mechanisms::Both, Mechanisms::PasswordOnly, Mechanisms::ApiKeyOnly, Mechanisms::Neither];
    // All at once: a CE instance takes seconds to stop, so they stop together at the end.
    let instances: Vec<(Mechanisms, CeInstance)> = all
        .into_iter()
        .map(|m| (m, dovecot::start(line, &format!("{m:?}").to_ascii_lowercase(), m.password(), m.api_key())))
        .collect();
    let sim = Sim::new().await;
    let (mut differences, mut compared) = (Vec::new(), 0);
    for (mechanisms, ce) in &instances {
        let name = format!("{} {mechanisms:?}", line.name()).to_ascii_lowercase();
        let running = sim.serve(*mechanisms, line).await;
        let mut cases = auth_cases(PASSWORD, API_KEY);
        if matches!(mechanisms, Mechanisms::Both) {
            cases.extend(protocol_cases(PASSWORD, line.name()));
        }
        let found = compare(&cases, ce.doveadm, running.topology.backends[0].doveadm, &name).await;
        compared += cases.len();
        if !found.is_empty() {
            eprintln!("CE log ({name}):\n{}", ce.log());
        }
        differences.extend(found);
        if matches!(mechanisms, Mechanisms::Both) {
            mail_command_then_who(ce).await;
        }
    }
    eprintln!(
        "doveadm fidelity, CE {}: {compared} requests compared in {:.1} s",
        line.name(),
        began.elapsed().as_secs_f64()
    );
    std::thread::scope(|scope| {
        for instance in instances {
            scope.spawn(move || drop(instance));
        }
    });
    differences
}

/// Recorded, not compared (the simulator serves no mail commands): on 2.3 a mail command drops
/// the doveadm process's privileges to the mail user, the `who` after it cannot reach anvil,
/// the process dies and the client gets no answer at all (the captures' "no reply"); 2.4
/// answers both.
async fn mail_command_then_who(ce: &CeInstance) {
    let basic = format!("Basic {}", STANDARD.encode(format!("doveadm:{PASSWORD}")));
    let body = r#"[["mailboxList",{"user":"user1"},"t7"],["who",{},"t8"]]"#;
    let answer = exchange(ce.doveadm, &request("POST", "/doveadm/v1", Some(&basic), &[], Some(body)), TIMEOUT).await;
    if matches!(ce.line, Line::Ce23 { .. }) {
        assert_eq!(answer.status_line, None, "CE answered a mail command followed by who: {answer:?}\n{}", ce.log());
    } else {
        assert_eq!(
            answer_shape(&answer.text()),
            "doveadmResponse rows with keys {[\"mailbox\"]}, tag \"t7\"; doveadmResponse rows with keys {}, tag \"t8\"",
            "{}",
            ce.log()
        );
    }
    let alone = r#"[["mailboxList",{"user":"user1"},"t6"]]"#;
    let answer = exchange(ce.doveadm, &request("POST", "/doveadm/v1", Some(&basic), &[], Some(alone)), TIMEOUT).await;
    assert_eq!(answer_shape(&answer.text()), "doveadmResponse rows with keys {[\"mailbox\"]}, tag \"t6\"");
}

/// One `/metrics` text: family types, each family's series (name and label names), last line.
#[derive(Debug, Default)]
struct Exposition {
    families: BTreeMap<String, String>,
    series: BTreeMap<String, BTreeSet<(String, Vec<String>)>>,
    last_line: String,
}

fn parse_exposition(text: &str) -> Exposition {
    let mut exposition = Exposition::default();
    let mut family = String::new();
    for line in text.lines() {
        exposition.last_line = line.to_string();
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            family = name.to_string();
            exposition.families.insert(family.clone(), kind.to_string());
        } else if !line.starts_with('#') && !line.is_empty() {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let labels = line[name_end..]
                .strip_prefix('{')
                .and_then(|rest| rest.split_once('}'))
                .map(|(labels, _)| labels.split(',').filter_map(|l| l.split_once('=')).map(|(k, _)| k.to_string()))
                .map(Iterator::collect)
                .unwrap_or_default();
            exposition.series.entry(family.clone()).or_default().insert((line[..name_end].to_string(), labels));
        }
    }
    exposition
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_metrics_are_exposed_like_ces() {
    for line in dovecot::lines() {
        proxy_metrics_like(&line).await;
    }
}

async fn proxy_metrics_like(line: &Line) {
    let began = Instant::now();
    let ce = dovecot::start(line, "metrics", Some(PASSWORD), Some(API_KEY));
    // A login proxied to a live backend and one to a dead port: both labelled series appear.
    assert!(dovecot::imap_login(ce.imap, "pxok").await.starts_with("a OK"), "{}", ce.log());
    assert!(dovecot::imap_login(ce.imap, "pxdead").await.starts_with("a NO"), "{}", ce.log());
    let metrics = request("GET", "/metrics", None, &[], None);
    let deadline = Instant::now() + Duration::from_secs(10);
    let real = loop {
        let real = exchange(ce.stats, &metrics, TIMEOUT).await;
        let text = real.text();
        let counted = ["success", "failure"]
            .iter()
            .all(|kind| text.contains(&format!("dovecot_proxy_session_{kind}_total{{dest_host=")));
        if counted || Instant::now() > deadline {
            break real;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let sim = Sim::new().await;
    let running = sim.serve(Mechanisms::Both, line).await;
    let failing = running.topology.backends[0].host.clone();
    sim.sim
        .set_faults(&failing, Faults { login_fail_percent: 50.0, delivery_fail_percent: 50.0, ..Faults::default() })
        .expect("fault");
    for _ in 0..3 {
        sim.clock.advance(Duration::from_secs(1));
        sim.sim.tick(Duration::from_secs(1)).await.expect("tick");
    }
    let ours = exchange(running.topology.proxies[0].metrics, &metrics, TIMEOUT).await;

    assert_eq!(ours.status_line, real.status_line);
    assert_eq!(ours.header("content-type"), real.header("content-type"));
    let (real_text, our_text) = (real.text(), ours.text());
    let (real_x, our_x) = (parse_exposition(&real_text), parse_exposition(&our_text));
    assert!(real_text.ends_with("# EOF\n") && our_text.ends_with("# EOF\n"), "{real_text}\n{our_text}");
    assert_eq!((real_x.last_line.as_str(), our_x.last_line.as_str()), ("# EOF", "# EOF"));
    assert_eq!(our_x.families, real_x.families, "metric families and types");
    for metric in ["proxy_session_success", "proxy_session_failure"] {
        for family in [format!("dovecot_{metric}"), format!("dovecot_{metric}_duration_seconds")] {
            assert_eq!(our_x.series.get(&family), real_x.series.get(&family), "series of {family}\nCE:\n{real_text}");
        }
        let total = (format!("dovecot_{metric}_total"), vec!["dest_host".to_string()]);
        assert!(real_x.series[&format!("dovecot_{metric}")].contains(&total), "CE counted {metric}:\n{real_text}");
    }
    // No LMTP goes through the CE instance here (and CE 2.3.19's LMTP event has no dest_host at
    // all), so it only has the unlabelled aggregates; the per-backend series are the
    // simulator's, as Dovecot Pro and 2.4 have them (the seed groups them by dest_host).
    for metric in ["lmtp_rcpt_finished_success", "lmtp_rcpt_finished_failure"] {
        for (family, total) in [
            (format!("dovecot_{metric}"), format!("dovecot_{metric}_total")),
            (format!("dovecot_{metric}_duration_seconds"), format!("dovecot_{metric}_duration_seconds_total")),
        ] {
            let (real_series, our_series) = (&real_x.series[&family], &our_x.series[&family]);
            let extra: Vec<_> = our_series.difference(real_series).collect();
            assert!(real_series.is_subset(our_series), "{family}: CE has series we lack");
            assert_eq!(extra, [&(total, vec!["dest_host".to_string()])], "{family}: only the Pro series is ours");
        }
    }
    // The listener's other answers: its page, the paths and methods it refuses.
    let proxy = running.topology.proxies[0].metrics;
    let differences = compare(&stats_cases(), ce.stats, proxy, &format!("{} stats", line.name())).await;
    assert!(differences.is_empty(), "{} difference(s) from CE:\n{}", differences.len(), differences.join("\n"));
    eprintln!("metrics fidelity, CE {}: {:.1} s", line.name(), began.elapsed().as_secs_f64());
}
