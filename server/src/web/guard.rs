//! The login guard: without a session that still stands, a page request goes to the login
//! page and a server function call gets 401 before its arguments are even read. (Each server
//! function checks the session and the role again itself; this guard makes forgetting
//! impossible.) A session stands while it is younger than the absolute limit, the account is
//! enabled and nothing revoked it since login; each use slides its idle expiry.

use std::{sync::Arc, time::Duration};

use domain::AppError;
use palomar_core::services::SessionHolder;

use app::server_fns::support::{
    self, CheckedOperator, FormFlash, SESSION_FORM_ERROR, SESSION_LOGIN_AT, SESSION_OPERATOR, SESSION_SEEN,
};

use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use palomar_core::services::Services;
use tower_sessions::{session::Id, Session};

use super::client::request_origin;
use crate::config::IpNet;

/// The one server function callable without a session.
pub const LOGIN_FUNCTION: &str = "/api/auth/login";

/// Opens the stored session `Id` afresh, bypassing what a request already loaded (the move
/// stream re-reads its session every tick).
pub type SessionOpener = Arc<dyn Fn(Id) -> Session + Send + Sync>;

/// What the guard needs: the services, the session limits and the trusted proxies.
pub struct Guard {
    pub services: Arc<Services>,
    /// A session ends this long after login, however active.
    pub absolute_timeout: Duration,
    /// A session is saved again (sliding its idle expiry) once this long has passed since it
    /// was last saved: a tenth of the idle timeout, so the expiry is never more than 10% short.
    pub touch_every: Duration,
    pub trusted_proxies: Vec<IpNet>,
    pub open_session: SessionOpener,
    /// The live move streams each session holds open.
    pub streams: Arc<super::stream::StreamSlots>,
}

impl Guard {
    /// The account behind `session`, if the session still stands; one that does not is ended.
    pub async fn holder(&self, session: &Session) -> Result<Option<SessionHolder>, AppError> {
        let store_err = |e: tower_sessions::session::Error| AppError::Unavailable(format!("session store: {e}"));
        if session.get::<String>(SESSION_OPERATOR).await.map_err(store_err)?.is_none() {
            return Ok(None);
        }
        let login_at = session.get::<i64>(SESSION_LOGIN_AT).await.map_err(store_err)?;
        let age = login_at.map(|at| now_secs().saturating_sub(at));
        let limit = i64::try_from(self.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
        // A session without a login time predates the limit: it ends too.
        if age.is_none_or(|age| age > limit) {
            let _ = session.flush().await;
            return Ok(None);
        }
        support::session_holder(&self.services, session).await
    }

    /// Slides the idle expiry: a changed session is saved, and its cookie sent again.
    async fn touch(&self, session: &Session) {
        let now = now_secs();
        let seen = session.get::<i64>(SESSION_SEEN).await.ok().flatten().unwrap_or(0);
        let every = i64::try_from(self.touch_every.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(seen) >= every {
            let _ = session.insert(SESSION_SEEN, now).await;
        }
    }
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Paths anyone may load: the login page and its server function, assets, the health check,
/// and the route API (which checks its own token).
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == LOGIN_FUNCTION
        || path == "/healthz"
        || path == "/metrics"
        // Proxies authenticate with their token, not a session.
        || path == super::ROUTE_API
        || path.starts_with("/pkg/")
        || path.starts_with("/favicon")
}

/// Whether `path` means what it says: no `.` or `..` segment, no empty segment (`//`), and
/// no escaped `/`, `\`, `.` segment or control character. Anything else could route somewhere
/// other than where the guard looked (`/pkg/../operators`), so it is refused outright.
pub fn is_normal(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    if rest.is_empty() {
        return true;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    segments.iter().enumerate().all(|(i, segment)| {
        if segment.is_empty() {
            return i == last; // a trailing slash only
        }
        match percent_decode(segment) {
            Some(decoded) => {
                decoded != "." && decoded != ".." && !decoded.chars().any(|c| c == '/' || c == '\\' || c.is_control())
            }
            None => false,
        }
    })
}

/// Percent-decodes one segment; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether a page's address says a form post was sent back to it with an error (`error=`).
fn carries_an_error(uri: &axum::http::Uri) -> bool {
    uri.query().is_some_and(|query| query.split('&').any(|pair| pair.starts_with("error=")))
}

/// The guard itself (see the module's documentation).
pub async fn require_login(
    State(guard): State<Arc<Guard>>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let origin = request_origin(&request, &guard.trusted_proxies);
    request.extensions_mut().insert(origin);
    let path = request.uri().path().to_owned();
    let path = path.as_str();
    if !is_normal(path) {
        return (StatusCode::BAD_REQUEST, "this path is not in normal form (no '.', '..' or empty segments)")
            .into_response();
    }
    if path == LOGIN_FUNCTION {
        return bad_arguments_are_client_errors(next.run(request).await).await;
    }
    if request.method() == Method::GET && !path.starts_with("/api/") && carries_an_error(request.uri()) {
        // The message of the form post that sent the browser back here, shown once.
        if let Ok(Some(kept)) = session.remove::<AppError>(SESSION_FORM_ERROR).await {
            request.extensions_mut().insert(FormFlash(kept));
        }
    }
    if is_public(path) {
        return next.run(request).await;
    }
    match guard.holder(&session).await {
        Ok(Some(operator)) => {
            guard.touch(&session).await;
            let api = path.starts_with("/api/");
            request.extensions_mut().insert(CheckedOperator(operator));
            let response = next.run(request).await;
            if api {
                bad_arguments_are_client_errors(response).await
            } else {
                response
            }
        }
        Ok(None) if path.starts_with("/api/") => {
            let body = serde_json::to_string(&AppError::Unauthenticated).unwrap_or_default();
            (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(None) if request.method() == Method::GET => {
            let target = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
            let login = format!("/login?next={}", app::server_fns::support::percent_encode(target));
            Redirect::to(&login).into_response()
        }
        Ok(None) => (StatusCode::UNAUTHORIZED, "please log in").into_response(),
        Err(err) => {
            tracing::warn!(error = %domain::logtext::Untrusted(&err), "session or operator store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "session store unavailable, try again shortly",
            )
                .into_response()
        }
    }
}

/// Leptos answers 500 when a server function's arguments do not even deserialize (a field
/// missing or mistyped): that is the caller's mistake, so say 422 with the same message.
async fn bad_arguments_are_client_errors(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body too large").into_response();
    };
    if matches!(serde_json::from_slice::<AppError>(&bytes), Ok(AppError::Invalid { .. })) {
        parts.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_normal_paths_pass() {
        for ok in ["/", "/sites", "/sites/", "/pkg/palomar.js", "/sites/x/groups/default-1", "/login", "/a%20b"] {
            assert!(is_normal(ok), "{ok}");
        }
        for bad in [
            "/pkg/../operators",
            "/pkg/%2e%2e/operators",
            "/pkg/%2E%2E/operators",
            "/pkg/./x",
            "//operators",
            "/pkg//operators",
            "/pkg/a%2foperators",
            "/pkg/%5c..",
            "/x%00",
            "/x%zz",
            "/%ff",
            "relative",
        ] {
            assert!(!is_normal(bad), "{bad}");
        }
    }
}
