//! How the simulated doveadm HTTP API reads `POST /doveadm/v1` and writes its answer.
//!
//! The body is parsed whole with serde_json, then read command by command: each must be
//! `[name, {parameters}, tag]`. Anything else refuses the request as a whole with a 400 text,
//! before any command runs. A command that is unknown, or given an unknown parameter or an
//! integer that is not one, is answered with an `error` entry while the others still run.
//! Names match in camelCase or in their dash and space forms (`cluster-group-move`).
//!
//! `tests/ce_fidelity.rs` holds the status lines, texts and answers to a real Dovecot CE;
//! docs/simulator.md lists the few places where they deliberately differ.

use std::{collections::BTreeMap, fmt};

use domain::doveadm::DovecotLine;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

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
    /// As the API names it (`clusterGroupMove`).
    pub name: &'static str,
    /// camelCase names and types.
    pub params: &'static [(&'static str, ParamType)],
}

/// A parameter's value as the command sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParamValue {
    /// `None` for JSON `null`; numbers and booleans as their JSON text.
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

/// One command of a request, read and checked.
pub(crate) struct Entry {
    /// The tag the answer carries back.
    pub tag: String,
    /// What to do with it.
    pub action: Action,
}

/// Whether a command runs.
pub(crate) enum Action {
    /// Run it with these parameters.
    Run(&'static CommandSpec, Params),
    /// Answer it with an error of this type (`unknownMethod`, `invalidRequest`) unrun.
    Refuse(&'static str),
}

/// Reads a request body into its commands, or the 400 text that refuses it, worded as `line`
/// words it where the lines differ.
pub(crate) fn read_request(
    body: &[u8],
    commands: &'static [CommandSpec],
    line: DovecotLine,
) -> Result<Vec<Entry>, String> {
    let root: Json = serde_json::from_slice(body).map_err(|err| format!("JSON parse error: {err}"))?;
    let Json::Array(items) = root else {
        return Err(match line {
            DovecotLine::Ce23 => "Request must be a JSON array",
            DovecotLine::Ce24 => "JSON parse error: Root is not an array",
        }
        .into());
    };
    items.into_iter().map(|item| read_command(item, commands)).collect()
}

fn read_command(item: Json, commands: &'static [CommandSpec]) -> Result<Entry, String> {
    let Json::Array(parts) = item else { return Err("Command must be a JSON array".into()) };
    let mut parts = parts.into_iter();
    let Some(Json::Str(name)) = parts.next() else { return Err("Command name must be a string".into()) };
    let params = parts.next();
    let action = match commands.iter().find(|spec| names_match(spec.name, &name)) {
        // An unknown command's parameters are not looked at.
        None => Action::Refuse("unknownMethod"),
        Some(spec) => match params {
            Some(Json::Object(pairs)) => match read_params(spec, pairs)? {
                Some(params) => Action::Run(spec, params),
                None => Action::Refuse("invalidRequest"),
            },
            _ => return Err("Parameters must be contained in a JSON object".into()),
        },
    };
    let Some(Json::Str(tag)) = parts.next() else { return Err("Command ID must be a string".into()) };
    if parts.next().is_some() {
        return Err("Unexpected JSON element at end of command".into());
    }
    Ok(Entry { tag, action })
}

/// The parameters, or `None` when the command is refused as an invalid request. A name given
/// twice refuses the whole request; after an unknown name the values are not looked at.
fn read_params(spec: &CommandSpec, pairs: Vec<(String, Json)>) -> Result<Option<Params>, String> {
    let mut params = Params::new();
    let mut valid = true;
    for (key, value) in pairs {
        let Some(&(name, kind)) = spec.params.iter().find(|(name, _)| names_match(name, &key)) else {
            valid = false;
            continue;
        };
        if params.contains_key(name) {
            return Err(format!("Parameter `{}' is duplicated", dashed(name)));
        }
        if valid {
            match read_value(name, kind, value)? {
                Some(value) => {
                    params.insert(name, value);
                }
                None => valid = false,
            }
        }
    }
    Ok(valid.then_some(params))
}

/// A parameter's value; `Ok(None)` for an integer that is not one (an invalid request), `Err`
/// for a value that refuses the whole request.
fn read_value(name: &str, kind: ParamType, value: Json) -> Result<Option<ParamValue>, String> {
    let refuse = |what: &str| Err(format!("Parameter `{}' {what}", dashed(name)));
    match (kind, value) {
        (ParamType::Array, Json::Str(item)) => Ok(Some(ParamValue::Array(vec![item]))),
        (ParamType::Array, Json::Array(items)) => {
            let strings = items.into_iter().map(|item| match item {
                Json::Str(text) => Ok(text),
                // Sic: CE's wording, which the fidelity test compares.
                _ => Err("Command parameter array can only containstring values".to_string()),
            });
            Ok(Some(ParamValue::Array(strings.collect::<Result<_, _>>()?)))
        }
        (ParamType::Array, _) => refuse("must be string or array"),
        (ParamType::Boolean, value) => match value.text().as_deref() {
            Some("true") => Ok(Some(ParamValue::Bool(true))),
            Some("false") => Ok(Some(ParamValue::Bool(false))),
            _ => refuse(&format!("must be `true' or `false', not `{}'", value.shown())),
        },
        (ParamType::Integer, value) => Ok(value.text().as_deref().and_then(integer).map(ParamValue::Int)),
        (ParamType::String, Json::Null) => Ok(Some(ParamValue::Str(None))),
        (ParamType::String, value @ (Json::Array(_) | Json::Object(_))) => {
            refuse(&format!("must be a string, not {}", value.shown()))
        }
        (ParamType::String, value) => Ok(Some(ParamValue::Str(value.text()))),
    }
}

/// An optional minus and decimal digits that fit in an `i64`.
fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let decimal = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    decimal.then(|| text.parse().ok()).flatten()
}

/// Whether `given` names the camelCase `name`: spelled the same, or with a dash or space
/// before a lower-case letter where `name` has that letter in upper case
/// (`separate-connections`, `cluster group move`). Case matters otherwise.
fn names_match(name: &str, given: &str) -> bool {
    let mut camel = String::with_capacity(given.len());
    let mut chars = given.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(next) if matches!(c, '-' | ' ') && next.is_ascii_lowercase() => {
                camel.push(next.to_ascii_uppercase());
                chars.next();
            }
            _ => camel.push(c),
        }
    }
    camel == name
}

/// A camelCase name in its dash form (`loadFactor` → `load-factor`), as errors name it.
fn dashed(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// One command's entry in the answer: `["doveadmResponse", rows, tag]`, or
/// `["error", {"type": …, "exitCode": …}, tag]` (spaced as `line` writes it).
pub(crate) fn answer(tag: &str, result: CommandResult, line: DovecotLine) -> String {
    match result {
        CommandResult::Success(rows) => format!(r#"["doveadmResponse",{rows},{}]"#, json_string(tag)),
        CommandResult::ExitCode(code) => error_entry(tag, "exitCode", code, line),
        CommandResult::InternalError => error_entry(tag, "internalError", 0, line),
    }
}

/// The entry of a command that was refused unrun: its exit code is 0.
pub(crate) fn refusal(tag: &str, kind: &str, line: DovecotLine) -> String {
    error_entry(tag, kind, 0, line)
}

/// 2.3 puts a space after the comma between the error's two members; 2.4 writes compact JSON.
fn error_entry(tag: &str, kind: &str, code: i64, line: DovecotLine) -> String {
    let space = match line {
        DovecotLine::Ce23 => " ",
        DovecotLine::Ce24 => "",
    };
    format!(r#"["error",{{"type":"{kind}",{space}"exitCode":{code}}},{}]"#, json_string(tag))
}

/// A string as JSON, with the line and paragraph separators escaped too, as CE writes them.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string().replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029")
}

/// The body of `GET /doveadm/v1`, laid out as `line` lays it out: 2.3 with a line per entry
/// and parameter, 2.4 compact.
pub(crate) fn command_list(commands: &[CommandSpec], line: DovecotLine) -> String {
    // Before an entry, after its name's comma, before a parameter, before the parameters'
    // closing bracket, around the list and between entries.
    let (indent, gap, param_indent, params_end, open, close, between) = match line {
        DovecotLine::Ce23 => ("\t", " ", "\n\t\t", "\n\t", "[\n", "\n]", ",\n"),
        DovecotLine::Ce24 => ("", "", "", "", "[", "]", ","),
    };
    let entries: Vec<String> = commands
        .iter()
        .map(|command| {
            let params: Vec<String> = command
                .params
                .iter()
                .map(|(name, kind)| format!("{param_indent}{{\"name\":\"{name}\",\"type\":\"{}\"}}", kind.name()))
                .collect();
            let end = if params.is_empty() { "" } else { params_end };
            format!("{indent}{{\"command\":\"{}\",{gap}\"parameters\":[{}{end}]}}", command.name, params.join(","))
        })
        .collect();
    format!("{open}{}{close}", entries.join(between))
}

/// A JSON value that keeps an object's members in order, repeated keys included, so that a
/// parameter given twice can be told apart from one given once.
enum Json {
    Null,
    Bool(bool),
    Number(Number),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// A scalar as text (numbers and booleans in their JSON spelling).
    fn text(&self) -> Option<String> {
        match self {
            Json::Str(text) => Some(text.clone()),
            Json::Number(number) => Some(number.to_string()),
            Json::Bool(flag) => Some(flag.to_string()),
            Json::Null | Json::Array(_) | Json::Object(_) => None,
        }
    }

    /// How an error message shows the value.
    fn shown(&self) -> String {
        match self {
            Json::Null => "null".into(),
            Json::Array(_) => "an array".into(),
            Json::Object(_) => "an object".into(),
            scalar => scalar.text().unwrap_or_default(),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        // JSON numbers are finite, so there is always a `Number`.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry()? {
            members.push(member);
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHO: &[CommandSpec] = &[CommandSpec {
        name: "who",
        params: &[
            ("socketPath", ParamType::String),
            ("separateConnections", ParamType::Boolean),
            ("mask", ParamType::Array),
        ],
    }];

    /// The request read, each command shown as what would happen to it.
    fn read(body: &str) -> Result<Vec<String>, String> {
        let entries = read_request(body.as_bytes(), WHO, DovecotLine::Ce23)?;
        Ok(entries
            .into_iter()
            .map(|entry| match entry.action {
                Action::Run(spec, params) => format!("run {} {params:?} {}", spec.name, entry.tag),
                Action::Refuse(kind) => format!("{kind} {}", entry.tag),
            })
            .collect())
    }

    #[test]
    fn names_match_in_camel_case_and_in_dash_or_space_form() {
        assert!(names_match("clusterGroupMove", "cluster group move"));
        assert!(names_match("clusterGroupMove", "cluster-group-move"));
        assert!(names_match("separateConnections", "separateConnections"));
        assert!(!names_match("who", "WHO"));
        assert!(!names_match("who", "whom"));
        assert!(!names_match("separateConnections", "SeparateConnections"));
        assert_eq!(dashed("loadFactor"), "load-factor");
    }

    #[test]
    fn commands_are_read_in_order() {
        let body = r#"[["nope",5,"t1"],["who",{"mask":"a","separate-connections":"true"},"t2"],["who",{"x":1},"t3"]]"#;
        let expected = [
            "unknownMethod t1",
            r#"run who {"mask": Array(["a"]), "separateConnections": Bool(true)} t2"#,
            "invalidRequest t3",
        ];
        assert_eq!(read(body), Ok(expected.map(String::from).to_vec()));
    }

    #[test]
    fn a_request_not_of_the_expected_shape_is_refused_whole() {
        let refused = |body: &str| read(body).err().unwrap_or_default();
        assert!(refused(r#"[["who",{},"t4""#).starts_with("JSON parse error: "));
        assert_eq!(refused(r#"{"not":"an array"}"#), "Request must be a JSON array");
        assert_eq!(refused(r#"[["who",{},"t1"],"x"]"#), "Command must be a JSON array");
        assert_eq!(refused(r#"[["who",[],"t1"]]"#), "Parameters must be contained in a JSON object");
        assert_eq!(refused(r#"[["who",{}]]"#), "Command ID must be a string");
        assert_eq!(refused(r#"[["who",{},"t1","x"]]"#), "Unexpected JSON element at end of command");
        assert_eq!(refused(r#"[["who",{"mask":"a","x":1,"mask":"b"},"t"]]"#), "Parameter `mask' is duplicated");
        assert_eq!(refused(r#"[["who",{"mask":5},"t"]]"#), "Parameter `mask' must be string or array");
        assert_eq!(
            refused(r#"[["who",{"separateConnections":"yes"},"t"]]"#),
            "Parameter `separate-connections' must be `true' or `false', not `yes'"
        );
        assert_eq!(
            refused(r#"[["who",{"socketPath":{}},"t"]]"#),
            "Parameter `socket-path' must be a string, not an object"
        );
        // After an unknown parameter, values are not looked at.
        assert_eq!(read(r#"[["who",{"x":1,"mask":5},"t"]]"#), Ok(vec!["invalidRequest t".to_string()]));
    }

    #[test]
    fn answers_are_written_as_ce_writes_them() {
        assert_eq!(
            answer("t\"1", CommandResult::Success("[]".into()), DovecotLine::Ce23),
            r#"["doveadmResponse",[],"t\"1"]"#
        );
        assert_eq!(json_string("\u{1}\u{2028}é"), r#""\u0001\u2028é""#);
        assert_eq!(
            answer("t", CommandResult::ExitCode(68), DovecotLine::Ce23),
            r#"["error",{"type":"exitCode", "exitCode":68},"t"]"#
        );
        assert_eq!(
            refusal("t", "unknownMethod", DovecotLine::Ce23),
            r#"["error",{"type":"unknownMethod", "exitCode":0},"t"]"#
        );
        assert_eq!(
            refusal("t", "unknownMethod", DovecotLine::Ce24),
            r#"["error",{"type":"unknownMethod","exitCode":0},"t"]"#
        );
        assert_eq!(integer("-12"), Some(-12));
        assert_eq!(integer("1.0"), None);
    }

    #[test]
    fn the_command_list_is_laid_out_like_ces() {
        assert_eq!(
            command_list(WHO, DovecotLine::Ce23),
            "[\n\t{\"command\":\"who\", \"parameters\":[\n\t\t{\"name\":\"socketPath\",\"type\":\"string\"},\n\t\t{\"name\":\"separateConnections\",\"type\":\"boolean\"},\n\t\t{\"name\":\"mask\",\"type\":\"array\"}\n\t]}\n]"
        );
        assert_eq!(
            command_list(WHO, DovecotLine::Ce24),
            "[{\"command\":\"who\",\"parameters\":[{\"name\":\"socketPath\",\"type\":\"string\"},{\"name\":\"separateConnections\",\"type\":\"boolean\"},{\"name\":\"mask\",\"type\":\"array\"}]}]"
        );
    }
}
