use leptos::prelude::*;

use crate::server_fns::UiError;

/// Logs an operator in: checks the password, rotates the session id, then goes to `next`.
/// The one server function that needs no session. Failed logins are throttled (429 with
/// `Retry-After`; `LoginThrottle`): a browser that logged in as this operator before carries a
/// device cookie, which a stranger's failures for the account do not hold back; a successful
/// login gives the browser a fresh one.
#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String, next: String) -> Result<(), UiError> {
    use crate::server_fns::support::{
        finish, services, session, SESSION_EPOCH, SESSION_LOGIN_AT, SESSION_OPERATOR, SESSION_SEEN,
    };
    use domain::{logtext::Untrusted, validate::local_path};
    use palomar_core::services::{DeviceCookies, RequestOrigin};
    use std::sync::Arc;

    finish(
        async {
            let services = services()?;
            let parts = use_context::<http::request::Parts>();
            let origin =
                parts.as_ref().and_then(|p| p.extensions.get::<RequestOrigin>().cloned()).unwrap_or_default();
            let devices = use_context::<Arc<dyn DeviceCookies>>();
            let cookies = parts.as_ref().and_then(|p| p.headers.get(http::header::COOKIE)?.to_str().ok());
            let device = devices.as_ref().zip(cookies).and_then(|(devices, cookies)| devices.known_device(cookies));
            let logged_in = services
                .accounts()
                .verify_login(&username, &password, origin.client_addr, device.as_ref())
                .await
                .inspect_err(|err| {
                    tracing::info!(username = %Untrusted(&username), client = %Untrusted(&origin.client_ip), kind = err.kind(), "login refused");
                })?;
            let session = session().await?;
            let store_err = |e: tower_sessions::session::Error| domain::AppError::Unavailable(format!("session store: {e}"));
            // A new id at login: a session id planted before login is worthless afterwards.
            session.cycle_id().await.map_err(store_err)?;
            let now = chrono::Utc::now().timestamp();
            session.insert(SESSION_OPERATOR, &logged_in.operator.username).await.map_err(store_err)?;
            session.insert(SESSION_EPOCH, &logged_in.epoch).await.map_err(store_err)?;
            session.insert(SESSION_LOGIN_AT, now).await.map_err(store_err)?;
            session.insert(SESSION_SEEN, now).await.map_err(store_err)?;
            if let (Some(devices), Some(response)) = (devices, use_context::<leptos_axum::ResponseOptions>()) {
                let cookie = devices.issue(&logged_in.operator.username);
                if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                    response.append_header(http::header::SET_COOKIE, value);
                }
            }
            tracing::info!(username = %Untrusted(&logged_in.operator.username), role = %logged_in.operator.role, "operator logged in");
            leptos_axum::redirect(&local_path(&next).unwrap_or_else(|| "/".into()));
            Ok(())
        }
        .await,
    )
    .await
}
