//! The web server and its sessions: `CONTROLLER_API_URL`, `SESSION_*`, `LEPTOS_SITE_ROOT`.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use super::env::{Reader, Secret};

/// Where the server listens, how it signs sessions and where its built assets are.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// `CONTROLLER_API_URL` as given.
    pub api_url: String,
    /// The host and port of `CONTROLLER_API_URL`: the server binds there.
    pub bind_addr: SocketAddr,
    /// `CONTROLLER_API_URL` is https: cookies get the `Secure` flag.
    pub secure_cookies: bool,
    /// `SESSION_SECRET`: required by `serve` only, so checked there.
    pub session_secret: Option<Secret>,
    /// `SESSION_IDLE_TIMEOUT_SECS`: an idle session expires.
    pub session_idle_timeout: Duration,
    /// `LEPTOS_SITE_ROOT`: where the built CSS, JS and wasm are served from.
    pub site_root: String,
}

impl WebSettings {
    /// Reads the web server's settings.
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        let api = r.get(
            &["CONTROLLER_API_URL"],
            ApiUrl::default(),
            "an http:// or https:// URL with a host and port, e.g. http://0.0.0.0:8000",
            ApiUrl::parse,
        );
        let session_secret =
            r.secret(&["SESSION_SECRET"], "", "at least 64 characters (e.g. `openssl rand -base64 64`)", |s| {
                (s.len() >= 64).then(|| s.to_string())
            });
        Self {
            api_url: api.url,
            bind_addr: api.bind_addr,
            secure_cookies: api.secure,
            session_secret: Some(session_secret).filter(|s| !s.0.is_empty()),
            session_idle_timeout: r.seconds(&["SESSION_IDLE_TIMEOUT_SECS"], 3600, 60),
            site_root: r.string(&["LEPTOS_SITE_ROOT"], "target/site"),
        }
    }
}

/// `CONTROLLER_API_URL`, taken apart.
struct ApiUrl {
    url: String,
    bind_addr: SocketAddr,
    secure: bool,
}

impl Default for ApiUrl {
    fn default() -> Self {
        Self { url: "http://localhost:8000".into(), bind_addr: SocketAddr::from(([127, 0, 0, 1], 8000)), secure: false }
    }
}

impl fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl ApiUrl {
    /// `http(s)://host:port[/…]` where host is `localhost` or an IP literal: the server binds
    /// to it, so a name that needs DNS is refused.
    fn parse(s: &str) -> Option<Self> {
        let (secure, rest) = match s.strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix("http://")?),
        };
        let authority = rest.split('/').next()?;
        let (host, port) = authority.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host {
            "localhost" => IpAddr::from([127, 0, 0, 1]),
            other => other.parse().ok()?,
        };
        Some(Self { url: s.to_string(), bind_addr: SocketAddr::new(ip, port), secure })
    }
}
