//! The doveadm HTTP API client (reqwest): one command per request, a deadline and a size cap
//! per answer, and every error shape of the API mapped onto [`DoveadmError`].

use domain::doveadm::DoveadmCommand;
use std::{collections::BTreeMap, time::Duration};

use domain::logtext::{escaped, redact_userinfo};

use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine};
use palomar_core::ports::{Doveadm, DoveadmError, DoveadmRow};
use serde_json::{json, Map, Value};

use super::http_body::{self, error_chain, BoundedError};

/// How the controller authenticates to backends.
#[derive(Clone)]
pub enum DoveadmAuth {
    /// `Authorization: X-Dovecot-API <base64 key>`.
    ApiKey(String),
    /// `Authorization: Basic base64("doveadm:<password>")`.
    Password(String),
}

/// Talks to `{scheme}://{host}:{port}/doveadm/v1`, or to an explicit endpoint for a host
/// (`DOVEADM_ENDPOINTS`, e.g. for the simulator or a lab behind port forwards).
pub struct DoveadmHttp {
    client: reqwest::Client,
    scheme: String,
    port: u16,
    auth: Option<DoveadmAuth>,
    endpoints: BTreeMap<String, String>,
    /// Only the explicit endpoints are reached: in labs whose backends are not in DNS
    /// (`BACKEND_HOST_CHECK=syntax`), a name must never be looked up.
    endpoints_only: bool,
    timeout: Duration,
    slow_timeout: Duration,
}

const TIMEOUT: Duration = Duration::from_secs(5);
const SLOW_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer read. The controller's commands answer a few rows; the largest, a
/// backend's user listing, stays far below. Past it the answer is refused, not read.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

impl DoveadmHttp {
    pub fn new(
        scheme: &str,
        port: u16,
        auth: Option<DoveadmAuth>,
        endpoints: BTreeMap<String, String>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).pool_max_idle_per_host(0).build()?;
        Ok(Self {
            client,
            scheme: scheme.to_string(),
            port,
            auth,
            endpoints,
            endpoints_only: false,
            timeout: TIMEOUT,
            slow_timeout: SLOW_TIMEOUT,
        })
    }

    /// Reaches only the hosts named in the endpoints; any other host is unreachable without a
    /// name lookup.
    pub fn endpoints_only(mut self) -> Self {
        self.endpoints_only = true;
        self
    }

    /// Replaces the request timeouts (normal commands, and the access commands that may start moves).
    pub fn with_timeouts(mut self, timeout: Duration, slow_timeout: Duration) -> Self {
        self.timeout = timeout;
        self.slow_timeout = slow_timeout;
        self
    }

    fn url(&self, host: &str) -> String {
        let base =
            self.endpoints.get(host).cloned().unwrap_or_else(|| format!("{}://{}:{}", self.scheme, host, self.port));
        format!("{}/doveadm/v1", base.trim_end_matches('/'))
    }
}

#[async_trait]
impl Doveadm for DoveadmHttp {
    async fn run(&self, host: &str, command: &DoveadmCommand) -> Result<Vec<DoveadmRow>, DoveadmError> {
        let timeout = if command.is_slow() { self.slow_timeout } else { self.timeout };
        self.send(host, command.name(), command.parameters(), timeout).await
    }

    async fn list_commands(&self, host: &str) -> Result<Vec<String>, DoveadmError> {
        let body = self.exchange(host, self.client.get(self.url(host)), self.timeout).await?;
        parse_command_list(host, &body)
    }
}

impl DoveadmHttp {
    /// Sends any command by its API name, with the normal deadline: for tests of a doveadm
    /// API's answers (the simulator's), which need commands the controller never sends.
    pub async fn run_named(
        &self,
        host: &str,
        command: &str,
        parameters: Map<String, Value>,
    ) -> Result<Vec<DoveadmRow>, DoveadmError> {
        self.send(host, command, parameters, self.timeout).await
    }

    async fn send(
        &self,
        host: &str,
        command: &str,
        parameters: Map<String, Value>,
        timeout: Duration,
    ) -> Result<Vec<DoveadmRow>, DoveadmError> {
        let request = self.client.post(self.url(host)).json(&json!([[command, parameters, "palomar"]]));
        let body = self.exchange(host, request, timeout).await?;
        parse_answer(host, command, &body)
    }

    /// Sends `request` to `host` with the API's credentials and reads a successful answer's
    /// body, bounded in size and time.
    async fn exchange(
        &self,
        host: &str,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<String, DoveadmError> {
        if self.endpoints_only && !self.endpoints.contains_key(host) {
            let reason =
                "not in DOVEADM_ENDPOINTS, and backends are not looked up in DNS here (BACKEND_HOST_CHECK=syntax)";
            return Err(DoveadmError::Unreachable { host: host.to_string(), reason: reason.into() });
        }
        let mut request = request.timeout(timeout);
        request = match &self.auth {
            Some(DoveadmAuth::ApiKey(key)) => {
                request.header("Authorization", format!("X-Dovecot-API {}", STANDARD.encode(key)))
            }
            Some(DoveadmAuth::Password(password)) => request.basic_auth("doveadm", Some(password)),
            None => request,
        };
        let unreachable = |reason: String| DoveadmError::Unreachable { host: host.to_string(), reason };
        // The client's timeout and this deadline are the same: whichever notices first ends it.
        let exchange = http_body::within(timeout, async {
            let response = request.send().await.map_err(|e| BoundedError::Transport(error_chain(e)))?;
            let status = response.status();
            Ok((status, http_body::read_capped(response, MAX_ANSWER_BYTES).await?))
        });
        let (status, body) = match exchange.await {
            Ok(answer) => answer,
            Err(err @ BoundedError::TooLarge(_)) => {
                return Err(DoveadmError::BadResponse { host: host.to_string(), reason: err.to_string() })
            }
            Err(err) => return Err(unreachable(redact_userinfo(&err.to_string()))),
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(DoveadmError::Unauthorized { host: host.to_string() });
        }
        if !status.is_success() {
            // Shown on pages and in logs: escaped and capped, whatever the backend sent.
            return Err(DoveadmError::Http {
                host: host.to_string(),
                status: status.as_u16(),
                body: escaped(body.trim()),
            });
        }
        Ok(body)
    }
}

/// Reads `GET /doveadm/v1`'s list, `[{"command": name, "parameters": […]}, …]`: the names.
pub fn parse_command_list(host: &str, body: &str) -> Result<Vec<String>, DoveadmError> {
    let bad = |reason: String| DoveadmError::BadResponse { host: host.to_string(), reason };
    let value: Value = serde_json::from_str(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let entries = value.as_array().ok_or_else(|| bad("the command list is not a JSON array".into()))?;
    entries
        .iter()
        .map(|entry| {
            entry
                .get("command")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(format!("a command list entry without a name: {}", escaped(entry))))
        })
        .collect()
}

/// Reads `[["doveadmResponse", [rows], tag]]` or `[["error", {"type": …, "exitCode": …}, tag]]`.
pub fn parse_answer(host: &str, command: &str, body: &str) -> Result<Vec<DoveadmRow>, DoveadmError> {
    let bad = |reason: String| DoveadmError::BadResponse { host: host.to_string(), reason };
    let value: Value = serde_json::from_str(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let first = value
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_array)
        .ok_or_else(|| bad("not [[kind, payload, tag]]".into()))?;
    match (first.first().and_then(Value::as_str), first.get(1)) {
        (Some("doveadmResponse"), Some(Value::Array(rows))) => rows
            .iter()
            .map(|row| match row {
                Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                other => Err(bad(format!("row is not an object: {}", escaped(other)))),
            })
            .collect(),
        (Some("error"), Some(Value::Object(error))) => {
            let kind = error.get("type").and_then(Value::as_str).unwrap_or("unknown");
            if kind == "exitCode" {
                let exit_code = error.get("exitCode").and_then(Value::as_i64).unwrap_or(-1);
                Err(DoveadmError::Failed { host: host.to_string(), command: command.to_string(), exit_code })
            } else {
                Err(DoveadmError::Refused { host: host.to_string(), command: command.to_string(), kind: escaped(kind) })
            }
        }
        _ => Err(bad(format!("unexpected answer {}", escaped(body)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert_eq!(parse_answer("h", "who", r#"[["doveadmResponse",[],"t1"]]"#).unwrap(), vec![]);
        let rows = parse_answer("h", "mailboxList", r#"[["doveadmResponse",[{"mailbox":"INBOX"}],"t6"]]"#).unwrap();
        assert_eq!(rows[0].get("mailbox"), Some(&json!("INBOX")));
        assert!(matches!(
            parse_answer("h", "x", r#"[["error",{"type":"exitCode", "exitCode":68},"t"]]"#),
            Err(DoveadmError::Failed { exit_code: 68, .. })
        ));
        assert!(matches!(
            parse_answer("h", "x", r#"[["error",{"type":"unknownMethod", "exitCode":0},"t2"]]"#),
            Err(DoveadmError::Refused { ref kind, .. }) if kind == "unknownMethod"
        ));
        assert!(matches!(
            parse_answer("h", "x", "Request must be a JSON array"),
            Err(DoveadmError::BadResponse { .. })
        ));
        assert!(matches!(parse_answer("h", "x", "[]"), Err(DoveadmError::BadResponse { .. })));
    }

    #[test]
    fn command_lists_parse() {
        let list =
            r#"[{"command":"who","parameters":[{"name":"mask","type":"array"}]},{"command":"kick","parameters":[]}]"#;
        assert_eq!(parse_command_list("h", list).unwrap(), ["who", "kick"]);
        assert!(matches!(parse_command_list("h", "{}"), Err(DoveadmError::BadResponse { .. })));
        assert!(matches!(parse_command_list("h", r#"[{"name":"who"}]"#), Err(DoveadmError::BadResponse { .. })));
    }
}
