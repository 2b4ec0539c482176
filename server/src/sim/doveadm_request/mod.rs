//! How the doveadm HTTP API reads `POST /doveadm/v1`: the request state machine of Dovecot's
//! `client-connection-http.c` (2.3.19), driven by its JSON parser (`doveadm_json`). Commands
//! run as the parser reaches the end of each one, so an error later in the body still leaves
//! the earlier commands done; a 400 for the request as a whole replaces their answers.
//!
//! Sans I/O: [`Request::next_event`] stops at each command to run, the caller runs it and
//! hands the outcome to [`Request::executed`].

use std::collections::BTreeMap;

use super::doveadm_json::{append_escaped, JsonParser, Token};

/// A parameter's type, as `GET /doveadm/v1` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Boolean,
    Integer,
    Array,
}

impl ParamType {
    fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
            ParamType::Array => "array",
        }
    }
}

/// A command the API serves: its camelCase name and parameters, in the order
/// `GET /doveadm/v1` lists them.
pub(crate) struct CommandSpec {
    /// As the API names it (`clusterGroupMove`); Dovecot's own name is [`dovecot_name`]'s.
    pub name: &'static str,
    /// camelCase names and types.
    pub params: &'static [(&'static str, ParamType)],
}

/// A parameter's value as the command sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParamValue {
    /// JSON `null` (or a nested value) leaves a string parameter set but empty.
    Str(Option<String>),
    Bool(bool),
    Int(i64),
    Array(Vec<String>),
}

/// The parameters given, by their camelCase names.
pub(crate) type Params = BTreeMap<&'static str, ParamValue>;

/// How a command ended.
pub(crate) enum CommandResult {
    /// Its output: the JSON text that follows `"doveadmResponse",`.
    Success(String),
    /// It failed with this exit code (sysexits).
    ExitCode(i64),
    /// The server could not run it.
    InternalError,
}

/// The answer to the request as a whole.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200 with this JSON body.
    Ok(String),
    /// 400 with this text.
    BadRequest(String),
}

/// What the caller does next.
pub(crate) enum Event {
    /// Run this command and hand its outcome to [`Request::executed`].
    Execute { command: &'static CommandSpec, params: Params },
    /// The request is done.
    Answer(Answer),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    Init,
    Cmd,
    CmdName,
    CmdParams,
    ParamKey,
    ParamValue,
    ParamArray,
    CmdId,
    CmdDone,
    Done,
}

/// One `POST /doveadm/v1` being read and run.
pub(crate) struct Request<'a> {
    parser: JsonParser<'a>,
    commands: &'static [CommandSpec],
    state: Parse,
    output: String,
    first_row: bool,
    /// `doveadm_exit_code`: the last executed command's, which Dovecot also prints in the
    /// errors of the commands after it that never ran.
    exit_code: i64,
    command: Option<&'static CommandSpec>,
    /// Per parameter of `command`: its value once given.
    values: Vec<Option<ParamValue>>,
    param: usize,
    method_err: u16,
    method_id: Vec<u8>,
    failure: Option<String>,
}

impl<'a> Request<'a> {
    /// A request with this body, for these commands.
    pub(crate) fn new(body: &'a [u8], commands: &'static [CommandSpec]) -> Self {
        Request {
            parser: JsonParser::new(body),
            commands,
            state: Parse::Init,
            output: String::new(),
            first_row: false,
            exit_code: 0,
            command: None,
            values: Vec::new(),
            param: 0,
            method_err: 0,
            method_id: Vec::new(),
            failure: None,
        }
    }

    /// Reads on to the next command to run, or to the answer.
    pub(crate) fn next_event(&mut self) -> Event {
        while self.failure.is_none() {
            let Some(token) = self.parser.next_token() else { break };
            if let Some(execute) = self.step(token) {
                return execute;
            }
        }
        Event::Answer(match self.failure.take() {
            Some(text) => Answer::BadRequest(text),
            None => match self.parser.finish() {
                Some(error) => Answer::BadRequest(format!("JSON parse error: {error}")),
                None => Answer::Ok(format!("{}]", self.output)),
            },
        })
    }

    /// Records the outcome of the command [`Request::next_event`] asked for.
    pub(crate) fn executed(&mut self, result: CommandResult) {
        self.exit_code = match result {
            CommandResult::ExitCode(code) => code,
            _ => 0,
        };
        // Only commands that ran are separated by commas (Dovecot's `first_row`), so an
        // error for a command that never ran follows its neighbour without one.
        if self.first_row {
            self.first_row = false;
        } else {
            self.output.push(',');
        }
        match result {
            CommandResult::Success(json) => {
                self.output.push_str("[\"doveadmResponse\",");
                self.output.push_str(&json);
                self.output.push_str(",\"");
                append_escaped(&mut self.output, &self.method_id);
                self.output.push_str("\"]");
            }
            CommandResult::ExitCode(_) => self.json_error("exitCode"),
            CommandResult::InternalError => self.json_error("internalError"),
        }
        self.state = Parse::Cmd;
    }

    fn json_error(&mut self, kind: &str) {
        self.output.push_str("[\"error\",{\"type\":\"");
        append_escaped(&mut self.output, kind.as_bytes());
        self.output.push_str(&format!("\", \"exitCode\":{}}},\"", self.exit_code));
        append_escaped(&mut self.output, &self.method_id);
        self.output.push_str("\"]");
    }

    fn fail(&mut self, text: String) -> Option<Event> {
        self.failure = Some(text);
        None
    }

    fn param_name(&self) -> String {
        self.command.and_then(|c| c.params.get(self.param)).map(|(name, _)| dovecot_name(name, '-')).unwrap_or_default()
    }

    /// One state of the machine on one token; `Some` when a command is to run.
    fn step(&mut self, token: Token) -> Option<Event> {
        match self.state {
            Parse::Init => {
                if token != Token::Array {
                    return self.fail("Request must be a JSON array".into());
                }
                self.first_row = true;
                self.output.push('[');
                self.state = Parse::Cmd;
            }
            Parse::Cmd => match token {
                Token::ArrayEnd => self.state = Parse::Done,
                Token::Array => {
                    self.method_err = 0;
                    self.method_id.clear();
                    self.command = None;
                    self.values.clear();
                    self.state = Parse::CmdName;
                }
                _ => return self.fail("Command must be a JSON array".into()),
            },
            Parse::CmdName => {
                let Token::String(name) = token else { return self.fail("Command name must be a string".into()) };
                match self.commands.iter().find(|c| same_name(&dovecot_name(c.name, ' '), &name)) {
                    Some(command) => {
                        self.command = Some(command);
                        self.values = vec![None; command.params.len()];
                        self.state = Parse::CmdParams;
                    }
                    None => {
                        self.parser.skip_next();
                        self.method_err = 404;
                        self.state = Parse::CmdId;
                    }
                }
            }
            Parse::CmdParams => match token {
                Token::ObjectEnd => self.state = Parse::CmdId,
                Token::Object => self.state = Parse::ParamKey,
                _ => return self.fail("Parameters must be contained in a JSON object".into()),
            },
            Parse::ParamKey => return self.param_key(token),
            Parse::ParamValue => return self.param_value(token),
            Parse::ParamArray => match token {
                Token::ArrayEnd => self.state = Parse::ParamKey,
                Token::String(item) => {
                    if let Some(Some(ParamValue::Array(items))) = self.values.get_mut(self.param) {
                        items.push(String::from_utf8_lossy(&item).into_owned());
                    }
                }
                _ => return self.fail("Command parameter array can only containstring values".into()),
            },
            Parse::CmdId => {
                let Token::String(id) = token else { return self.fail("Command ID must be a string".into()) };
                self.method_id = id;
                self.state = Parse::CmdDone;
            }
            Parse::CmdDone => {
                if token != Token::ArrayEnd {
                    return self.fail("Unexpected JSON element at end of command".into());
                }
                return self.execute();
            }
            Parse::Done => return self.fail("Unexpected JSON element in input".into()),
        }
        None
    }

    fn param_key(&mut self, token: Token) -> Option<Event> {
        let key = match token {
            Token::ObjectEnd => {
                self.state = Parse::CmdId;
                return None;
            }
            Token::Key(key) => key,
            // Only inside an array given to a non-array parameter; CE's doveadm process
            // asserts here and drops the connection. Ours says what was wrong.
            _ => return self.fail(format!("Parameter `{}' must not be an array", self.param_name())),
        };
        let params = self.command.map(|c| c.params).unwrap_or_default();
        let found = params.iter().position(|(name, _)| same_name(&dovecot_name(name, '-'), &key));
        if let Some(index) = found.filter(|i| self.values[*i].is_some()) {
            self.param = index;
            return self.fail(format!("Parameter `{}' is duplicated", self.param_name()));
        }
        match found {
            Some(index) if self.method_err == 0 => {
                self.param = index;
                self.state = Parse::ParamValue;
            }
            // Unknown, or an error already: the rest of the parameters are skipped.
            _ => {
                self.parser.skip_next();
                self.method_err = 400;
            }
        }
        None
    }

    fn param_value(&mut self, token: Token) -> Option<Event> {
        let kind = self.command.and_then(|c| c.params.get(self.param)).map(|(_, kind)| *kind)?;
        self.state = Parse::ParamKey;
        if kind == ParamType::Array {
            let mut items = Vec::new();
            match token {
                Token::Array => self.state = Parse::ParamArray,
                Token::String(item) => items.push(String::from_utf8_lossy(&item).into_owned()),
                _ => return self.fail(format!("Parameter `{}' must be string or array", self.param_name())),
            }
            self.values[self.param] = Some(ParamValue::Array(items));
            return None;
        }
        let text = match token {
            Token::String(text) | Token::Number(text) => Some(String::from_utf8_lossy(&text).into_owned()),
            Token::True => Some("true".into()),
            Token::False => Some("false".into()),
            _ => None,
        };
        let value = match kind {
            // Dovecot 2.4 (and Pro 3) refuse what 2.3 silently read as false; see docs/simulator.md.
            ParamType::Boolean => match text.as_deref() {
                Some("true") => ParamValue::Bool(true),
                Some("false") => ParamValue::Bool(false),
                other => {
                    let name = self.param_name();
                    let shown = other.unwrap_or("null");
                    return self.fail(format!("Parameter `{name}' must be `true' or `false', not `{shown}'"));
                }
            },
            ParamType::Integer => match text.as_deref().and_then(str_to_int64) {
                Some(number) => ParamValue::Int(number),
                None => {
                    self.method_err = 400;
                    ParamValue::Int(0)
                }
            },
            _ => ParamValue::Str(text),
        };
        self.values[self.param] = Some(value);
        None
    }

    fn execute(&mut self) -> Option<Event> {
        let kind = match self.method_err {
            0 => None,
            404 => Some("unknownMethod"),
            400 => Some("invalidRequest"),
            _ => Some("internalError"),
        };
        let command = match (kind, self.command) {
            (None, Some(command)) => command,
            (kind, _) => {
                // Refused before it ran: no comma, and the last command's exit code.
                self.json_error(kind.unwrap_or("internalError"));
                self.state = Parse::Cmd;
                return None;
            }
        };
        let params = command
            .params
            .iter()
            .zip(self.values.iter_mut())
            .filter_map(|((name, _), value)| value.take().map(|v| (*name, v)))
            .collect();
        Some(Event::Execute { command, params })
    }
}

/// `str_to_int64()`: an optional minus and decimal digits, nothing else.
fn str_to_int64(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A camelCase API name as Dovecot spells it internally: `clusterGroupMove` is the command
/// `cluster group move`, `loadFactor` the parameter `load-factor`.
pub(crate) fn dovecot_name(camel: &str, separator: char) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push(separator);
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Dovecot's `i_strccdascmp() == 0`: a space or dash followed by a letter matches that letter
/// in upper case, spaces and dashes match each other, and everything else matches exactly.
pub(crate) fn same_name(a: &str, b: &[u8]) -> bool {
    let (a, b) = (a.as_bytes(), b);
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let sep = |c: u8| c == b' ' || c == b'-';
    let (mut i, mut j) = (0, 0);
    while at(a, i) != 0 && at(b, j) != 0 {
        let (x, y) = (at(a, i), at(b, j));
        if sep(x) && x != y && !sep(y) {
            if at(a, i + 1).to_ascii_uppercase() != y {
                break;
            }
            i += 1;
        } else if sep(y) && x != y && !sep(x) {
            if x != at(b, j + 1).to_ascii_uppercase() {
                break;
            }
            j += 1;
        } else if !(sep(x) && sep(y)) && x != y {
            break;
        }
        i += 1;
        j += 1;
    }
    at(a, i) == at(b, j)
}

/// The body of `GET /doveadm/v1`, laid out byte for byte as Dovecot writes it.
pub(crate) fn command_list(commands: &[CommandSpec]) -> String {
    let mut out = String::from("[\n");
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(&format!("\t{{\"command\":\"{}\", \"parameters\":[", command.name));
        for (k, (name, kind)) in command.params.iter().enumerate() {
            out.push_str(if k > 0 { ",\n" } else { "\n" });
            out.push_str(&format!("\t\t{{\"name\":\"{name}\",\"type\":\"{}\"}}", kind.name()));
        }
        if !command.params.is_empty() {
            out.push_str("\n\t");
        }
        out.push_str("]}");
    }
    out.push_str("\n]");
    out
}

#[cfg(test)]
mod tests;
