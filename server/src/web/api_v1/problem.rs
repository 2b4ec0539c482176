//! The one error body of `/api/v1`: RFC 9457 problem details (`application/problem+json`).

use axum::{
    http::{header, HeaderValue, StatusCode},
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
        }
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
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
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
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", rejection.body_text())
    }
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
