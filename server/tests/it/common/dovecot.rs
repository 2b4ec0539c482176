//! A real Dovecot CE in a temporary directory, on either line: 2.3.19 from Debian's packages
//! (`PALOMAR_TEST_DOVECOT` names the `dovecot` binary) or 2.4 from Debian trixie, run with
//! `chroot` in the root `PALOMAR_TEST_DOVECOT24_ROOT` (scripts/debian-root.sh builds it; a
//! chroot shares the host's loopback). The instance runs as root with its own `instance_name`,
//! `base_dir`, `state_dir`, log and listeners on free 127.0.0.1 ports. It is an IMAP proxy to
//! itself (so that the seed's proxy metrics count real events), serves the doveadm HTTP API and
//! the stats service's `/metrics`. Dropping it stops it.

use std::{
    net::{SocketAddr, TcpListener},
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Which Dovecot CE runs, and how it is started.
#[derive(Clone, Debug)]
pub enum Line {
    /// The host's 2.3 `dovecot` binary.
    Ce23 { binary: String },
    /// 2.4 inside this root.
    Ce24 { root: PathBuf },
}

impl Line {
    /// The line's short name, for messages and instance names.
    pub fn name(&self) -> &'static str {
        match self {
            Line::Ce23 { .. } => "2.3",
            Line::Ce24 { .. } => "2.4",
        }
    }

    /// `dovecot` with these arguments, in the root for 2.4.
    fn dovecot(&self) -> Command {
        match self {
            Line::Ce23 { binary } => Command::new(binary),
            Line::Ce24 { root } => {
                let mut command = Command::new("chroot");
                command.arg(root).arg("/usr/sbin/dovecot");
                command
            }
        }
    }

    /// Where an instance's files go: the host's temporary dir, or `/tmp` inside the root. Returns
    /// (the path on the host, the path Dovecot sees).
    fn instance_dir(&self, name: &str) -> (PathBuf, String) {
        static N: AtomicU32 = AtomicU32::new(0);
        let leaf = format!("palomar-fidelity-{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        match self {
            Line::Ce23 { .. } => {
                let dir = std::env::temp_dir().join(leaf);
                let seen = dir.display().to_string();
                (dir, seen)
            }
            Line::Ce24 { root } => (root.join("tmp").join(&leaf), format!("/tmp/{leaf}")),
        }
    }
}

/// 2.3.19 on the host, or `None` (the test then says it was skipped).
pub fn line_23() -> Option<Line> {
    super::service("PALOMAR_TEST_DOVECOT", "the comparison with Dovecot CE 2.3").map(|binary| Line::Ce23 { binary })
}

/// 2.4 in its root, or `None` (the test then says it was skipped).
pub fn line_24() -> Option<Line> {
    super::service("PALOMAR_TEST_DOVECOT24_ROOT", "the comparison with Dovecot CE 2.4")
        .map(|root| Line::Ce24 { root: root.into() })
}

/// Both lines, each or neither (a missing one is skipped, or fails under
/// `PALOMAR_TEST_REQUIRE=all`).
pub fn lines() -> Vec<Line> {
    [line_23(), line_24()].into_iter().flatten().collect()
}

/// A running CE instance.
pub struct CeInstance {
    pub line: Line,
    pub dir: PathBuf,
    /// The config's path as Dovecot sees it.
    config: String,
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

    /// The doveadm HTTP API's base URL.
    pub fn doveadm_url(&self) -> String {
        format!("http://{}", self.doveadm)
    }

    fn master_pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("run/master.pid")).ok().map(|pid| pid.trim().to_string())
    }
}

impl Drop for CeInstance {
    fn drop(&mut self) {
        let pid = self.master_pid();
        let _ = self
            .line
            .dovecot()
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

/// The seed's four metrics with CE's event names (see dovecot-ce-notes.md), in the line's syntax:
/// 2.4 writes `group_by` as a named block.
fn metrics(line: &Line) -> String {
    let group_by = match line {
        Line::Ce23 { .. } => "  group_by = dest_host\n",
        Line::Ce24 { .. } => "  group_by dest_host {\n  }\n",
    };
    [
        ("proxy_session_success", "event=proxy_session_established"),
        ("proxy_session_failure", "event=proxy_session_finished AND error=*"),
        (
            "lmtp_rcpt_finished_failure",
            r#"event=smtp_server_transaction_rcpt_finished AND category=lmtp AND NOT error="" AND NOT enhanced_code=5.*"#,
        ),
        ("lmtp_rcpt_finished_success", r#"event=smtp_server_transaction_rcpt_finished AND category=lmtp AND error="""#),
    ]
    .iter()
    .map(|(name, filter)| format!("metric {name} {{\n  filter = {filter}\n{group_by}}}\n"))
    .collect()
}

/// The line's settings for the instance in `d` (as Dovecot sees it) with these ports.
fn config(line: &Line, name: &str, d: &str, [doveadm, stats, imap]: [u16; 3]) -> String {
    let listeners = |address: &str| {
        format!(
            "service imap-login {{\n  inet_listener imap {{\n    {address} = 127.0.0.1\n    port = {imap}\n  }}\n\
             \x20 inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service doveadm {{\n  inet_listener http {{\n    {address} = 127.0.0.1\n    port = {doveadm}\n  }}\n}}\n\
             service stats {{\n  inet_listener http {{\n    {address} = 127.0.0.1\n    port = {stats}\n  }}\n}}\n"
        )
    };
    let common = format!(
        "instance_name = palomar-fidelity-{name}\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
         log_path = {d}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\nssl = no\n\
         login_proxy_max_reconnects = 0\nfirst_valid_uid = 0\n"
    );
    match line {
        Line::Ce23 { .. } => format!(
            "{common}disable_plaintext_auth = no\nmail_location = maildir:{d}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n{}{}",
            listeners("address"),
            metrics(line)
        ),
        // The two version settings come first.
        Line::Ce24 { .. } => format!(
            "dovecot_config_version = 2.4.1\ndovecot_storage_version = 2.4.0\n{common}auth_allow_cleartext = yes\n\
             mail_driver = maildir\nmail_path = {d}/mail/%{{user}}\n\
             passdb passwd-file {{\n  passwd_file_path = {d}/passwd\n}}\n\
             userdb static {{\n  fields {{\n    uid = nobody\n    gid = nogroup\n    home = {d}/mail/%{{user}}\n  }}\n}}\n{}{}",
            listeners("listen"),
            metrics(line)
        ),
    }
}

/// Starts an instance of `line` named after `name` with these doveadm credentials (`None`: the
/// setting left empty) and waits until its listeners answer.
pub fn start(line: &Line, name: &str, password: Option<&str>, api_key: Option<&str>) -> CeInstance {
    let (dir, seen) = line.instance_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mail")).expect("create the instance directory");
    // The mail user is `nobody`; it creates its home under here.
    std::fs::set_permissions(dir.join("mail"), std::fs::Permissions::from_mode(0o777)).expect("open the mail dir");
    let [doveadm, stats, imap, dead] = free_ports::<4>();
    std::fs::write(
        dir.join("passwd"),
        format!(
            "pxok:{{PLAIN}}pass::::::proxy=y host=localhost port={imap} destuser=real\n\
             pxdead:{{PLAIN}}pass::::::proxy=y host=127.0.0.1 port={dead}\n\
             real:{{PLAIN}}pass::::::\nuser1:{{PLAIN}}pass::::::\n"
        ),
    )
    .expect("write the passwd file");
    let instance_name = seen.rsplit('/').next().unwrap_or(name).trim_start_matches("palomar-fidelity-").to_string();
    let mut settings = config(line, &instance_name, &seen, [doveadm, stats, imap]);
    if let Some(password) = password {
        settings.push_str(&format!("doveadm_password = {password}\n"));
    }
    if let Some(key) = api_key {
        settings.push_str(&format!("doveadm_api_key = {key}\n"));
    }
    std::fs::write(dir.join("dovecot.conf"), settings).expect("write the config");
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let instance = CeInstance {
        line: line.clone(),
        dir,
        config: format!("{seen}/dovecot.conf"),
        doveadm: addr(doveadm),
        stats: addr(stats),
        imap: addr(imap),
    };
    // Not `output()`: the daemon inherits the pipes and would keep them open.
    let errors = instance.dir.join("start-errors.txt");
    let started = line
        .dovecot()
        .arg("-c")
        .arg(&instance.config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errors).expect("create the start log"))
        .status()
        .expect("run dovecot");
    assert!(
        started.success(),
        "dovecot {} did not start: {}{}",
        line.name(),
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
