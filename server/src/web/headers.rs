//! Security headers on every answer. The pages' Content-Security-Policy carries the nonce of
//! the page's own scripts, so the page sets it while it renders (`app::shell`); answers that
//! are not pages get a policy that allows nothing.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

/// For answers that render nothing (JSON, redirects, text, assets).
const NOTHING_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Adds frame protection, `nosniff`, the Referrer-Policy, a CSP where the page set none, and
/// `no-store` on everything but the built assets (pages and server-function answers hold
/// cluster data and must not stay in caches) and the route API's answers (a proxy may keep
/// those for their `private, max-age`).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let asset = is_asset(request.uri().path()) || request.uri().path() == super::ROUTE_API;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: a form posted without JavaScript is sent back to its page
    // with the error, which needs the Referer; and the CSRF check falls back on it.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(NOTHING_POLICY));
    }
    if !asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The built CSS, JS and wasm, and the icon: the same for everyone, so they may be cached.
fn is_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/favicon")
}
