//! The reference the census is measured against: a raw token-range-parallel scan of `users`
//! with the same driver (scylla), connection settings and columns as the census, and nothing
//! else (no counting, no writes). The ring is cut into `--ranges` ranges `(lo, hi]`, read
//! `--in-flight` at a time with `WHERE token(username) > ? AND token(username) <= ?`, each
//! paged by the driver. It prints one line per run:
//!
//! ```text
//! raw_scan rows=1000000 seconds=3.100 rows_per_s=322581 ranges=64 in_flight=8 page_size=5000 columns=… client_cpu=0.25
//! ```
//!
//! The connection comes from the server's own settings (`CASSANDRA_SERVERS`, `CASSANDRA_PORT`,
//! `CASSANDRA_KEYSPACE`, `CASSANDRA_LOCAL_DC`, `CASSANDRA_CONSISTENCY`, … as in the README):
//!
//! ```text
//! CASSANDRA_SERVERS=127.0.0.1 CASSANDRA_PORT=19242 CASSANDRA_LOCAL_DC=datacenter1 \
//!   cargo run --release -p server --example scan_bench -- --repeat 3
//! ```
//!
//! `--columns census` (the default) selects what the census reads: the user, their site and
//! group, and the write times of both; `--columns membership` leaves the write times out.
//! `--groups` also reads `user_groups` (site, name, backend) meanwhile, as the census does, so
//! that the census can be compared with the raw read of everything it reads too; the line then
//! says `groups=N`. `--census` alternates the raw scans with censuses (the server's own code)
//! on the same connection, printing a `census …` line after each `raw_scan …` line, so that
//! both meet the same load; `--cassandra-pid` adds the GeoDB's CPU seconds to each line, a
//! figure that other load on the machine barely moves.

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::{Parser, ValueEnum};
use futures::{StreamExt, TryStreamExt};
use palomar_core::{controller::Census, ports::SystemClock};
use palomar_server::{
    adapters::cassandra::{
        scan::{token_ranges, ScanShape},
        CassandraStore,
    },
    config::Config,
};
use scylla::{client::session::Session, statement::prepared::PreparedStatement};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Columns {
    /// username, preferred_site_id, group_name and the write times of the last two.
    Census,
    /// username, preferred_site_id, group_name.
    Membership,
}

impl Columns {
    fn select(self) -> &'static str {
        match self {
            Columns::Census => {
                "username, preferred_site_id, group_name, WRITETIME(preferred_site_id), WRITETIME(group_name)"
            }
            Columns::Membership => "username, preferred_site_id, group_name",
        }
    }
}

#[derive(Debug, Parser)]
#[command(about = "Times a raw token-range-parallel scan of the users table")]
struct Args {
    /// Token ranges the ring is cut into.
    #[arg(long, default_value_t = ScanShape::CENSUS.ranges)]
    ranges: usize,
    /// Ranges read at once.
    #[arg(long, default_value_t = ScanShape::CENSUS.in_flight)]
    in_flight: usize,
    /// Rows per page.
    #[arg(long, default_value_t = ScanShape::CENSUS.page_size)]
    page_size: i32,
    /// Which columns to read.
    #[arg(long, value_enum, default_value_t = Columns::Census)]
    columns: Columns,
    /// Also read `user_groups` (site_id, name, backend_id) at the same time, in 5000-row pages.
    #[arg(long)]
    groups: bool,
    /// After each raw scan, also take a census (`Census::refresh`, the code `palomar serve`
    /// runs, on this connection) and print its line: the two alternate. It writes the group
    /// member records and the census mark like the server's census.
    #[arg(long)]
    census: bool,
    /// The census's `CENSUS_CHANGE_MARGIN_SECS`.
    #[arg(long, default_value_t = 300)]
    census_margin_secs: u64,
    /// The GeoDB's process id: each line then also gives the CPU seconds it spent (/proc).
    #[arg(long, value_name = "PID")]
    cassandra_pid: Option<u32>,
    /// Scans in a row, one line each.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Scan nothing: drop `--drop-keyspace` if given, then wait (at most 10 min) until the
    /// node runs and queues no compaction, so that what is measured next does not share the
    /// machine with the compactions of what was written before. Prints `settled seconds=…`.
    #[arg(long)]
    settle: bool,
    /// With `--settle`: a keyspace to drop first (the warm-up's).
    #[arg(long, value_name = "KEYSPACE")]
    drop_keyspace: Option<String>,
}

/// Compactions running and queued on the node (`system_views.thread_pools`).
async fn compactions(session: &Session) -> anyhow::Result<i64> {
    let cql = "SELECT active_tasks, pending_tasks FROM system_views.thread_pools WHERE name = 'CompactionExecutor'";
    let rows = session.query_unpaged(cql, ()).await?.into_rows_result()?;
    let mut busy = 0i64;
    for row in rows.rows::<(Option<i32>, Option<i32>)>()? {
        let (active, pending) = row?;
        busy += i64::from(active.unwrap_or(0)) + i64::from(pending.unwrap_or(0));
    }
    Ok(busy)
}

/// See [`Args::settle`].
async fn settle(session: &Session, drop: Option<&str>) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(keyspace) = drop {
        anyhow::ensure!(
            keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "not a keyspace name: {keyspace}"
        );
        session.query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ()).await?;
    }
    let mut quiet = 0;
    while quiet < 3 && started.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        quiet = if compactions(session).await? == 0 { quiet + 1 } else { 0 };
    }
    println!("settled seconds={:.1} quiet={}", started.elapsed().as_secs_f64(), quiet >= 3);
    Ok(())
}

type CensusRow = (String, Option<Uuid>, Option<String>, Option<i64>, Option<i64>);
type MembershipRow = (String, Option<Uuid>, Option<String>);

/// Rows of one range, read in a task of its own (as the census reads them).
async fn count_range(
    session: Arc<Session>,
    statement: PreparedStatement,
    columns: Columns,
    (lo, hi): (i64, i64),
) -> anyhow::Result<u64> {
    let task = tokio::spawn(async move {
        let pager = session.execute_iter(statement, (lo, hi)).await?;
        let rows = match columns {
            Columns::Census => {
                pager.rows_stream::<CensusRow>()?.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?
            }
            Columns::Membership => {
                pager.rows_stream::<MembershipRow>()?.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?
            }
        };
        Ok::<_, anyhow::Error>(rows)
    });
    task.await?
}

/// Rows of `user_groups`.
async fn count_groups(session: &Session, statement: &PreparedStatement) -> anyhow::Result<u64> {
    let pager = session.execute_iter(statement.clone(), ()).await?;
    Ok(pager.rows_stream::<(Uuid, String, Option<Uuid>)>()?.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?)
}

/// User plus system CPU seconds that process `pid` (`None`: this one) has used, from
/// /proc/PID/stat (Linux); `None` where there is no /proc.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // After the command in parentheses, utime and stime are the 12th and 13th fields, in
    // clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Times one run and prints its line: `what`, the figures `run` returns, the seconds, and the
/// CPU seconds this process and the GeoDB (`--cassandra-pid`) spent meanwhile.
async fn timed<F>(what: &str, cassandra: Option<u32>, run: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<(u64, String)>>,
{
    let cpu = |pid| cpu_seconds(pid).unwrap_or(f64::NAN);
    let (client, geodb, started) = (cpu(None), cassandra.map(|p| cpu(Some(p))), Instant::now());
    let (rows, figures) = run.await?;
    let seconds = started.elapsed().as_secs_f64();
    let geodb = geodb.zip(cassandra).map(|(before, p)| format!(" cassandra_cpu={:.2}", cpu(Some(p)) - before));
    println!(
        "{what} rows={rows} seconds={seconds:.3} rows_per_s={:.0}{figures} client_cpu={:.2}{}",
        rows as f64 / seconds.max(1e-9),
        cpu(None) - client,
        geodb.unwrap_or_default()
    );
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let store = CassandraStore::connect(&config.cassandra).await?;
    let session = store.session().clone();
    if args.settle {
        return settle(&session, args.drop_keyspace.as_deref()).await;
    }
    let cql = format!(
        "SELECT {} FROM {}.users WHERE token(username) > ? AND token(username) <= ?",
        args.columns.select(),
        store.keyspace()
    );
    let mut statement = session.prepare(cql).await?;
    statement.set_page_size(args.page_size.max(1));
    let groups_statement = if args.groups {
        let cql = format!("SELECT site_id, name, backend_id FROM {}.user_groups", store.keyspace());
        let mut statement = session.prepare(cql).await?;
        statement.set_page_size(5000);
        Some(statement)
    } else {
        None
    };
    let shape = format!(
        " ranges={} in_flight={} page_size={}{} columns={}",
        args.ranges,
        args.in_flight,
        args.page_size,
        if args.groups { " with_groups" } else { "" },
        args.columns.select().replace(' ', "")
    );
    let census = Census::default();
    let margin = Duration::from_secs(args.census_margin_secs);
    for _ in 0..args.repeat.max(1) {
        timed("raw_scan", args.cassandra_pid, async {
            let users = futures::stream::iter(token_ranges(args.ranges))
                .map(|range| count_range(session.clone(), statement.clone(), args.columns, range))
                .buffer_unordered(args.in_flight.max(1))
                .try_fold(0u64, |total, n| async move { Ok(total + n) });
            let groups = async {
                match &groups_statement {
                    Some(statement) => count_groups(&session, statement).await.map(Some),
                    None => Ok(None),
                }
            };
            let (rows, groups) = futures::try_join!(users, groups)?;
            Ok((rows, groups.map(|n| format!(" groups={n}")).unwrap_or_default() + &shape))
        })
        .await?;
        if args.census {
            timed("census", args.cassandra_pid, async {
                let report = census.refresh(&store, &store, &store, margin, &SystemClock).await?;
                Ok((report.users, format!(" members_written={} full={}", report.members_written, report.full)))
            })
            .await?;
        }
    }
    Ok(())
}
#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("scan_bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
