//! Load generator for the route API (`GET /api/route/v1?user=…&service=imap`), the lookup a
//! Dovecot CE proxy makes at every login. It keeps `--concurrency` lookups in flight (each
//! worker sends its next request when the previous answer arrived, as a proxy's auth workers
//! do), picks each user uniformly at random among the `--users` seeded names, and prints the
//! figures: requests, errors, throughput and latency percentiles. It asserts nothing and stops
//! by itself after `--duration` seconds or `--requests` lookups.
//!
//! ```text
//! ROUTE_API_TOKEN=… cargo run --release -p server --example route_bench -- \
//!     --url http://127.0.0.1:3400 --concurrency 32 --warmup 5 --duration 30
//! ```
//!
//! The token is read from `ROUTE_API_TOKEN` (not an argument, so that it stays out of `ps`).
//! Only loopback URLs are accepted: this is a benchmark of a local server, not a load test
//! to point at a production controller. Latencies are measured from sending the request to
//! reading the whole body; percentiles are nearest-rank over the 200 answers only.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use rand::{rngs::StdRng, Rng, SeedableRng};

#[derive(Debug, Parser)]
#[command(about = "Times route API lookups at a fixed concurrency")]
struct Args {
    /// The server's base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Lookups in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of timed lookups (ignored when --requests is given).
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Timed lookups in all, instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Seconds of untimed lookups first (connections, caches, JIT of the GeoDB).
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// User names: `{}` or `{:0N}` stands for a number in 0..users (as `palomar simulate seed`
    /// names them).
    #[arg(long, default_value = "user{:07}@example.net")]
    pattern: String,
    /// How many users the numbers are drawn from, uniformly.
    #[arg(long, default_value_t = 1_000_000)]
    users: u64,
    /// The `service` parameter.
    #[arg(long, default_value = "imap")]
    service: String,
    /// Client runtime threads. 1 keeps the generator on one core, which matters when it shares
    /// a small machine with the server and the GeoDB.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// `NAME=PID`: also report the CPU time process PID (the server, the GeoDB) spent per
    /// lookup while timed, from /proc (Linux). Repeatable; the generator's own is always shown.
    #[arg(long = "cpu-of", value_name = "NAME=PID", value_parser = parse_watch)]
    cpu_of: Vec<(String, u32)>,
}

fn parse_watch(raw: &str) -> Result<(String, u32), String> {
    let (name, pid) = raw.split_once('=').ok_or("expected NAME=PID")?;
    Ok((name.to_string(), pid.parse().map_err(|_| format!("{pid} is not a process id"))?))
}

/// User plus system CPU seconds that process `pid` (`None`: this one) has used, from
/// /proc/PID/stat; `None` where there is no /proc.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command (which may hold spaces) in parentheses: state is field 3,
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// CPU seconds of this process and the watched ones, in `--cpu-of` order after "route_bench".
fn cpu_snapshot(watched: &[(String, u32)]) -> Vec<(String, Option<f64>)> {
    std::iter::once(("route_bench".to_string(), cpu_seconds(None)))
        .chain(watched.iter().map(|(name, pid)| (name.clone(), cpu_seconds(Some(*pid)))))
        .collect()
}

/// A user name pattern: the text around one number placeholder and the number's width.
#[derive(Debug, Clone)]
struct Pattern {
    before: String,
    width: usize,
    after: String,
}

impl Pattern {
    fn parse(raw: &str) -> Result<Self, String> {
        let start = raw.find('{').ok_or("the pattern needs a {} or {:0N} placeholder")?;
        let end = start + raw[start..].find('}').ok_or("unclosed { in the pattern")?;
        let spec = &raw[start + 1..end];
        let width = match spec {
            "" => 0,
            _ => spec
                .strip_prefix(":0")
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("placeholder {{{spec}}}: expected {{}} or {{:0N}}"))?,
        };
        let after = &raw[end + 1..];
        if after.contains('{') {
            return Err("only one placeholder is allowed".into());
        }
        Ok(Self { before: raw[..start].into(), width, after: after.into() })
    }

    fn name(&self, n: u64) -> String {
        format!("{}{:0width$}{}", self.before, n, self.after, width = self.width)
    }
}

/// What one worker saw while timed.
#[derive(Default)]
struct Tally {
    /// Latencies of the 200 answers, in microseconds.
    ok_micros: Vec<u32>,
    /// Non-200 answers by status ("transport" when there was no answer).
    errors: BTreeMap<String, u64>,
    /// 200 answers by their `reason=` line.
    reasons: BTreeMap<String, u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok_micros.extend(other.ok_micros);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.reasons {
            *self.reasons.entry(k).or_default() += v;
        }
    }
}

/// When the workers stop: after a deadline, or once a shared count of requests is used up.
enum Budget {
    Until(Instant),
    Count(Arc<std::sync::atomic::AtomicU64>),
}

impl Budget {
    fn take(&self) -> bool {
        match self {
            Budget::Until(deadline) => Instant::now() < *deadline,
            Budget::Count(left) => left
                .fetch_update(std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed, |n| {
                    n.checked_sub(1)
                })
                .is_ok(),
        }
    }
}

struct Target {
    client: reqwest::Client,
    url: String,
    token: String,
    service: String,
    pattern: Pattern,
    users: u64,
}

impl Target {
    /// One lookup: the status and body, or the transport error.
    async fn ask(&self, user: &str) -> Result<(u16, String), reqwest::Error> {
        let response = self
            .client
            .get(&self.url)
            .query(&[("user", user), ("service", self.service.as_str())])
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }
}

async fn worker(target: Arc<Target>, budget: Arc<Budget>, seed: u64) -> Tally {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    while budget.take() {
        let user = target.pattern.name(rng.gen_range(0..target.users));
        let started = Instant::now();
        let outcome = target.ask(&user).await;
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        match outcome {
            Ok((200, body)) if body.starts_with("host=") => {
                tally.ok_micros.push(micros);
                let reason = body.lines().find_map(|l| l.strip_prefix("reason=")).unwrap_or("?");
                *tally.reasons.entry(reason.to_string()).or_default() += 1;
            }
            Ok((200, _)) => *tally.errors.entry("200 without host=".into()).or_default() += 1,
            Ok((status, _)) => *tally.errors.entry(status.to_string()).or_default() += 1,
            Err(_) => *tally.errors.entry("transport".into()).or_default() += 1,
        }
    }
    tally
}

/// Runs `concurrency` workers until `budget` is used up; their merged tally and the elapsed time.
async fn run(target: &Arc<Target>, concurrency: usize, budget: Budget, seed: u64) -> (Tally, Duration) {
    let budget = Arc::new(budget);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|i| tokio::spawn(worker(target.clone(), budget.clone(), seed.wrapping_add(i as u64))))
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        tally.merge(w.await.expect("a worker panicked"));
    }
    (tally, started.elapsed())
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds.
fn pct(sorted: &[u32], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match setup(&args) {
        Ok(target) => {
            let runtime = if args.threads <= 1 {
                tokio::runtime::Builder::new_current_thread().enable_all().build()
            } else {
                tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
            };
            runtime.expect("a tokio runtime").block_on(bench(&args, Arc::new(target)))
        }
        Err(message) => {
            eprintln!("route_bench: {message}");
            ExitCode::from(2)
        }
    }
}

fn setup(args: &Args) -> Result<Target, String> {
    let base = reqwest::Url::parse(&args.url).map_err(|e| format!("--url {}: {e}", args.url))?;
    if !is_loopback(&base) {
        return Err(format!(
            "--url {} is not a loopback address; this benchmark only targets a local server",
            args.url
        ));
    }
    let token =
        std::env::var("ROUTE_API_TOKEN").map_err(|_| "set ROUTE_API_TOKEN to the server's token".to_string())?;
    let seconds = |s: f64| Duration::try_from_secs_f64(s).ok();
    if args.concurrency == 0 || args.users == 0 || seconds(args.duration).is_none_or(|d| d.is_zero()) {
        return Err("--concurrency, --users and --duration must be positive".into());
    }
    if seconds(args.warmup).is_none() {
        return Err("--warmup must be a number of seconds, 0 or more".into());
    }
    let pattern = Pattern::parse(&args.pattern)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let url = base.join("/api/route/v1").map_err(|e| e.to_string())?.to_string();
    Ok(Target { client, url, token, service: args.service.clone(), pattern, users: args.users })
}

async fn bench(args: &Args, target: Arc<Target>) -> ExitCode {
    // One lookup first: a wrong token or URL is a setup error, not a benchmark figure.
    let probe = target.pattern.name(42 % target.users);
    match target.ask(&probe).await {
        Ok((200, _)) => {}
        Ok((status, body)) => {
            eprintln!("route_bench: {probe} answered HTTP {status}: {}", body.trim());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("route_bench: {}: {e}", target.url);
            return ExitCode::FAILURE;
        }
    }
    let seed: u64 = rand::random();
    if args.warmup > 0.0 {
        let until = Instant::now() + Duration::from_secs_f64(args.warmup);
        run(&target, args.concurrency, Budget::Until(until), seed).await;
    }
    let budget = match args.requests {
        Some(n) => Budget::Count(Arc::new(n.into())),
        None => Budget::Until(Instant::now() + Duration::from_secs_f64(args.duration)),
    };
    let cpu_before = cpu_snapshot(&args.cpu_of);
    let (mut tally, elapsed) = run(&target, args.concurrency, budget, seed ^ 0x9e37_79b9_7f4a_7c15).await;
    let cpu_after = cpu_snapshot(&args.cpu_of);

    let errors: u64 = tally.errors.values().sum();
    let requests = tally.ok_micros.len() as u64 + errors;
    let secs = elapsed.as_secs_f64();
    println!(
        "route API: GET {}?user=<{} uniform over {}>&service={}, {} concurrent, {:.1} s after {:.0} s warm-up",
        target.url, args.pattern, args.users, args.service, args.concurrency, secs, args.warmup
    );
    let codes = if tally.errors.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = tally.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("  ({})", list.join(", "))
    };
    println!("requests={requests}  errors={errors}{codes}  throughput={:.0}/s", requests as f64 / secs);
    tally.ok_micros.sort_unstable();
    let ok = &tally.ok_micros;
    if ok.is_empty() {
        println!("p50=-  p90=-  p99=-  max=-  (no 200 answer)");
    } else {
        let mean = ok.iter().map(|&m| f64::from(m)).sum::<f64>() / ok.len() as f64 / 1000.0;
        println!(
            "p50={:.2}ms  p90={:.2}ms  p99={:.2}ms  max={:.2}ms  mean={mean:.2}ms",
            pct(ok, 50.0),
            pct(ok, 90.0),
            pct(ok, 99.0),
            pct(ok, 100.0)
        );
    }
    let reasons: Vec<String> = tally.reasons.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("answers: {}", reasons.join("  "));
    // Where the machine's time went: CPU per lookup of each process, and its share of the
    // timed wall-clock seconds (100% = one core busy throughout).
    let cpu: Vec<String> = cpu_before
        .iter()
        .zip(&cpu_after)
        .filter_map(|((name, before), (_, after))| {
            let used = after.zip(*before).map(|(a, b)| a - b)?;
            let per_lookup = used / requests.max(1) as f64 * 1e6;
            Some(format!("{name} {per_lookup:.0} us ({:.0}%)", used / secs * 100.0))
        })
        .collect();
    if !cpu.is_empty() {
        println!("CPU per lookup: {}", cpu.join(", "));
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_users_as_the_seed_does() {
        let p = Pattern::parse("user{:07}@example.net").unwrap();
        assert_eq!(p.name(42), "user0000042@example.net");
        assert_eq!(Pattern::parse("u{}").unwrap().name(7), "u7");
        assert!(Pattern::parse("user").is_err());
        assert!(Pattern::parse("u{:x}").is_err());
        assert!(Pattern::parse("u{}{}").is_err());
    }

    #[test]
    fn only_loopback_urls_are_targets() {
        for ok in ["http://127.0.0.1:3400", "http://localhost:3000", "http://[::1]:3000"] {
            assert!(is_loopback(&reqwest::Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in ["http://10.0.0.1:3000", "https://controller.example.net"] {
            assert!(!is_loopback(&reqwest::Url::parse(bad).unwrap()), "{bad}");
        }
    }

    #[test]
    fn watched_processes_are_name_and_pid() {
        assert_eq!(parse_watch("server=42").unwrap(), ("server".to_string(), 42));
        assert!(parse_watch("server").is_err() && parse_watch("server=x").is_err());
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0), "this process's CPU time, on Linux");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(pct(&sorted, 50.0), 50.0);
        assert_eq!(pct(&sorted, 99.0), 99.0);
        assert_eq!(pct(&sorted, 100.0), 100.0);
        assert_eq!(pct(&[5000], 99.0), 5.0);
    }
}
