//! `palomar cluster …`, the built binary, against a running server (the whole router on a
//! loopback port, embedded store): tables, JSON, the config file, and exit codes.

use crate::common;

use std::{net::SocketAddr, process::Output, sync::Arc};

use domain::Role;

use palomar_core::services::Caller;
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    seed::{seed_sample_cluster, SampleSize},
};
use serde_json::Value;

struct Server {
    address: SocketAddr,
    admin: String,
    operator: String,
    viewer: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn server() -> Server {
    let store = Arc::new(EmbeddedStore::new());
    seed(&store).await;
    serve(common::services_on(store)).await
}

async fn seed(store: &Arc<EmbeddedStore>) {
    seed_sample_cluster(store.clone(), SampleSize { sites: 2, backends_per_site: 3, groups_per_site: 4, users: 40 }, 1)
        .await
        .unwrap();
}

/// The whole router on `services`, on a loopback port.
async fn serve(services: palomar_core::services::Services) -> Server {
    let (app, services) =
        common::web::app_with(common::web::settings(std::time::Duration::from_secs(600), false), Some(services)).await;
    let tokens = services.api_tokens(&Caller::trusted_cli()).unwrap();
    let admin = tokens.create(Some("admin"), Role::Admin, "cli test", None).await.unwrap().secret;
    let operator = tokens.create(Some("operator"), Role::Operator, "cli test", None).await.unwrap().secret;
    let viewer = tokens.create(Some("viewer"), Role::Viewer, "cli test", None).await.unwrap().secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).with_graceful_shutdown(async move { drop(stopped.await) }).await;
    });
    Server { address, admin, operator, viewer, _stop: stop }
}

/// Runs `palomar cluster ARGS` with `env` (and nothing inherited that could point elsewhere).
async fn cluster(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_palomar"));
    command.arg("cluster").args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env("PALOMAR_CLI_CONFIG", "/nonexistent/palomar-cli.conf");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_command_line_lists_changes_and_moves_like_doveadm_cluster() {
    let s = server().await;
    let url = format!("http://{}", s.address);
    let env = [("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", s.operator.as_str())];

    let sites = cluster(&env, &["site", "list"]).await;
    assert!(sites.status.success(), "{}", text(&sites.stderr));
    let out = text(&sites.stdout);
    assert!(out.starts_with("NAME") && out.contains("dc1a") && out.contains("dc2a"), "a table: {out}");

    let json = cluster(&env, &["--json", "backend", "list", "--site", "dc1a"]).await;
    let backends: Value = serde_json::from_slice(&json.stdout).unwrap();
    let hosts: Vec<&str> = backends.as_array().unwrap().iter().map(|b| b["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["be1.dc1a.example.net", "be2.dc1a.example.net", "be3.dc1a.example.net"]);

    // No --site: the site that has the host, as doveadm finds a backend by its name.
    let update = cluster(&env, &["backend", "update", "--load-factor", "50", "be2.dc2a.example.net"]).await;
    assert!(update.status.success(), "{}", text(&update.stderr));
    assert!(text(&update.stdout).contains("dc2a") && text(&update.stdout).contains("50"));

    let groups = cluster(&env, &["--json", "group", "list", "dc1a", "default-*"]).await;
    let groups: Value = serde_json::from_slice(&groups.stdout).unwrap();
    let first = &groups[0];
    let to = ["be1.dc1a.example.net", "be2.dc1a.example.net", "be3.dc1a.example.net"]
        .into_iter()
        .find(|h| Some(*h) != first["backend"].as_str() && Some(*h) != first["alternative"].as_str())
        .unwrap();
    let name = first["name"].as_str().unwrap();
    let moved = cluster(&env, &["--json", "group", "move", "dc1a", name, to]).await;
    assert!(moved.status.success(), "{}", text(&moved.stderr));
    let moved: Value = serde_json::from_slice(&moved.stdout).unwrap();
    let id = moved[0]["id"].as_str().unwrap();
    let forced = cluster(&env, &["move", "force", "dc1a", id]).await;
    assert!(forced.status.success() && text(&forced.stdout).contains("forced"), "{}", text(&forced.stderr));

    let cancel = cluster(&env, &["move", "cancel", "dc1a", id]).await;
    assert!(!cancel.status.success(), "a forced move is over: {}", text(&cancel.stdout));
    // Kicking a group's move on its backend needs doveadm, which this server has none of.
    let access = cluster(&env, &["group", "access", "dc1a", name]).await;
    assert_eq!(access.status.code(), Some(75), "{}", text(&access.stderr));
    let user_move = cluster(&env, &["user", "move", "user0000002@example.net", "default-3"]).await;
    assert!(user_move.status.success(), "{}", text(&user_move.stderr));

    // Adding and removing backends: admins.
    let admin = [("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", s.admin.as_str())];
    let added = cluster(&admin, &["backend", "add", "--site", "dc1a", "be9.dc1a.example.net"]).await;
    assert!(added.status.success() && text(&added.stdout).contains("standby"), "{}", text(&added.stderr));
    let removed = cluster(&admin, &["backend", "remove", "be9.dc1a.example.net"]).await;
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let listed = cluster(&admin, &["backend", "list"]).await;
    assert!(!text(&listed.stdout).contains("be9.dc1a") && text(&listed.stdout).contains("be3.dc2a"), "every site's");

    let feature = cluster(&env, &["feature", "set", "dc1a", "load_balance", "dryrun"]).await;
    assert!(text(&feature.stdout).lines().any(|l| l.starts_with("load_balance") && l.contains("dryrun")));
    let decisions = cluster(&env, &["decisions", "dc1a"]).await;
    assert!(decisions.status.success(), "{}", text(&decisions.stderr));
    let user = cluster(&env, &["user", "status", "user0000000@example.net"]).await;
    assert!(text(&user.stdout).contains("group:"), "{}", text(&user.stdout));

    // The same from a config file.
    let dir = std::env::temp_dir().join(format!("palomar-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cli.conf");
    std::fs::write(&config, format!("# test\nurl = {url}\ntoken = {}\n", s.viewer)).unwrap();
    let path = config.to_string_lossy().to_string();
    let from_file = cluster(&[("PALOMAR_CLI_CONFIG", path.as_str())], &["site", "list"]).await;
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));

    // Exit codes: a viewer may not change (77), an unknown site (68), no token (64), a bad one (77).
    let refused = cluster(
        &[("PALOMAR_CLI_CONFIG", path.as_str())],
        &["backend", "evacuate", "--site", "dc1a", "be1.dc1a.example.net"],
    )
    .await;
    assert_eq!(refused.status.code(), Some(77), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("403"));
    let unknown = cluster(&env, &["backend", "list", "--site", "dc9z"]).await;
    assert_eq!(unknown.status.code(), Some(68), "{}", text(&unknown.stderr));
    let no_token = cluster(&[("PALOMAR_URL", url.as_str())], &["site", "list"]).await;
    assert_eq!(no_token.status.code(), Some(64), "{}", text(&no_token.stderr));
    let bad_token =
        cluster(&[("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", "palomar_nope")], &["site", "list"]).await;
    assert_eq!(bad_token.status.code(), Some(77), "{}", text(&bad_token.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn force_move_and_recover_from_the_command_line() {
    let s = server().await;
    let url = format!("http://{}", s.address);
    let admin = [("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", s.admin.as_str())];
    let started = cluster(&admin, &["site", "force-move", "start", "--id", "cli-1", "dc1a", "30", "dc2a"]).await;
    assert!(started.status.success(), "{}", text(&started.stderr));
    assert!(text(&started.stdout).contains("cli-1"), "{}", text(&started.stdout));
    let again = cluster(&admin, &["site", "force-move", "start", "dc1a", "30", "dc2a"]).await;
    assert_eq!(again.status.code(), Some(75), "one at a time: {}", text(&again.stderr));
    let updated = cluster(&admin, &["site", "force-move", "update", "dc1a", "60"]).await;
    assert!(updated.status.success(), "{}", text(&updated.stderr));
    let listed = cluster(&admin, &["--json", "site", "force-move", "list", "dc1a"]).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!((listed[0]["percent"].as_u64(), listed[0]["destinations"][0].as_str()), (Some(60), Some("dc2a")));
    let bad = cluster(&admin, &["site", "force-move", "update", "dc1a", "101"]).await;
    assert_eq!(bad.status.code(), Some(65), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("percent must be a whole number from 0 to 100"), "{}", text(&bad.stderr));
    let stopped = cluster(&admin, &["site", "force-move", "stop", "dc1a"]).await;
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));

    let recover = cluster(&admin, &["site", "recover", "dc1a", "50"]).await;
    assert!(recover.status.success(), "{}", text(&recover.stderr));
    let more = cluster(&admin, &["site", "recover", "dc1a", "80"]).await;
    assert!(
        more.status.success() && text(&more.stdout).contains("80"),
        "the running one changes: {}",
        text(&more.stderr)
    );
    let ended = cluster(&admin, &["site", "recover", "--stop", "dc1a"]).await;
    assert!(ended.status.success(), "{}", text(&ended.stderr));

    let backend = ["backend", "force-move", "start", "be1.dc1a.example.net", "10", "be2.dc1a.example.net"];
    let started = cluster(&admin, &backend).await;
    assert!(started.status.success(), "{}", text(&started.stderr));
    let stopped = cluster(&admin, &["backend", "force-move", "stop", "be1.dc1a.example.net"]).await;
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));

    let operator = [("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", s.operator.as_str())];
    let refused = cluster(&operator, &["site", "force-move", "start", "dc1a", "30", "dc2a"]).await;
    assert_eq!(refused.status.code(), Some(77), "admins only: {}", text(&refused.stderr));
}

/// A reader that closes the pipe early (`| head -1`, `| grep -q`) ends the command quietly with
/// success: the two-DC test's `palomar cluster … | grep -q` once failed on a panic
/// "failed printing to stdout".
#[tokio::test]
async fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::process::Stdio;
    let s = server().await;
    let url = format!("http://{}", s.address);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_palomar"));
    command.args(["cluster", "--json", "group", "list", "dc1a"]).env("PALOMAR_URL", &url);
    command.env("PALOMAR_TOKEN", &s.operator).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    // The reader goes away before reading anything.
    drop(child.stdout.take());
    let output = child.wait_with_output().await.unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `site replay` waits for the end and prints the summary; `--json` the API's body; a bad
/// `--set` or window is refused before anything is asked.
#[tokio::test]
async fn a_replay_from_the_command_line_prints_its_summary() {
    let store = Arc::new(EmbeddedStore::new());
    seed(&store).await;
    // The simulator's history, as the demo has it: with no traffic yet, no pass has a sample.
    let clock = Arc::new(palomar_core::ports::SystemClock);
    let sim = palomar_sim::Simulator::load(store.clone(), clock, palomar_sim::SimSettings::default(), 1).await.unwrap();
    let metrics = Arc::new(palomar_server::adapters::sim_metrics::SimulatorMetrics::new(sim));
    let s = serve(common::services_with(common::embedded_ports(store, metrics))).await;
    let url = format!("http://{}", s.address);
    let env = [("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", s.operator.as_str())];
    let from = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();

    let done = cluster(&env, &["site", "replay", "dc1a", "--from", &from, "--set", "load_balance=on"]).await;
    assert!(done.status.success(), "{}", text(&done.stderr));
    let out = text(&done.stdout);
    for line in ["agreement:", "load_balance=on", "moves:", "peak spread:", "differences:"] {
        assert!(out.contains(line), "{line} in {out}");
    }
    let json = cluster(&env, &["--json", "site", "replay", "dc1a", "--from", &from]).await;
    let run: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((run["status"].as_str(), run["agreement"].as_f64()), (Some("done"), Some(100.0)), "{run}");

    let bad = cluster(&env, &["site", "replay", "dc1a", "--set", "HOST_FAILURE_RATIO"]).await;
    assert_eq!(bad.status.code(), Some(64), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("NAME=VALUE"), "{}", text(&bad.stderr));
    let early = cluster(&env, &["site", "replay", "dc1a", "--from", "yesterday"]).await;
    assert_eq!(early.status.code(), Some(64), "{}", text(&early.stderr));
    let refused = cluster(&env, &["site", "replay", "dc1a", "--set", "HOST_FAILURE_RATIO=0.5"]).await;
    assert_eq!(refused.status.code(), Some(65), "{}", text(&refused.stderr));
    let viewer = [("PALOMAR_URL", url.as_str()), ("PALOMAR_TOKEN", s.viewer.as_str())];
    let denied = cluster(&viewer, &["site", "replay", "dc1a"]).await;
    assert_eq!(denied.status.code(), Some(77), "operators only: {}", text(&denied.stderr));
}
