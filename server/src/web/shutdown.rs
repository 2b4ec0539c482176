//! Stopping the HTTP server. Axum's graceful shutdown waits for every open request, and a live
//! feed (`stream`) never ends by itself: one browser tab left open would keep the process alive
//! after SIGTERM until the service manager kills it. So the signal ends the live feeds at once,
//! and whatever else is still open after `GRACE` is dropped.

use std::{
    future::{Future, IntoFuture},
    time::Duration,
};

use axum::{extract::connect_info::IntoMakeServiceWithConnectInfo, Extension, Router};
use tokio::sync::watch;

use super::NoDelayListener;

/// How long requests other than live feeds may take to finish once the server is told to stop.
pub const GRACE: Duration = Duration::from_secs(5);

/// Told when the server stops; a live feed holds one (an `Extension` the serving loop adds) and
/// ends its stream when told.
#[derive(Clone)]
pub struct ShuttingDown(watch::Receiver<bool>);

impl ShuttingDown {
    /// Returns once the server is stopping (at once if it already is).
    pub async fn notified(&mut self) {
        // An error means the sender is gone, which also means the server is stopping.
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// Serves `app` on `listener` until `signal` completes, then stops as described above.
pub async fn serve_until(
    listener: NoDelayListener,
    app: Router,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tell, told) = watch::channel(false);
    let app: IntoMakeServiceWithConnectInfo<Router, std::net::SocketAddr> =
        app.layer(Extension(ShuttingDown(told.clone()))).into_make_service_with_connect_info();
    let stopping = async move {
        signal.await;
        tracing::info!("stopping: live feeds end now, other requests have {} s", GRACE.as_secs());
        let _ = tell.send(true);
    };
    let mut deadline = ShuttingDown(told);
    let server = axum::serve(listener, app).with_graceful_shutdown(stopping);
    tokio::select! {
        served = server.into_future() => served,
        () = async { deadline.notified().await; tokio::time::sleep(GRACE).await } => {
            tracing::warn!("stopping: requests still open after {} s are dropped", GRACE.as_secs());
            Ok(())
        }
    }
}
