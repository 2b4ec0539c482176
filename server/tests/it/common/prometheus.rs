//! A real Prometheus (Debian's package) scraping a running simulator, with the shipped
//! configuration and recording rules at 1 s intervals.

use std::{net::TcpListener, path::PathBuf, process::Stdio};

use palomar_sim::servers::Topology;
use tokio::process::{Child, Command};

/// A running Prometheus; dropping it kills the process.
pub struct RunningPrometheus {
    pub url: String,
    pub dir: PathBuf,
    binary: String,
    port: u16,
    child: Option<Child>,
}

impl RunningPrometheus {
    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Kills it (SIGKILL), as a crash would.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port and data, after [`Self::kill`].
    pub fn restart(&mut self) {
        self.child = Some(spawn(&self.binary, &self.dir, self.port));
    }
}

impl Drop for RunningPrometheus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The path of the `prometheus` binary, or `None` (the test then says it was skipped).
pub fn binary() -> Option<String> {
    super::service("PALOMAR_TEST_PROMETHEUS", "the tests on a real Prometheus")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(19090)
}

/// Starts Prometheus on a free port with job name `palomar-sim`, scraping `topology`.
pub fn start(binary: &str, topology: &Topology, name: &str) -> RunningPrometheus {
    let dir = std::env::temp_dir().join(format!("palomar-prometheus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("targets.json"), topology.file_sd().to_string()).unwrap();
    let rules = include_str!("../../../../deploy/prometheus/rules.yml");
    std::fs::write(dir.join("rules.yml"), rules.replace("interval: 15s", "interval: 1s")).unwrap();
    let shipped = include_str!("../../../../deploy/prometheus/prometheus.yml");
    let config = shipped
        .replace("15s", "1s")
        .replace("refresh_interval: 30s", "refresh_interval: 1s")
        .replace("job_name: palomar", "job_name: palomar-sim");
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let child = spawn(binary, &dir, port);
    RunningPrometheus {
        url: format!("http://127.0.0.1:{port}"),
        dir,
        binary: binary.to_string(),
        port,
        child: Some(child),
    }
}

fn spawn(binary: &str, dir: &std::path::Path, port: u16) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("prometheus.log")).unwrap();
    Command::new(binary)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus")
}

/// The `promtool` that comes with the Prometheus of `PALOMAR_TEST_PROMETHEUS`, or `None` when
/// that variable is unset (the test then says it was skipped). With the variable set, a
/// missing promtool is a broken test environment, so this panics rather than skip.
pub fn promtool() -> Option<PathBuf> {
    let prometheus = PathBuf::from(binary()?);
    let beside = prometheus.parent().map(|dir| dir.join("promtool"));
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("promtool")).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = beside.into_iter().chain(on_path).find(|candidate| candidate.is_file());
    match found {
        Some(path) => Some(path),
        None => panic!("PALOMAR_TEST_PROMETHEUS is set but no promtool is next to it or on PATH"),
    }
}

/// Runs promtool with `args` (and `stdin`, if any) from the workspace root; returns whether it
/// succeeded and everything it printed.
pub fn run_promtool(promtool: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(promtool)
        .args(args)
        .current_dir(super::workspace_root())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    if let Some(text) = stdin {
        // Dropping the handle closes promtool's stdin, so it sees the end of the text.
        let mut input = child.stdin.take().expect("promtool stdin");
        input.write_all(text.as_bytes()).expect("write to promtool");
    }
    let output = child.wait_with_output().expect("wait for promtool");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), printed)
}
