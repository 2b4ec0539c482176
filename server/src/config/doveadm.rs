//! The backends' doveadm HTTP API: `DOVEADM_*`.
//!
//! The adapter (`adapters::doveadm_http`) takes these values already parsed; the parsing lives
//! here so that the configuration depends on no adapter.

use std::collections::BTreeMap;

use domain::logtext::redact_userinfo;

use super::env::{is_http_url, Reader, Secret};

/// How the controller reaches and authenticates to backends' doveadm API.
#[derive(Clone)]
pub struct DoveadmSettings {
    /// `DOVEADM_HTTP_PORT`: the port of hosts without an explicit endpoint.
    pub http_port: u16,
    /// `DOVEADM_HTTP_SCHEME`: `http` or `https`.
    pub http_scheme: String,
    /// `DOVEADM_API_KEY`.
    pub api_key: Option<Secret>,
    /// `DOVEADM_PASSWORD`.
    pub password: Option<Secret>,
    /// Explicit doveadm API base URLs per backend host (`host=http://ip:port,…`).
    pub endpoints: BTreeMap<String, String>,
}

/// The endpoints' URLs may carry credentials (basic auth as user info): never shown.
impl std::fmt::Debug for DoveadmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoints: BTreeMap<&str, String> =
            self.endpoints.iter().map(|(host, url)| (host.as_str(), redact_userinfo(url))).collect();
        f.debug_struct("DoveadmSettings")
            .field("http_port", &self.http_port)
            .field("http_scheme", &self.http_scheme)
            .field("api_key", &self.api_key)
            .field("password", &self.password)
            .field("endpoints", &endpoints)
            .finish()
    }
}

/// The credential the controller presents, borrowed from [`DoveadmSettings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoveadmCredential<'a> {
    /// `X-Dovecot-API` with this key.
    ApiKey(&'a Secret),
    /// Basic `doveadm:<password>`.
    Password(&'a Secret),
}

impl DoveadmSettings {
    /// Reads `DOVEADM_*`.
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        let http_port = r.number(&["DOVEADM_HTTP_PORT"], 8080u16, 1, u16::MAX);
        let http_scheme = r.one_of(&["DOVEADM_HTTP_SCHEME"], "http", "http or https", &["http", "https"]);
        let api_key = r.optional_secret("DOVEADM_API_KEY");
        let password = r.optional_secret("DOVEADM_PASSWORD");
        // Recorded as given, so `palomar config` shows the operator's own spelling.
        let endpoints_form = "host=http://ip:port pairs separated by commas";
        let endpoints =
            r.get(&["DOVEADM_ENDPOINTS"], String::new(), endpoints_form, |s| parse_endpoints(s).map(|_| s.to_string()));
        Self { http_port, http_scheme, api_key, password, endpoints: parse_endpoints(&endpoints).unwrap_or_default() }
    }

    /// The API key when set, else the password: the key wins when both are set.
    pub fn credential(&self) -> Option<DoveadmCredential<'_>> {
        match (&self.api_key, &self.password) {
            (Some(key), _) => Some(DoveadmCredential::ApiKey(key)),
            (None, Some(password)) => Some(DoveadmCredential::Password(password)),
            (None, None) => None,
        }
    }
}

/// Parses `host=url,host=url` (URLs `http://` or `https://`); `None` when malformed.
pub fn parse_endpoints(raw: &str) -> Option<BTreeMap<String, String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (host, url) = pair.split_once('=')?;
            let ok = !host.trim().is_empty() && is_http_url(url);
            ok.then(|| (host.trim().to_string(), url.trim().to_string()))
        })
        .collect()
}
