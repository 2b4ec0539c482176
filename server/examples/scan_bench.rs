//! The reference the census is measured against: a raw token-range-parallel scan of `users`
//! with the same driver (scylla), connection settings and columns as the census, and nothing
//! else (no counting, no writes). The ring is cut into `--ranges` ranges `(lo, hi]`, read
//! `--in-flight` at a time with `WHERE token(username) > ? AND token(username) <= ?`, each
//! paged by the driver. It prints one line per run:
//!
//! ```text
//! raw_scan rows=1000000 seconds=6.1 rows_per_s=163934 ranges=64 in_flight=8 page_size=5000 columns=…
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

use std::{process::ExitCode, time::Instant};

use clap::{Parser, ValueEnum};
use futures::{StreamExt, TryStreamExt};
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
    /// Scans in a row, one line each.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

type CensusRow = (String, Option<Uuid>, Option<String>, Option<i64>, Option<i64>);
type MembershipRow = (String, Option<Uuid>, Option<String>);

/// Rows of one range.
async fn count_range(
    session: &Session,
    statement: &PreparedStatement,
    columns: Columns,
    (lo, hi): (i64, i64),
) -> anyhow::Result<u64> {
    let pager = session.execute_iter(statement.clone(), (lo, hi)).await?;
    let rows = match columns {
        Columns::Census => pager.rows_stream::<CensusRow>()?.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?,
        Columns::Membership => {
            pager.rows_stream::<MembershipRow>()?.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?
        }
    };
    Ok(rows)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let store = CassandraStore::connect(&config.cassandra).await?;
    let session = store.session();
    let cql = format!(
        "SELECT {} FROM {}.users WHERE token(username) > ? AND token(username) <= ?",
        args.columns.select(),
        store.keyspace()
    );
    let mut statement = session.prepare(cql).await?;
    statement.set_page_size(args.page_size.max(1));
    let columns_shown = args.columns.select().replace(' ', "");
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        let rows: u64 = futures::stream::iter(token_ranges(args.ranges))
            .map(|range| count_range(session, &statement, args.columns, range))
            .buffer_unordered(args.in_flight.max(1))
            .try_fold(0u64, |total, n| async move { Ok(total + n) })
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "raw_scan rows={rows} seconds={seconds:.3} rows_per_s={:.0} ranges={} in_flight={} page_size={} columns={columns_shown}",
            rows as f64 / seconds.max(1e-9),
            args.ranges,
            args.in_flight,
            args.page_size
        );
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
