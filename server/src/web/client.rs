//! Who the client is: the peer address, or what a trusted proxy says in `X-Forwarded-For`.
//! The audit log records it and the login throttle counts failures against it, so a client
//! must not be able to pick it (`TRUSTED_PROXIES`).

use std::net::IpAddr;

use axum::{
    extract::{ConnectInfo, Request},
    http::header,
};
use palomar_core::services::RequestOrigin;

use crate::config::IpNet;

/// At most this many `X-Forwarded-For` hops are looked at: proxies are few.
const MAX_HOPS: usize = 16;

/// The client of `request`: its peer, unless the peer is a trusted proxy, in which case the
/// `X-Forwarded-For` chain is read from the right, past the trusted proxies, to the first
/// address that is not one.
pub fn request_origin(request: &Request, trusted: &[IpNet]) -> RequestOrigin {
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let client = peer.map(|peer| client_address(peer, forwarded, trusted));
    let client_ip = match (client, peer) {
        (Some(client), Some(peer)) if client != peer => format!("{client} via {peer}"),
        (Some(client), _) => client.to_string(),
        (None, _) => "unknown".into(),
    };
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect())
        .unwrap_or_default();
    RequestOrigin { client_ip, user_agent, client_addr: client }
}

fn client_address(peer: IpAddr, forwarded: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(peer) {
        return client;
    }
    let Some(chain) = forwarded else { return client };
    for hop in chain.rsplit(',').take(MAX_HOPS) {
        // Anything unreadable ends the walk: the last proxy we trust is then the client.
        let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| IpNet::parse(s).unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let none = nets(&[]);
        assert_eq!(client_address(ip("203.0.113.9"), Some("198.51.100.1"), &none), ip("203.0.113.9"));
        let proxy = nets(&["10.0.0.0/8"]);
        assert_eq!(client_address(ip("203.0.113.9"), Some("198.51.100.1"), &proxy), ip("203.0.113.9"), "not a proxy");
        assert_eq!(client_address(ip("10.0.0.2"), Some("198.51.100.1"), &proxy), ip("198.51.100.1"));
        assert_eq!(client_address(ip("10.0.0.2"), None, &proxy), ip("10.0.0.2"));
        // The client may put anything on the left; only the hop our proxy added counts.
        assert_eq!(client_address(ip("10.0.0.2"), Some("1.2.3.4, 198.51.100.1, 10.0.0.7"), &proxy), ip("198.51.100.1"));
        assert_eq!(client_address(ip("10.0.0.2"), Some("garbage, 10.0.0.7"), &proxy), ip("10.0.0.7"));
    }
}
