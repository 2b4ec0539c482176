//! The one error body of `/api/v1`: RFC 9457 problem details (`application/problem+json`).

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use domain::AppError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem (RFC 9457). `type` is a stable URI per kind of problem; `field` names the request
/// field at fault, for a 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:palomar:problem:<kind>`: one per kind of problem, for programs to branch on.
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind in words; the same for every problem of the kind.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// This occurrence in words.
    pub detail: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait (`Retry-After`), for a 429.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `kind` with `status`.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:palomar:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Too many requests with this token: 429, with how long to wait.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let detail = "this token made more requests than API_REQUESTS_PER_SECOND allows; wait, then retry";
        Self { retry_after: Some(retry_after_secs), ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail) }
    }

    /// A request body over the server's limit: 413.
    pub fn too_large() -> Self {
        let limit = crate::web::MAX_BODY_BYTES / 1024;
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is over the server's limit ({limit} KiB)"),
        )
    }

    /// No usable token: 401 (with `WWW-Authenticate: Bearer`).
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send a valid API token: Authorization: Bearer palomar_… (an admin makes one under Tokens in the admin UI)",
        )
    }

    /// The request's `If-Match` names another version than the current one.
    pub fn precondition(what: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("{what} changed since you read it (If-Match): read it again, then decide"),
        )
    }

    /// A request this API cannot read (bad JSON, a bad query, an unknown path).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }
}

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        if matches!(err, AppError::Unauthenticated) {
            return Self::unauthenticated();
        }
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let field = err.field().map(str::to_string);
        Self { field, ..Self::new(status, err.kind(), err.to_string()) }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthenticated = status == StatusCode::UNAUTHORIZED;
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<axum::extract::rejection::JsonRejection> for Problem {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        // A body over the limit, chunked or not, is too large rather than unreadable.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::too_large();
        }
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", rejection.body_text())
    }
}

/// Makes every error answer under `/api/v1` a problem, whoever made it: the router's own 405,
/// the body limit's 413, a 401 or 404 from outside a handler. An answer that is already a
/// problem passes as it is; the others keep their status and `Allow`, and get the kind's words.
pub async fn problems_only(request: Request, next: Next) -> Response {
    let api = request.uri().path() == "/api/v1" || request.uri().path().starts_with("/api/v1/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !api || !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let problem = match status {
        StatusCode::UNAUTHORIZED => Problem::unauthenticated(),
        StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(),
        StatusCode::NOT_FOUND => Problem::new(status, "not_found", "no such API route"),
        StatusCode::METHOD_NOT_ALLOWED => {
            Problem::new(status, "method_not_allowed", "this route does not take that method; see Allow")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Problem::new(status, "unsupported_media_type", "send the body as application/json")
        }
        _ if status.is_client_error() => Problem::bad_request("the request cannot be read"),
        _ => Problem::new(status, "internal", "the server failed to answer; see its log"),
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut answer = problem.into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

impl From<axum::extract::rejection::QueryRejection> for Problem {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for Problem {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}
