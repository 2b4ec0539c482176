//! Bounded HTTP exchanges for the clients of outside services (doveadm, Prometheus): a whole
//! exchange has one deadline, and a body is read piece by piece up to a cap, so a server
//! that stalls or streams without end costs a bounded time and memory.

use std::{future::Future, time::Duration};

/// Why a bounded exchange gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundedError {
    /// The request or the body failed in transport (connect, reset, the client's own timeout).
    #[error("{0}")]
    Transport(String),
    /// Nothing complete came within the deadline.
    #[error("no complete answer within {} ms", .0.as_millis())]
    Deadline(Duration),
    /// The body is larger than the cap (said so by Content-Length, or found while reading).
    #[error("the answer is larger than {} (the most read)", bytes(*.0))]
    TooLarge(usize),
}

/// Runs `exchange` (send and read) with an overall `deadline`.
pub async fn within<T>(
    deadline: Duration,
    exchange: impl Future<Output = Result<T, BoundedError>>,
) -> Result<T, BoundedError> {
    tokio::time::timeout(deadline, exchange).await.unwrap_or(Err(BoundedError::Deadline(deadline)))
}

/// Reads the body of `response`, refusing it once it passes `cap` bytes.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, BoundedError> {
    if response.content_length().is_some_and(|len| len > cap as u64) {
        return Err(BoundedError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| BoundedError::Transport(error_chain(e)))? {
        if body.len() + chunk.len() > cap {
            return Err(BoundedError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error with its causes, without the URL: a URL may carry credentials.
pub fn error_chain(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn bytes(n: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}
