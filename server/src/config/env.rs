//! The one environment reader: every setting is read through [`Reader`], which knows a
//! setting's exact name(s), default, accepted form and whether it is secret, collects every
//! error at once, and records where each value came from for `palomar config`.

use std::{collections::BTreeMap, fmt, str::FromStr, time::Duration};

use domain::logtext::redact_userinfo;

/// How a setting got its value, for `palomar config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Nothing was set: the documented default.
    Default,
    /// Read from this variable (one of the setting's names).
    Env(&'static str),
}

/// A start-up configuration error: which variable, what it should look like, what it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: expected {expected}, got {got:?}")]
pub struct ConfigError {
    /// The variable that holds the bad value.
    pub var: &'static str,
    /// The accepted form, in words.
    pub expected: String,
    /// The value as it was set, with the user info of URLs redacted; `<redacted>` for a secret.
    pub got: String,
}

/// All errors found at once, so an operator fixes them in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  {e}\n")).collect::<String>())]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// A secret value: printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What this process is, for the defaults that depend on it (`CONTROLLER_INSTANCE`).
/// Gathered once at the edge ([`Process::current`]) so that parsing stays a pure function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The host's name.
    pub hostname: String,
    /// This process's id.
    pub pid: u32,
}

impl Process {
    /// This process: the host name from `/etc/hostname` (`palomar` when it cannot be read) and
    /// the pid. Reads the filesystem; call it once, at start-up.
    pub fn current() -> Self {
        let hostname = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).ok();
        let hostname = hostname.filter(|h| !h.is_empty()).unwrap_or_else(|| "palomar".into());
        Self { hostname, pid: std::process::id() }
    }

    /// The default instance name: `<hostname>-<pid>`.
    pub fn instance_name(&self) -> String {
        format!("{}-{}", self.hostname, self.pid)
    }
}

/// The effective value and source of every variable, by name, for `palomar config`.
pub type Effective = BTreeMap<&'static str, (String, Source)>;

/// Reads variables through a lookup function, so tests need not touch the process environment.
pub struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
    effective: Effective,
}

impl<'a> Reader<'a> {
    /// A reader over `lookup` (a variable name to its value).
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup, errors: Vec::new(), effective: Effective::new() }
    }

    /// What was read and the errors found, in the order the settings were read.
    pub fn finish(self) -> (Effective, Vec<ConfigError>) {
        (self.effective, self.errors)
    }

    /// The raw value of the first of `names` that is set, checking that aliases agree.
    fn raw(&mut self, names: &[&'static str], secret: bool) -> Option<(&'static str, String)> {
        let mut found: Option<(&'static str, String)> = None;
        for &name in names {
            let Some(value) = (self.lookup)(name) else { continue };
            match &found {
                Some((first, first_value)) if first_value != &value => {
                    self.errors.push(ConfigError {
                        var: name,
                        expected: format!("the same value as its alias {first}, or to be unset"),
                        got: shown_in_error(&value, secret),
                    });
                }
                Some(_) => {}
                None => found = Some((name, value)),
            }
        }
        found
    }

    fn record(&mut self, names: &[&'static str], shown: String, source: Source, secret: bool) {
        let shown = if secret && !shown.is_empty() { "<redacted>".into() } else { redact_userinfo(&shown) };
        for &name in names {
            self.effective.insert(name, (shown.clone(), source));
        }
    }

    fn read<T: fmt::Display>(
        &mut self,
        names: &[&'static str],
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
        secret: bool,
    ) -> T {
        match self.raw(names, secret) {
            Some((var, raw)) => match parse(raw.trim()) {
                Some(value) => {
                    self.record(names, value.to_string(), Source::Env(var), secret);
                    value
                }
                None => {
                    self.errors.push(ConfigError {
                        var,
                        expected: expected.to_string(),
                        got: shown_in_error(&raw, secret),
                    });
                    default
                }
            },
            None => {
                self.record(names, default.to_string(), Source::Default, secret);
                default
            }
        }
    }

    /// A setting that no longer exists. Set, it stops start-up and says why, so that nobody
    /// goes on relying on it unknowingly.
    pub fn removed(&mut self, name: &'static str, why: &str) {
        if let Some(value) = (self.lookup)(name) {
            self.errors.push(ConfigError {
                var: name,
                expected: format!("to be unset: {why}"),
                got: shown_in_error(&value, false),
            });
        }
    }

    /// Parses a setting with `parse` (`None` = not of the `expected` form), or takes `default`.
    /// `names` are the setting's names, the documented one first; aliases must agree.
    pub fn get<T: fmt::Display>(
        &mut self,
        names: &[&'static str],
        default: T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> T {
        self.read(names, default, expected, parse, false)
    }

    /// As [`Reader::get`], for a value `palomar config` must not print.
    pub fn secret(
        &mut self,
        names: &[&'static str],
        default: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<String>,
    ) -> Secret {
        Secret(self.read(names, default.to_string(), expected, parse, true))
    }

    /// Any string.
    pub fn string(&mut self, names: &[&'static str], default: &str) -> String {
        self.get(names, default.to_string(), "a string", |s| Some(s.to_string()))
    }

    /// A string with no default: unset and empty are the same.
    pub fn optional(&mut self, name: &'static str) -> Option<String> {
        Some(self.string(&[name], "")).filter(|value| !value.is_empty())
    }

    /// A secret string with no default: unset and empty are the same.
    pub fn optional_secret(&mut self, name: &'static str) -> Option<Secret> {
        Some(self.secret(&[name], "", "a string", |s| Some(s.to_string()))).filter(|value| !value.0.is_empty())
    }

    /// A whole number from `min` to `max`.
    pub fn number<T: FromStr + fmt::Display + PartialOrd + Copy>(
        &mut self,
        names: &[&'static str],
        default: T,
        min: T,
        max: T,
    ) -> T {
        let expected = format!("a whole number from {min} to {max}");
        self.get(names, default, &expected, |s| s.parse::<T>().ok().filter(|v| *v >= min && *v <= max))
    }

    /// Whole seconds, at least `min`, at most ten years.
    pub fn seconds(&mut self, names: &[&'static str], default: u64, min: u64) -> Duration {
        Duration::from_secs(self.number(names, default, min, 10 * 365 * 24 * 3600))
    }

    /// A finite decimal number that `ok` accepts.
    pub fn ratio(&mut self, names: &[&'static str], default: f64, expected: &str, ok: impl Fn(f64) -> bool) -> f64 {
        self.get(names, default, expected, |s| s.parse::<f64>().ok().filter(|v| v.is_finite() && ok(*v)))
    }

    /// A switch, in any of the spellings [`parse_bool`] accepts.
    pub fn boolean(&mut self, names: &[&'static str], default: bool) -> bool {
        self.get(names, default, "a boolean: true/false, yes/no, on/off or 1/0", parse_bool)
    }

    /// One of a fixed set of words (exact spelling); `expected` lists them.
    pub fn one_of(&mut self, names: &[&'static str], default: &str, expected: &str, choices: &[&str]) -> String {
        self.get(names, default.to_string(), expected, |s| choices.contains(&s).then(|| s.to_string()))
    }
}

/// A bad value as an error shows it: never a secret, never the credentials in a URL.
fn shown_in_error(raw: &str, secret: bool) -> String {
    if secret {
        "<redacted>".into()
    } else {
        redact_userinfo(raw)
    }
}

/// Accepts the spellings Python settings use too (`True`, `False`).
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Accepts `http://…` and `https://…`.
pub fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}
