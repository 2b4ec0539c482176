//! The web server and its sessions: `CONTROLLER_API_URL`, `CONTROLLER_PUBLIC_URL`, `SESSION_*`,
//! `TRUSTED_PROXIES`, `LEPTOS_SITE_ROOT`.

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
    /// `CONTROLLER_PUBLIC_URL` (by default `CONTROLLER_API_URL`) is https: cookies get the
    /// `Secure` flag.
    pub secure_cookies: bool,
    /// The origin (`scheme://host[:port]`, default port left out) of `CONTROLLER_PUBLIC_URL`:
    /// the only one a state-changing request may come from.
    pub public_origin: String,
    /// `SESSION_SECRET`: required by `serve` only, so checked there.
    pub session_secret: Option<Secret>,
    /// `SESSION_IDLE_TIMEOUT_SECS`: an idle session expires.
    pub session_idle_timeout: Duration,
    /// `SESSION_ABSOLUTE_TIMEOUT_SECS`: a session ends this long after login, active or not.
    pub session_absolute_timeout: Duration,
    /// `TRUSTED_PROXIES`: the peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// `LEPTOS_SITE_ROOT`: where the built CSS, JS and wasm are served from.
    pub site_root: String,
    /// `SESSION_MAX_MOVE_STREAMS`: live move streams one session may hold open at once.
    pub max_move_streams: u32,
    /// `API_REQUESTS_PER_SECOND`: requests one API token may make per second (twice as many in
    /// a burst).
    pub api_requests_per_second: u32,
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
        let public = r.get(
            &["CONTROLLER_PUBLIC_URL"],
            PublicUrl(None),
            "an http:// or https:// URL, e.g. https://palomar.example.net",
            |s| origin_of(s).map(|origin| PublicUrl(Some(origin))),
        );
        let public_origin = public.0.or_else(|| origin_of(&api.url)).unwrap_or_else(|| "http://localhost:8000".into());
        let idle = r.seconds(&["SESSION_IDLE_TIMEOUT_SECS"], 3600, 60);
        // The absolute limit may not be shorter than the idle one; by default it is 12 hours.
        let absolute = r.get(
            &["SESSION_ABSOLUTE_TIMEOUT_SECS"],
            idle.as_secs().max(12 * 3600),
            "a whole number of seconds, at least SESSION_IDLE_TIMEOUT_SECS and at most 315360000",
            |s| s.parse::<u64>().ok().filter(|v| *v >= idle.as_secs() && *v <= 10 * 365 * 24 * 3600),
        );
        let trusted_proxies = r.get(
            &["TRUSTED_PROXIES"],
            ProxyList(Vec::new()),
            "IP addresses or CIDR ranges separated by commas, e.g. 10.0.0.1,192.168.0.0/16",
            ProxyList::parse,
        );
        Self {
            api_url: api.url,
            bind_addr: api.bind_addr,
            secure_cookies: public_origin.starts_with("https://"),
            public_origin,
            session_secret: Some(session_secret).filter(|s| !s.0.is_empty()),
            session_idle_timeout: idle,
            session_absolute_timeout: Duration::from_secs(absolute),
            trusted_proxies: trusted_proxies.0,
            site_root: r.string(&["LEPTOS_SITE_ROOT"], "target/site"),
            max_move_streams: r.number(&["SESSION_MAX_MOVE_STREAMS"], 4u32, 1, 64),
            api_requests_per_second: r.number(&["API_REQUESTS_PER_SECOND"], 20u32, 1, 10_000),
        }
    }
}

/// `CONTROLLER_API_URL`, taken apart.
struct ApiUrl {
    url: String,
    bind_addr: SocketAddr,
}

impl Default for ApiUrl {
    fn default() -> Self {
        Self { url: "http://localhost:8000".into(), bind_addr: SocketAddr::from(([127, 0, 0, 1], 8000)) }
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
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"))?;
        let authority = rest.split('/').next()?;
        let (host, port) = authority.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host {
            "localhost" => IpAddr::from([127, 0, 0, 1]),
            other => other.parse().ok()?,
        };
        Some(Self { url: s.to_string(), bind_addr: SocketAddr::new(ip, port) })
    }
}

/// `CONTROLLER_PUBLIC_URL` as read: unset means "the same as `CONTROLLER_API_URL`".
struct PublicUrl(Option<String>);

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(""))
    }
}

/// The origin of an `http(s)://` URL as browsers send it in `Origin`: lower-case scheme and
/// host, the port only when it is not the scheme's default. `None` when it is not such a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // An IPv6 literal has colons of its own: the port is after the closing bracket.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority.as_str(), None),
    };
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':')) {
        return None;
    }
    match port {
        Some(port) if port.parse::<u16>().is_err() => None,
        Some(port) if port != default_port => Some(format!("{scheme}://{host}:{port}")),
        _ => Some(format!("{scheme}://{host}")),
    }
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`, or one address as `/32`, `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `ip` or `ip/prefix`; `None` when it is neither.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr.trim().parse::<IpAddr>().ok()?, Some(prefix.trim().parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as its IPv4 form).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `TRUSTED_PROXIES` as read.
struct ProxyList(Vec<IpNet>);

impl ProxyList {
    /// At most 256 entries: a list of proxies, not a database.
    fn parse(s: &str) -> Option<Self> {
        let nets: Option<Vec<IpNet>> = s.split(',').filter(|p| !p.trim().is_empty()).map(IpNet::parse).collect();
        nets.filter(|n| n.len() <= 256).map(Self)
    }
}

impl fmt::Display for ProxyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&parts.join(","))
    }
}
