//! The `/api/v1` client of `palomar cluster`: where the controller is and which token to send
//! (flags, then the environment, then the config file), and one call per request.

use std::{path::PathBuf, time::Duration};

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};

use crate::web::api_v1::problem::Problem;

/// Where the controller is when nothing says: `CONTROLLER_API_URL`'s default.
const DEFAULT_URL: &str = "http://localhost:8000";
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest config file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// Why a command failed, with the exit code it ends with (doveadm's where one fits).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The API answered a problem.
    #[error("{} ({}): {}", .0.title, .0.status, .0.detail)]
    Refused(Problem),
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach the controller: {0}")]
    Unreachable(String),
}

impl CliError {
    /// The error in words, with control characters escaped (the text may come from the API).
    pub fn describe(&self) -> String {
        super::table::printable(&self.to_string())
    }

    /// 77 (EX_NOPERM) for 401/403, 68 (EX_NOHOST, doveadm's "not found") for 404, 75
    /// (EX_TEMPFAIL) for a conflict or an outage, 65 (EX_DATAERR) for bad input, 64
    /// (EX_USAGE) for a bad command line or config, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(p) => match p.status {
                401 | 403 => 77,
                404 => 68,
                409 | 503 => 75,
                400 | 422 => 65,
                _ => 1,
            },
            CliError::Usage(_) => 64,
            CliError::Unreachable(_) => 75,
        }
    }
}

/// Where the controller is and the token to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub token: String,
}

/// The config file: `PALOMAR_CLI_CONFIG`, else `$XDG_CONFIG_HOME/palomar/cli.conf`, else
/// `~/.config/palomar/cli.conf`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PALOMAR_CLI_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("palomar").join("cli.conf"))
}

/// `key = value` lines; `#` starts a comment.
pub fn parse_config(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()))
        .collect()
}

impl Target {
    /// The target from `--url`, then `PALOMAR_URL` / `PALOMAR_TOKEN`, then the config file's
    /// `url` and `token`; the URL defaults to `CONTROLLER_API_URL`, then `http://localhost:8000`.
    pub fn resolve(url_flag: Option<String>) -> Result<Self, CliError> {
        let file = match config_path() {
            Some(path) if path.is_file() => {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if size > MAX_CONFIG_BYTES {
                    return Err(CliError::Usage(format!("{} is larger than 64 KiB", path.display())));
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
                parse_config(&text)
            }
            _ => Vec::new(),
        };
        let from_file = |key: &str| file.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
        let url = url_flag
            .or_else(|| env("PALOMAR_URL"))
            .or_else(|| from_file("url"))
            .or_else(|| env("CONTROLLER_API_URL"))
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let token = env("PALOMAR_TOKEN").or_else(|| from_file("token")).ok_or_else(|| {
            CliError::Usage(
                "no API token: set PALOMAR_TOKEN or `token = …` in the config file (an admin makes one under Tokens in the admin UI)"
                    .into(),
            )
        })?;
        let url = url.trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CliError::Usage(format!("the controller's URL must start with http:// or https://: {url}")));
        }
        Ok(Self { url, token })
    }
}

/// One controller, one token.
pub struct Client {
    http: reqwest::Client,
    target: Target,
}

/// Percent-encodes one path segment or query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Client {
    pub fn new(target: Target) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("palomar-cluster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Unreachable(e.to_string()))?;
        Ok(Self { http, target })
    }

    /// Sends one request to `path` (under `/api/v1`) and reads its JSON answer.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let url = format!("{}/api/v1{path}", self.target.url);
        let mut request = self.http.request(method, &url).bearer_auth(&self.target.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| CliError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| CliError::Unreachable(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                CliError::Unreachable(format!("the controller's answer is not what this version reads: {e}"))
            });
        }
        let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: format!("HTTP {status} from {url}"),
            field: None,
            retry_after: None,
        });
        Err(CliError::Refused(problem))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.call::<(), T>(Method::GET, path, None).await
    }

    /// Whether `path` exists (200) or not (404); other answers are errors.
    pub async fn exists(&self, path: &str) -> Result<bool, CliError> {
        match self.get::<serde_json::Value>(path).await {
            Ok(_) => Ok(true),
            Err(CliError::Refused(p)) if p.status == StatusCode::NOT_FOUND.as_u16() => Ok(false),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_are_keys_and_values() {
        let parsed =
            parse_config("# palomar\nurl = http://x:8000 # the controller\n\nTOKEN=\"palomar_abc\"\nnonsense\n");
        assert_eq!(
            parsed,
            [("url".to_string(), "http://x:8000".to_string()), ("token".to_string(), "palomar_abc".to_string())]
        );
    }

    #[test]
    fn path_values_are_encoded() {
        assert_eq!(encode("user@example.net"), "user%40example.net");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn problems_end_with_doveadm_like_codes() {
        let p = |status| CliError::Refused(Problem { status, ..Problem::bad_request("x") });
        assert_eq!(
            [p(401), p(403), p(404), p(409), p(503), p(422), p(500)].map(|e| e.exit_code()),
            [77, 77, 68, 75, 75, 65, 1]
        );
    }
}
