//! Dovecot CE 2.4 from Debian trixie, in the root `PALOMAR_TEST_DOVECOT24_ROOT`
//! (scripts/dovecot24-root.sh builds it): an instance that serves only the doveadm HTTP API, on a
//! free loopback port (a chroot shares the host's loopback). Dropping it stops it.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// The doveadm HTTP password of every instance.
pub const PASSWORD: &str = "palomar-ce24-doveadm";

/// The root, or `None` (the test then says it was skipped).
pub fn root() -> Option<String> {
    super::service("PALOMAR_TEST_DOVECOT24_ROOT", "the comparison with Dovecot CE 2.4")
}

/// A running 2.4 instance.
pub struct Ce24 {
    root: PathBuf,
    /// Its directory as the chroot sees it (`/tmp/palomar-…`).
    inner: String,
    /// The doveadm HTTP API's base URL.
    pub doveadm_url: String,
}

impl Ce24 {
    /// Starts one in `root`, and waits until its doveadm API listens.
    pub fn start(root: &str) -> Ce24 {
        static N: AtomicU32 = AtomicU32::new(0);
        let inner = format!("/tmp/palomar-ce24-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let root = PathBuf::from(root);
        let dir = root.join(inner.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).expect("the instance's dir in the root");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let name = inner.trim_start_matches("/tmp/");
        let config = format!(
            "dovecot_config_version = 2.4.0\n\
             dovecot_storage_version = 2.4.0\n\
             instance_name = {name}\n\
             base_dir = {inner}/run\n\
             state_dir = {inner}/state\n\
             log_path = {inner}/dovecot.log\n\
             protocols =\n\
             listen = 127.0.0.1\n\
             ssl = no\n\
             doveadm_password = {PASSWORD}\n\
             service doveadm {{\n  inet_listener http {{\n    port = {port}\n  }}\n}}\n"
        );
        std::fs::write(dir.join("dovecot.conf"), config).expect("the config");
        // The master daemonizes and its children keep what they inherit open: no pipes.
        let started = Command::new("chroot")
            .arg(&root)
            .args(["/usr/sbin/dovecot", "-c", &format!("{inner}/dovecot.conf")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("chroot runs");
        let instance = Ce24 { root, inner, doveadm_url: format!("http://127.0.0.1:{port}") };
        assert!(started.success(), "Dovecot 2.4 did not start:\n{}", instance.log());
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "Dovecot 2.4's doveadm API did not listen:\n{}", instance.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        instance
    }

    /// Its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("dovecot.log")).unwrap_or_default()
    }

    fn dir(&self) -> PathBuf {
        self.root.join(self.inner.trim_start_matches('/'))
    }
}

impl Drop for Ce24 {
    fn drop(&mut self) {
        let config = format!("{}/dovecot.conf", self.inner);
        let pid = std::fs::read_to_string(self.dir().join("run/master.pid")).ok().map(|p| p.trim().to_string());
        let _ = Command::new("chroot")
            .arg(&self.root)
            .args(["/usr/sbin/dovecot", "-c", &config, "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        super::dovecot::await_exit(pid);
        let _ = std::fs::remove_dir_all(self.dir());
    }
}
