//! The live feed of a site's active moves (server-sent events, one `moves` event a second).
//! Every tick re-reads the session from the store and re-checks the account, so a logout, a
//! revocation or a disabled account ends the stream within a tick.

use std::{sync::Arc, time::Duration};

use app::{domain::AppError, services::Services};
use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use tower_sessions::Session;

use super::guard::Guard;

/// The live feed's path.
pub const MOVE_STREAM: &str = "/api/moves/stream";

/// How often the feed sends the moves and re-checks the session.
const TICK: Duration = Duration::from_secs(1);

#[derive(serde::Deserialize)]
pub struct StreamQuery {
    site_id: String,
}

pub async fn move_stream(
    State(guard): State<Arc<Guard>>,
    Extension(services): Extension<Arc<Services>>,
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
    let controller = services.controller_runtime();
    let state = (guard, controller, true);
    let stream = futures::stream::unfold(state, move |(guard, controller, first)| async move {
        if !first {
            tokio::time::sleep(TICK).await;
            let fresh = (guard.open_session)(id);
            match guard.holder(&fresh).await {
                Ok(Some(_)) => {}
                // Ended, or the store cannot say: either way stop rather than stream unchecked.
                Ok(None) | Err(_) => return None,
            }
        }
        let event = match controller.live_moves(site_id).await {
            Ok(moves) => Event::default().event("moves").json_data(&moves).unwrap_or_default(),
            Err(err) => Event::default().event("unavailable").data(err.to_string()),
        };
        Some((Ok::<_, std::convert::Infallible>(event), (guard, controller, false)))
    });
    // A browser's EventSource reconnects when a stream ends; the guard then answers 401,
    // which stops it for good.
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
