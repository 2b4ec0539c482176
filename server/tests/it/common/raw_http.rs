//! HTTP/1.1 over a bare TCP socket: the request goes out byte for byte and the answer comes
//! back as sent, with its exact status line and every header (repeated ones included), read
//! until the server closes the connection.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// An answer as it came over the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// `None` when the server closed the connection without a status line.
    pub status_line: Option<String>,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The server kept the connection open (after the answer, if any) past the timeout.
    pub kept_open: bool,
}

impl RawResponse {
    /// Every value of a header, in order (names compare case-insensitively).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).collect()
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.header_values(name).into_iter().next()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request: `Host`, the `Authorization` value if any, extra header lines, and the body
/// with its `Content-Length`.
pub fn request(method: &str, target: &str, authorization: Option<&str>, extra: &[&str], body: Option<&str>) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(value) = authorization {
        out.push_str(&format!("Authorization: {value}\r\n"));
    }
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    if let Some(body) = body {
        out.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    out.push_str(body.unwrap_or_default());
    out.into_bytes()
}

/// Sends `request` and reads until the server closes (at most `timeout`).
pub async fn exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> RawResponse {
    let mut raw = Vec::new();
    let mut stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(err) => panic!("cannot connect to {addr}: {err}"),
    };
    let read = async {
        if stream.write_all(request).await.is_ok() {
            let _ = stream.read_to_end(&mut raw).await;
        }
    };
    let kept_open = tokio::time::timeout(timeout, read).await.is_err();
    parse(&raw, kept_open)
}

fn parse(raw: &[u8], kept_open: bool) -> RawResponse {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(at) => (String::from_utf8_lossy(&raw[..at]).into_owned(), raw[at + 4..].to_vec()),
        None => (String::from_utf8_lossy(raw).into_owned(), Vec::new()),
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().filter(|l| !l.is_empty()).map(str::to_string);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(&body) } else { body };
    RawResponse { status_line, headers, body, kept_open }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..eol]).ok().and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else { break };
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
