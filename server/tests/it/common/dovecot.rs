//! A real Dovecot CE (Debian's 2.3.19 packages) in a temporary directory, for the fidelity
//! test. `PALOMAR_TEST_DOVECOT` names the `dovecot` binary; the instance runs as root with its
//! own `instance_name`, `base_dir`, `state_dir`, log and listeners on free 127.0.0.1 ports.
//! It is an IMAP proxy to itself (so that the seed's proxy metrics count real events), serves
//! the doveadm HTTP API and the stats service's `/metrics`. Dropping it stops it.

use std::{
    net::{SocketAddr, TcpListener},
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The path of the `dovecot` binary, or `None` (the test then says it was skipped).
pub fn binary() -> Option<String> {
    super::service("PALOMAR_TEST_DOVECOT", "the comparison with a real Dovecot CE")
}

/// A running CE instance.
pub struct CeInstance {
    pub dir: PathBuf,
    config: PathBuf,
    binary: String,
    /// The doveadm HTTP listener.
    pub doveadm: SocketAddr,
    /// The stats service's HTTP listener (`/metrics`).
    pub stats: SocketAddr,
    /// IMAP: `pxok` is proxied to this same listener as `real` (dest_host `localhost`),
    /// `pxdead` to a port where nothing listens (dest_host `127.0.0.1`).
    pub imap: SocketAddr,
}

impl CeInstance {
    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    fn master_pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("run/master.pid")).ok().map(|pid| pid.trim().to_string())
    }
}

impl Drop for CeInstance {
    fn drop(&mut self) {
        let pid = self.master_pid();
        let _ = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        await_exit(pid);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits up to 5 s for a master told to stop to exit, then kills it: only that master, by its id.
pub fn await_exit(pid: Option<String>) {
    let Some(pid) = pid else { return };
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive() {
        let _ = Command::new("kill").arg("-KILL").arg(&pid).output();
    }
}

/// Free ports, all held until every one is chosen so that none is picked twice.
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local addr").port())
}

/// The seed's four metrics with CE 2.3.19's event names (see dovecot-ce-notes.md).
const METRICS: &str = r#"
metric proxy_session_success {
  filter = event=proxy_session_established
  group_by = dest_host
}
metric proxy_session_failure {
  filter = event=proxy_session_finished AND error=*
  group_by = dest_host
}
metric lmtp_rcpt_finished_failure {
  filter = event=smtp_server_transaction_rcpt_finished AND category=lmtp AND NOT error="" AND NOT enhanced_code=5.*
  group_by = dest_host
}
metric lmtp_rcpt_finished_success {
  filter = event=smtp_server_transaction_rcpt_finished AND category=lmtp AND error=""
  group_by = dest_host
}
"#;

/// Starts an instance named after `name` with these doveadm credentials (`None`: the setting
/// left empty) and waits until its listeners answer.
pub fn start(binary: &str, name: &str, password: Option<&str>, api_key: Option<&str>) -> CeInstance {
    let dir = std::env::temp_dir().join(format!("palomar-fidelity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mail")).expect("create the instance directory");
    // The mail user is `nobody`; it creates its home under here.
    std::fs::set_permissions(dir.join("mail"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let [doveadm, stats, imap, dead] = free_ports::<4>();
    let d = dir.display();
    std::fs::write(
        dir.join("passwd"),
        format!(
            "pxok:{{PLAIN}}pass::::::proxy=y host=localhost port={imap} destuser=real\n\
             pxdead:{{PLAIN}}pass::::::proxy=y host=127.0.0.1 port={dead}\n\
             real:{{PLAIN}}pass::::::\nuser1:{{PLAIN}}pass::::::\n"
        ),
    )
    .unwrap();
    let mut config = format!(
        "instance_name = palomar-fidelity-{name}-{pid}\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
         log_path = {d}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\nssl = no\n\
         disable_plaintext_auth = no\nlogin_proxy_max_reconnects = 0\nfirst_valid_uid = 0\n\
         mail_location = maildir:{d}/mail/%u\n\
         passdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap}\n  }}\n\
         \x20 inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
         service doveadm {{\n  inet_listener http {{\n    address = 127.0.0.1\n    port = {doveadm}\n  }}\n}}\n\
         service stats {{\n  inet_listener http {{\n    address = 127.0.0.1\n    port = {stats}\n  }}\n}}\n{METRICS}",
        pid = std::process::id(),
    );
    if let Some(password) = password {
        config.push_str(&format!("doveadm_password = {password}\n"));
    }
    if let Some(key) = api_key {
        config.push_str(&format!("doveadm_api_key = {key}\n"));
    }
    let config_path = dir.join("dovecot.conf");
    std::fs::write(&config_path, config).unwrap();
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let instance = CeInstance {
        dir,
        config: config_path,
        binary: binary.to_string(),
        doveadm: addr(doveadm),
        stats: addr(stats),
        imap: addr(imap),
    };
    // Not `output()`: the daemon inherits the pipes and would keep them open.
    let errors = instance.dir.join("start-errors.txt");
    let started = Command::new(binary)
        .arg("-c")
        .arg(&instance.config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errors).expect("create the start log"))
        .status()
        .expect("run dovecot");
    assert!(
        started.success(),
        "dovecot did not start: {}{}",
        std::fs::read_to_string(&errors).unwrap_or_default(),
        instance.log()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    for listener in [instance.doveadm, instance.stats, instance.imap] {
        while std::net::TcpStream::connect(listener).is_err() {
            assert!(Instant::now() < deadline, "dovecot does not listen on {listener}:\n{}", instance.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    instance
}

/// Logs `user` in over IMAP (password `pass`) and out again; the tagged answer to LOGIN.
pub async fn imap_login(imap: SocketAddr, user: &str) -> String {
    let stream = tokio::net::TcpStream::connect(imap).await.expect("connect to IMAP");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut answer = String::new();
    let exchange = async {
        lines.next_line().await.ok().flatten(); // greeting
        write.write_all(format!("a LOGIN {user} pass\r\n").as_bytes()).await.ok()?;
        while let Some(line) = lines.next_line().await.ok().flatten() {
            if line.starts_with("a ") {
                answer = line;
                break;
            }
        }
        write.write_all(b"b LOGOUT\r\n").await.ok()?;
        while lines.next_line().await.ok().flatten().is_some() {}
        Some(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), exchange).await;
    answer
}
