//! The live feed of a site's active moves (server-sent events). A `moves` event goes out as
//! soon as this process writes a move record (`MoveFeed`), and otherwise after a poll a second,
//! which catches writes by other instances; an unchanged list is not sent again. The session is
//! re-read from the store and the account re-checked at most once per tick, so a logout, a
//! revocation or a disabled account ends the stream within a tick. The server stopping ends it
//! at once. A session holds at most `SESSION_MAX_MOVE_STREAMS` streams open at once; one more is
//! answered 429 with `Retry-After`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use domain::AppError;

use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use palomar_core::services::Services;
use tower_sessions::Session;

use super::{guard::Guard, ShuttingDown};

/// The live feed's path.
pub const MOVE_STREAM: &str = "/api/moves/stream";

/// How often the feed polls the moves and re-checks the session.
const TICK: Duration = Duration::from_secs(1);

/// The streams each session holds open, at most `max` per session.
pub struct StreamSlots {
    max: u32,
    open: Mutex<HashMap<String, u32>>,
}

/// One open stream of a session; dropping it (the stream ended) frees its place.
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    session: String,
}

impl StreamSlots {
    pub fn new(max: u32) -> Self {
        Self { max, open: Mutex::default() }
    }

    /// A place for one more stream of `session`, if it holds fewer than the most.
    fn take(self: &Arc<Self>, session: String) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(session.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(StreamSlot { slots: self.clone(), session })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.session) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.session);
            }
        }
    }
}

/// How long a refused stream is told to wait before it tries again.
const STREAMS_RETRY_SECS: &str = "5";

/// What one stream carries from one event to the next.
struct StreamState {
    /// Its place among its session's streams.
    _slot: StreamSlot,
    guard: Arc<Guard>,
    controller: Arc<palomar_core::controller::Controller>,
    changes: tokio::sync::watch::Receiver<u64>,
    checked_at: Instant,
    /// The last `moves` event's data, or `None` before the first.
    sent: Option<String>,
    /// `None` when no serving loop stops this router (tests that call it directly).
    stopping: Option<ShuttingDown>,
}

#[derive(serde::Deserialize)]
pub struct StreamQuery {
    site_id: String,
}

pub async fn move_stream(
    State(guard): State<Arc<Guard>>,
    Extension(services): Extension<Arc<Services>>,
    stopping: Option<Extension<ShuttingDown>>,
    session: Session,
    Query(query): Query<StreamQuery>,
) -> Response {
    let Ok(site_id) = uuid::Uuid::parse_str(query.site_id.trim()) else {
        let body = serde_json::to_string(&AppError::invalid("site_id", "not a site id")).unwrap_or_default();
        return (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    };
    // The guard let this request in, so it has a stored session with an id.
    let Some(id) = session.id() else {
        return (StatusCode::UNAUTHORIZED, "please log in").into_response();
    };
    let Some(slot) = guard.streams.take(id.to_string()) else {
        let error = AppError::Conflict(format!(
            "this session already holds {} live move streams open (SESSION_MAX_MOVE_STREAMS); close one",
            guard.streams.max
        ));
        let body = serde_json::to_string(&error).unwrap_or_default();
        let headers = [(header::CONTENT_TYPE, "application/json"), (header::RETRY_AFTER, STREAMS_RETRY_SECS)];
        return (StatusCode::TOO_MANY_REQUESTS, headers, body).into_response();
    };
    let controller = services.controller_runtime();
    let changes = controller.moves().feed().subscribe();
    let stopping = stopping.map(|Extension(stopping)| stopping);
    let state =
        StreamState { _slot: slot, guard, controller, changes, checked_at: Instant::now(), sent: None, stopping };
    let stream = futures::stream::unfold(state, move |mut state| async move {
        loop {
            if state.sent.is_some() {
                let stopping = async {
                    match state.stopping.as_mut() {
                        Some(stopping) => stopping.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = state.changes.changed() => {}
                    _ = tokio::time::sleep(TICK) => {}
                    () = stopping => return None,
                }
            }
            if state.checked_at.elapsed() >= TICK {
                let fresh = (state.guard.open_session)(id);
                match state.guard.holder(&fresh).await {
                    Ok(Some(_)) => state.checked_at = Instant::now(),
                    // Ended, or the store cannot say: either way stop rather than stream unchecked.
                    Ok(None) | Err(_) => return None,
                }
            }
            let event = match state.controller.live_moves(site_id).await {
                Ok(moves) => {
                    let data = serde_json::to_string(&moves).unwrap_or_default();
                    if state.sent.as_ref() == Some(&data) {
                        continue;
                    }
                    state.sent = Some(data.clone());
                    Event::default().event("moves").data(data)
                }
                Err(err) => {
                    state.sent = Some(String::new());
                    Event::default().event("unavailable").data(err.to_string())
                }
            };
            return Some((Ok::<_, std::convert::Infallible>(event), state));
        }
    });
    // A browser's EventSource reconnects when a stream ends; the guard then answers 401,
    // which stops it for good.
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
