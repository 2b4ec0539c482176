//! A real Prometheus (Debian's package) scraping a running simulator, with the shipped
//! configuration and recording rules at 1 s intervals.

use std::{net::TcpListener, path::PathBuf, process::Stdio};

use palomar_server::sim::servers::Topology;
use tokio::process::{Child, Command};

/// A running Prometheus; dropping it kills the process.
pub struct RunningPrometheus {
    pub url: String,
    pub dir: PathBuf,
    _child: Child,
}

impl RunningPrometheus {
    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for RunningPrometheus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The path of the `prometheus` binary, or `None` (the test then says it was skipped).
pub fn binary() -> Option<String> {
    let path = std::env::var("PALOMAR_TEST_PROMETHEUS").ok();
    if path.is_none() {
        eprintln!("PALOMAR_TEST_PROMETHEUS is not set: skipping (scripts/test.sh sets it)");
    }
    path
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
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus/rules.yml")).unwrap();
    std::fs::write(dir.join("rules.yml"), rules.replace("interval: 15s", "interval: 1s")).unwrap();
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus/prometheus.yml")).unwrap();
    let config = shipped.replace("15s", "1s").replace("refresh_interval: 30s", "refresh_interval: 1s").replace("job_name: palomar", "job_name: palomar-sim");
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("prometheus.log")).unwrap()))
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus");
    RunningPrometheus { url: format!("http://127.0.0.1:{port}"), dir, _child: child }
}
