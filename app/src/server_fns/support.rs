//! What every server function does around its service call: find the services and the caller,
//! and turn an error into the right HTTP answer (a status for scripts and hydrated pages,
//! a redirect carrying the message for plain HTML form posts).

use std::sync::Arc;

use http::{header, request::Parts, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use domain::{logtext::Untrusted, AppError};

use crate::server_fns::UiError;
use palomar_core::services::{Caller, RequestOrigin, Services, SessionHolder};

/// Session key holding the operator's username.
pub const SESSION_OPERATOR: &str = "operator";
/// Session key holding the account's session epoch at login (see `Accounts::end_sessions`).
pub const SESSION_EPOCH: &str = "epoch";
/// Session key holding the login time (Unix seconds): the absolute limit counts from it.
pub const SESSION_LOGIN_AT: &str = "login_at";
/// Session key holding when the session was last seen (Unix seconds): touching it slides the
/// idle expiry.
pub const SESSION_SEEN: &str = "seen";

/// The operator the login guard found behind this request's session, checked against the
/// store in this same request (so that a server function need not read it again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOperator(pub SessionHolder);

pub fn services() -> Result<Arc<Services>, AppError> {
    use_context::<Arc<Services>>().ok_or_else(|| AppError::Internal("services are not configured".into()))
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| AppError::Internal(format!("no session layer: {e}")))
}

/// The operator behind this request, re-read from the store so that a disabled account, a
/// changed role or a revocation (password reset, disable, role change) takes effect at once.
pub async fn caller() -> Result<(Caller, Arc<Services>), AppError> {
    let services = services()?;
    let parts = use_context::<Parts>();
    let origin = parts.as_ref().and_then(|p| p.extensions.get::<RequestOrigin>().cloned()).unwrap_or_default();
    if let Some(CheckedOperator(op)) = parts.as_ref().and_then(|p| p.extensions.get::<CheckedOperator>()) {
        return Ok((Caller::from_session(op.clone(), origin), services));
    }
    let session = session().await?;
    match session_holder(&services, &session).await? {
        Some(holder) => Ok((Caller::from_session(holder, origin), services)),
        None => Err(AppError::Unauthenticated),
    }
}

/// The account behind `session` if the session still stands; a session that no longer does
/// (account gone or disabled, or revoked since its login) is ended here.
pub async fn session_holder(services: &Services, session: &Session) -> Result<Option<SessionHolder>, AppError> {
    let store_err = |e: tower_sessions::session::Error| AppError::Unavailable(format!("session store: {e}"));
    let Some(username) = session.get::<String>(SESSION_OPERATOR).await.map_err(store_err)? else {
        return Ok(None);
    };
    let epoch = session.get::<String>(SESSION_EPOCH).await.map_err(store_err)?.unwrap_or_default();
    let holder = services.accounts().session_holder(&username, &epoch).await?;
    if holder.is_none() {
        let _ = session.flush().await;
    }
    Ok(holder)
}

/// Session key holding a plain form post's error until the page it was sent back to shows it.
pub const SESSION_FORM_ERROR: &str = "form_error";

/// A plain form post's error, taken from the session for the page being rendered (the login
/// guard puts it in the request's extensions).
#[derive(Debug, Clone, PartialEq)]
pub struct FormFlash(pub AppError);

/// Finishes a server function: on error, answers with the error's status, or for a plain form
/// post (no JavaScript) redirects back to the form with the error's kind in the query string
/// and its message in the session.
pub async fn finish<T>(result: Result<T, AppError>) -> Result<T, UiError> {
    if let Err(err) = &result {
        let parts = use_context::<Parts>();
        let plain_form_post = parts.as_ref().is_some_and(is_plain_form_post);
        if plain_form_post {
            let back = match err {
                AppError::Unauthenticated => "/login".to_string(),
                _ => {
                    keep_for_the_page(err).await;
                    with_error(parts.as_ref().and_then(referer_path).unwrap_or_else(|| "/".into()), err)
                }
            };
            leptos_axum::redirect(&back);
        } else if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
            if let AppError::Throttled { retry_after_secs } = err {
                res.insert_header(header::RETRY_AFTER, http::HeaderValue::from(*retry_after_secs));
            }
        }
        if matches!(err, AppError::Internal(_) | AppError::Unavailable(_)) {
            tracing::warn!(error = %Untrusted(&err), kind = err.kind(), "server function failed");
        }
    }
    result.map_err(UiError)
}

/// Whether this request is a browser's form post made without JavaScript (its answer is a
/// redirect, so a result must travel another way, e.g. in the session).
pub fn plain_form_post() -> bool {
    use_context::<Parts>().as_ref().is_some_and(is_plain_form_post)
}

/// A browser's form submission to a server function, made without JavaScript. (A page being
/// rendered also accepts HTML, but it is a GET of the page, and its errors show in the page.)
fn is_plain_form_post(parts: &Parts) -> bool {
    parts.method == http::Method::POST
        && parts.uri.path().starts_with("/api/")
        && parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// The path and query of the Referer, only when it is a local path (never an open redirect).
fn referer_path(parts: &Parts) -> Option<String> {
    let referer = parts.headers.get(header::REFERER)?.to_str().ok()?;
    let after_scheme = referer.split_once("://").map(|(_, rest)| rest).unwrap_or(referer);
    let path = &after_scheme[after_scheme.find('/')?..];
    domain::validate::local_path(path)
}

/// Keeps a plain form post's error in the session for the page it goes back to. Without a
/// session store the page shows the kind's standing text instead.
async fn keep_for_the_page(err: &AppError) {
    let Ok(session) = session().await else { return };
    if let Err(store) = session.insert(SESSION_FORM_ERROR, err).await {
        tracing::warn!(error = %Untrusted(&store), "cannot keep a form's error for its page");
    }
}

/// `path` with the error's kind (and field) in its query: words of closed sets only.
fn with_error(path: String, err: &AppError) -> String {
    let (base, query) = path.split_once('?').unwrap_or((&path, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("error=") && !p.starts_with("field="))
        .map(str::to_string)
        .collect();
    pairs.push(format!("error={}", err.error_kind()));
    if let Some(field) = err.field().filter(|f| crate::components::is_field_name(f)) {
        pairs.push(format!("field={field}"));
    }
    format!("{base}?{}", pairs.join("&"))
}

/// Percent-encodes everything but unreserved characters, so the result is a valid header value.
pub use super::support_client::encode as percent_encode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_query_replaces_previous_error() {
        let err = AppError::invalid("name", "Name is required");
        assert_eq!(
            with_error("/sites/new?error=x&field=y&a=1".into(), &err),
            "/sites/new?a=1&error=invalid&field=name"
        );
    }
}
