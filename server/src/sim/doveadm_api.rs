//! The doveadm HTTP API of a simulated backend, shaped like Dovecot's (spec section (e) and the
//! CE captures): `GET /`, `GET /doveadm/v1`, `POST /doveadm/v1`, Basic `doveadm:<password>` or
//! `X-Dovecot-API <base64 key>`, `doveadmResponse` / `error` answers, 400/401/404.

use app::domain::logtext::Untrusted;
use std::sync::Arc;

use app::domain::{
    cluster::glob,
    geodb::{User, UserGroup},
};
use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{DoveadmMode, Simulator};

/// The credentials a backend accepts.
#[derive(Clone, Debug)]
pub struct DoveadmCredentials {
    pub password: Option<String>,
    pub api_key: Option<String>,
}

#[derive(Clone)]
struct ApiState {
    sim: Arc<Simulator>,
    host: String,
    credentials: DoveadmCredentials,
}

/// A parameter's type, as `GET /doveadm/v1` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParamType {
    String,
    Boolean,
    Integer,
}

impl ParamType {
    fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
        }
    }
}

/// The cluster commands the simulator serves, with their parameters (camelCase, as the API
/// names them). Positional names follow the man pages' synopses (spec H-12).
const COMMANDS: &[(&str, &[(&str, ParamType)])] = &[
    ("clusterBackendList", &[("site", ParamType::String)]),
    ("clusterBackendStatus", &[("host", ParamType::String)]),
    (
        "clusterBackendUpdate",
        &[("host", ParamType::String), ("status", ParamType::String), ("loadFactor", ParamType::Integer)],
    ),
    ("clusterGroupAccess", &[("group", ParamType::String)]),
    ("clusterGroupList", &[("mask", ParamType::String)]),
    (
        "clusterGroupMove",
        &[
            ("site", ParamType::String),
            ("group", ParamType::String),
            ("host", ParamType::String),
            ("direct", ParamType::Boolean),
        ],
    ),
    ("clusterGroupStatus", &[("site", ParamType::String), ("group", ParamType::String)]),
    ("clusterKick", &[("user", ParamType::String)]),
    ("clusterUserAccess", &[("user", ParamType::String)]),
    (
        "clusterUserMove",
        &[
            ("user", ParamType::String),
            ("group", ParamType::String),
            ("failoverGroup", ParamType::String),
            ("site", ParamType::String),
            ("direct", ParamType::Boolean),
        ],
    ),
    ("clusterUserStatus", &[("user", ParamType::String)]),
];

/// doveadm exit codes (sysexits) the commands use.
const EX_USAGE: i64 = 64;
const EX_DATAERR: i64 = 65;
const EX_NOUSER: i64 = 67;
const EX_NOHOST: i64 = 68;
const EX_TEMPFAIL: i64 = 75;

/// The router of one backend's doveadm HTTP listener.
pub fn router(sim: Arc<Simulator>, host: String, credentials: DoveadmCredentials) -> Router {
    Router::new()
        .route("/", get(mounts))
        .route("/doveadm/v1", get(command_list).post(run_commands))
        .fallback(not_found)
        .with_state(ApiState { sim, host, credentials })
}

fn with_close(mut response: Response) -> Response {
    // Dovecot closes the connection after each request.
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn text(status: StatusCode, body: &str) -> Response {
    with_close((status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{body}\n")).into_response())
}

fn json_response(value: &Value) -> Response {
    with_close(([(header::CONTENT_TYPE, "application/json; charset=utf-8")], value.to_string()).into_response())
}

/// 401 as Dovecot sends it: empty body, both challenges.
fn unauthorized() -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let headers = response.headers_mut();
    headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("X-Dovecot-API"));
    headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic Realm=\"doveadm\""));
    with_close(response)
}

/// `Err` carries the refusal to send (boxed: a response is large).
fn authorized(state: &ApiState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let creds = &state.credentials;
    if creds.password.is_none() && creds.api_key.is_none() {
        return Err(Box::new(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "doveadm_password or doveadm_api_key not configured",
        )));
    }
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(Box::new(unauthorized()));
    };
    let decode = |b64: &str| STANDARD.decode(b64.trim()).ok().and_then(|b| String::from_utf8(b).ok());
    let ok = if let Some(b64) = value.strip_prefix("Basic ") {
        decode(b64).is_some_and(|pair| creds.password.as_ref().is_some_and(|p| pair == format!("doveadm:{p}")))
    } else if let Some(b64) = value.strip_prefix("X-Dovecot-API ") {
        decode(b64).is_some_and(|key| creds.api_key.as_ref() == Some(&key))
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(Box::new(unauthorized()))
    }
}

async fn mounts(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let body = "[\n{\"method\":\"OPTIONS\",\"path\":\"*\"},\n{\"method\":\"GET\",\"path\":\"/\"},\n{\"method\":\"GET\",\"path\":\"/doveadm/v1\"},\n{\"method\":\"POST\",\"path\":\"/doveadm/v1\"}\n]";
    with_close(([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response())
}

async fn command_list(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let list: Vec<Value> = COMMANDS
        .iter()
        .map(|(name, params)| {
            let params: Vec<Value> = params.iter().map(|(p, t)| json!({"name": p, "type": t.name()})).collect();
            json!({"command": name, "parameters": params})
        })
        .collect();
    json_response(&Value::Array(list))
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "Path Not Found")
}

async fn run_commands(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("JSON parse error: {e}")),
    };
    let Value::Array(commands) = parsed else { return text(StatusCode::BAD_REQUEST, "Request must be a JSON array") };
    // Elements are written by hand so that error objects keep Dovecot's key order and spacing.
    let mut answers: Vec<String> = Vec::with_capacity(commands.len());
    for command in commands {
        let Value::Array(parts) = command else { return text(StatusCode::BAD_REQUEST, "Command must be a JSON array") };
        let (Some(Value::String(name)), Some(params), Some(Value::String(tag))) =
            (parts.first(), parts.get(1), parts.get(2))
        else {
            return text(StatusCode::BAD_REQUEST, "Command must be [name, {parameters}, \"tag\"]");
        };
        let Value::Object(params) = params else {
            return text(StatusCode::BAD_REQUEST, "Parameters must be a JSON object");
        };
        let tag = Value::String(tag.clone());
        let answer = match run_one(&state, name, params).await {
            Ok(rows) => format!("[\"doveadmResponse\",{},{tag}]", Value::Array(rows)),
            Err(CommandError::Http(status, message)) => return text(status, &message),
            Err(CommandError::Exit(code)) => {
                format!("[\"error\",{{\"type\":\"exitCode\", \"exitCode\":{code}}},{tag}]")
            }
            Err(CommandError::Kind(kind)) => format!("[\"error\",{{\"type\":\"{kind}\", \"exitCode\":0}},{tag}]"),
        };
        answers.push(answer);
    }
    with_close(
        ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], format!("[{}]", answers.join(",")))
            .into_response(),
    )
}

enum CommandError {
    /// The request as a whole is refused (e.g. a boolean parameter that is not true/false).
    Http(StatusCode, String),
    /// The command ran and failed.
    Exit(i64),
    /// unknownMethod, invalidRequest, internalError.
    Kind(&'static str),
}

/// Checked parameters of one command.
struct Params(Map<String, Value>);

impl Params {
    fn string(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    fn required(&self, name: &str) -> Result<String, CommandError> {
        self.string(name).filter(|s| !s.is_empty()).ok_or(CommandError::Exit(EX_USAGE))
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(Value::Bool(true)))
    }
}

fn check_params(name: &str, params: &Map<String, Value>) -> Result<(&'static str, Params), CommandError> {
    // Names match case-insensitively, as Dovecot's i_strccdascmp does.
    let Some((canonical, spec)) = COMMANDS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        return Err(CommandError::Kind("unknownMethod"));
    };
    for (key, value) in params {
        let Some((_, kind)) = spec.iter().find(|(p, _)| p == key) else {
            return Err(CommandError::Kind("invalidRequest"));
        };
        match (kind, value) {
            (ParamType::Boolean, Value::Bool(_)) => {}
            (ParamType::Boolean, _) => {
                return Err(CommandError::Http(
                    StatusCode::BAD_REQUEST,
                    format!("Parameter `{key}' must be `true' or `false'"),
                ));
            }
            (ParamType::Integer, Value::Number(_)) => {}
            (ParamType::Integer, Value::String(s)) if s.parse::<i64>().is_ok() => {}
            (ParamType::Integer, _) => return Err(CommandError::Kind("invalidRequest")),
            (ParamType::String, Value::Array(_) | Value::Object(_)) => {
                return Err(CommandError::Kind("invalidRequest"))
            }
            (ParamType::String, _) => {}
        }
    }
    Ok((canonical, Params(params.clone())))
}

fn store_error(err: app::ports::StoreError) -> CommandError {
    tracing::warn!(error = %Untrusted(&err), "doveadm command failed on the GeoDB");
    CommandError::Exit(EX_TEMPFAIL)
}

async fn run_one(state: &ApiState, name: &str, params: &Map<String, Value>) -> Result<Vec<Value>, CommandError> {
    let (command, params) = check_params(name, params)?;
    if state.sim.faults(&state.host).is_some_and(|f| f.doveadm == DoveadmMode::Error) {
        return Err(CommandError::Exit(EX_TEMPFAIL));
    }
    let sim = &state.sim;
    let geodb = sim.geodb();
    match command {
        "clusterBackendList" => {
            let site = params.string("site").filter(|s| !s.is_empty());
            Ok(sim
                .backends()
                .into_iter()
                .filter(|b| site.as_ref().is_none_or(|s| *s == b.site))
                .map(backend_row)
                .collect())
        }
        "clusterBackendStatus" => {
            let host = params.required("host")?;
            sim.backends()
                .into_iter()
                .find(|b| b.host == host)
                .map(|b| vec![backend_row(b)])
                .ok_or(CommandError::Exit(EX_NOHOST))
        }
        "clusterBackendUpdate" => {
            let host = params.required("host")?;
            let info = sim.backends().into_iter().find(|b| b.host == host).ok_or(CommandError::Exit(EX_NOHOST))?;
            let site_id = site_id(sim, &info.site).await?;
            let mut row = geodb
                .list_backends(site_id, app::domain::PageRequest::first(500))
                .await
                .map_err(store_error)?
                .items
                .into_iter()
                .find(|b| b.id == info.id)
                .ok_or(CommandError::Exit(EX_NOHOST))?;
            if let Some(status) = params.string("status") {
                row.status = status.parse().map_err(|_| CommandError::Exit(EX_USAGE))?;
            }
            if let Some(lf) = params.string("loadFactor") {
                row.load_factor =
                    lf.parse::<i32>().ok().filter(|v| (0..=100).contains(v)).ok_or(CommandError::Exit(EX_USAGE))?;
            }
            geodb.put_backend(&row).await.map_err(store_error)?;
            sim.refresh_topology().await.map_err(store_error)?;
            Ok(vec![])
        }
        "clusterGroupList" => {
            let mask = params.string("mask").unwrap_or_default();
            let info = own_backend(state)?;
            let site_id = site_id(sim, &info.site).await?;
            let mut rows = Vec::new();
            let mut cursor = None;
            loop {
                let page = geodb
                    .list_groups(site_id, app::domain::PageRequest::after(cursor, 500))
                    .await
                    .map_err(store_error)?;
                rows.extend(
                    page.items
                        .iter()
                        .filter(|g| mask.is_empty() || glob(&mask, &g.name))
                        .map(|g| group_row(sim, &info.site, g)),
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Ok(rows)
        }
        "clusterGroupStatus" => {
            let (site, group) = (params.required("site")?, params.required("group")?);
            let site_id = site_id(sim, &site).await?;
            let group =
                geodb.get_group(site_id, &group).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOHOST))?;
            Ok(vec![group_row(sim, &site, &group)])
        }
        "clusterGroupMove" => {
            let (site, name, host) = (params.required("site")?, params.required("group")?, params.required("host")?);
            let site_id = site_id(sim, &site).await?;
            let destination = sim
                .backends()
                .into_iter()
                .find(|b| b.host == host && b.site == site)
                .ok_or(CommandError::Exit(EX_NOHOST))?;
            let group =
                geodb.get_group(site_id, &name).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOHOST))?;
            if !group.moving.is_empty() || group.backend_id == Some(destination.id) {
                return Err(CommandError::Exit(EX_DATAERR));
            }
            let moved = if params.flag("direct") {
                UserGroup { backend_id: Some(destination.id), alt_backend_id: group.backend_id, ..group }
            } else {
                UserGroup { alt_backend_id: Some(destination.id), moving: format!("{}", Uuid::new_v4()), ..group }
            };
            geodb.put_group(&moved).await.map_err(store_error)?;
            Ok(vec![])
        }
        "clusterGroupAccess" => {
            let group = params.required("group")?;
            match sim.group_access(&state.host, &group).await.map_err(store_error)? {
                Some(backend) => Ok(vec![json!({"group": group, "backend": backend})]),
                None => Err(CommandError::Exit(EX_NOHOST)),
            }
        }
        "clusterUserStatus" => {
            let user = params.required("user")?;
            let row = geodb.get_user(&user).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOUSER))?;
            Ok(vec![user_row(&row)])
        }
        "clusterUserMove" => {
            let (user, group) = (params.required("user")?, params.required("group")?);
            let mut row = geodb.get_user(&user).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOUSER))?;
            let site = match params.string("site").filter(|s| !s.is_empty()) {
                Some(site) => Some(site_id(sim, &site).await?),
                None => row.preferred_site_id,
            };
            let failover = params.string("failoverGroup").unwrap_or_else(|| group.clone());
            if params.flag("direct") {
                row.preferred_site_id = site;
                row.group_name = group;
                row.failover_site_group_name = failover;
            } else {
                row.moving_preferred_site_id = site;
                row.moving_group_name = group;
                row.moving_failover_site_group_name = failover;
            }
            row.last_update = Some(chrono::Utc::now());
            geodb.put_user(&row).await.map_err(store_error)?;
            Ok(vec![])
        }
        "clusterUserAccess" => {
            let user = params.required("user")?;
            let mut row = geodb.get_user(&user).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOUSER))?;
            if !row.moving_group_name.is_empty() {
                // The access performs the pending user move.
                row.preferred_site_id = row.moving_preferred_site_id.or(row.preferred_site_id);
                row.group_name = std::mem::take(&mut row.moving_group_name);
                row.failover_site_group_name = std::mem::take(&mut row.moving_failover_site_group_name);
                row.moving_preferred_site_id = None;
                row.last_update = Some(chrono::Utc::now());
                geodb.put_user(&row).await.map_err(store_error)?;
            }
            Ok(vec![json!({"user": row.username, "group": row.group_name})])
        }
        "clusterKick" => {
            params.required("user")?;
            Ok(vec![])
        }
        _ => Err(CommandError::Kind("unknownMethod")),
    }
}

fn own_backend(state: &ApiState) -> Result<super::BackendInfo, CommandError> {
    state.sim.backends().into_iter().find(|b| b.host == state.host).ok_or(CommandError::Kind("internalError"))
}

async fn site_id(sim: &Simulator, name: &str) -> Result<Uuid, CommandError> {
    app::ports::site_id_by_name(sim.geodb().as_ref(), name)
        .await
        .map_err(store_error)?
        .ok_or(CommandError::Exit(EX_NOHOST))
}

fn backend_row(b: super::BackendInfo) -> Value {
    json!({"id": b.id.to_string(), "site": b.site, "host": b.host, "status": b.status, "load_factor": b.load_factor.to_string()})
}

fn group_row(sim: &Simulator, site: &str, g: &UserGroup) -> Value {
    let host = |id: Option<Uuid>| {
        id.and_then(|id| sim.backends().into_iter().find(|b| b.id == id)).map(|b| b.host).unwrap_or_default()
    };
    let progress = sim.move_progress(&g.name).filter(|p| p.site_id == g.site_id);
    json!({
        "site": site,
        "group": g.name,
        "backend": host(g.backend_id),
        "alt_backend": host(g.alt_backend_id),
        "moving": g.moving,
        "sticky_users": g.sticky_users.to_string(),
        "sticky_backend": g.sticky_backend.to_string(),
        "users_moved": progress.as_ref().map(|p| p.users_moved.to_string()).unwrap_or_default(),
        "users_total": progress.as_ref().map(|p| p.users_total.to_string()).unwrap_or_default(),
    })
}

fn user_row(u: &User) -> Value {
    let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    json!({
        "user": u.username,
        "preferred_site_id": id(u.preferred_site_id),
        "group": u.group_name,
        "failover_site_group": u.failover_site_group_name,
        "metacache_last_host": u.metacache_last_host,
        "moving_preferred_site_id": id(u.moving_preferred_site_id),
        "moving_group": u.moving_group_name,
        "moving_failover_site_group": u.moving_failover_site_group_name,
    })
}
