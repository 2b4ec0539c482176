//! The route API on the embedded store, for `route_bench`: seeds the same sample cluster as
//! `scripts/bench-pages.sh` (2 sites, 1,000,000 users by default) in memory and serves the
//! router on a loopback port until killed. It shows what a lookup costs the server itself,
//! apart from the GeoDB's own reads.
//!
//! ```sh
//! ROUTE_API_TOKEN=… cargo run --release -p server --example route_server_embedded -- --port 3450
//! ROUTE_API_TOKEN=… cargo run --release -p server --example route_bench -- --url http://127.0.0.1:3450
//! ```

use std::{net::SocketAddr, sync::Arc, time::Instant};

use app::{
    controller::{Census, Controller},
    ports::{Ports, SystemClock},
    services::Services,
};
use clap::Parser;
use leptos::prelude::LeptosOptions;
use palomar_server::{
    adapters::{embedded::EmbeddedStore, NoDoveadm, NoMetrics, SyntaxOnlyResolver},
    config::Config,
    seed::{seed_sample_cluster, SampleSize},
    web::{bind, router, SessionSettings},
};

#[derive(Debug, Parser)]
#[command(about = "Serves the route API on the embedded store with a seeded sample cluster")]
struct Args {
    /// Loopback port to listen on.
    #[arg(long, default_value_t = 3450)]
    port: u16,
    /// Users to seed (named as `palomar simulate seed` names them).
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    /// Groups per site.
    #[arg(long, default_value_t = 50_000)]
    groups_per_site: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let token = std::env::var("ROUTE_API_TOKEN").map_err(|_| anyhow::anyhow!("set ROUTE_API_TOKEN"))?;
    let config = Config::from_lookup(&|name| match name {
        "CLUSTER_SITE" => Some("dc1a".into()),
        "ROUTE_API_TOKEN" => Some(token.clone()),
        _ => None,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let store = Arc::new(EmbeddedStore::new());
    let began = Instant::now();
    let size = SampleSize { sites: 2, backends_per_site: 10, groups_per_site: args.groups_per_site, users: args.users };
    seed_sample_cluster(store.clone(), size, 64).await?;
    eprintln!("seeded {} users in {:.1} s", args.users, began.elapsed().as_secs_f64());

    let ports = Ports {
        geodb: store.clone(),
        operators: store.clone(),
        audit: store.clone(),
        members: store.clone(),
        records: store.clone(),
        plans: store.clone(),
        lease: store,
        metrics: Arc::new(NoMetrics),
        doveadm: Arc::new(NoDoveadm),
        resolver: Arc::new(SyntaxOnlyResolver),
        clock: Arc::new(SystemClock),
    };
    // The controller is built for the services but never spawned: only the route API runs.
    let controller = Controller::new(ports.clone(), Arc::new(Census::default()), config.controller_settings());
    let services = Arc::new(Services::new(ports, controller).with_route_api(config.route_api.clone()));
    let sessions = SessionSettings::new(vec![7; 64], &config.web);
    let options = LeptosOptions::builder().output_name("palomar").site_root("target/site").build();
    let app = router(services, options, tower_sessions::MemoryStore::default(), &sessions)?;
    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = bind(address).await?;
    eprintln!("route API on http://{address}/api/route/v1");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
