//! The TCP listener every HTTP server of ours accepts on.

use std::net::SocketAddr;

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// The listener [`bind`] returns: a named type, so that `ConnectInfo<SocketAddr>` works on it.
pub type NoDelayListener = TapIo<TcpListener, fn(&mut TcpStream)>;

/// Binds `addr` with Nagle's algorithm off on every accepted connection. With it on, a
/// response written in more than one segment waits for the client's delayed ACK (about 40 ms
/// on Linux) before its last segment leaves: a page or a static file then took 40 ms where
/// `/healthz`, one segment, took 1 ms.
pub async fn bind(addr: SocketAddr) -> std::io::Result<NoDelayListener> {
    let listener = TcpListener::bind(addr).await?;
    Ok(listener.tap_io(no_delay as fn(&mut TcpStream)))
}

fn no_delay(tcp: &mut TcpStream) {
    // Only a latency option: a connection it cannot be set on still works.
    if let Err(err) = tcp.set_nodelay(true) {
        tracing::debug!(error = %err, "cannot set TCP_NODELAY");
    }
}
