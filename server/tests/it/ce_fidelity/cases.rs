//! The requests the fidelity test sends to CE and to the simulator: generic protocol only
//! (no `cluster*` command, which CE does not have).

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::common::raw_http::request;

/// How a body is compared.
#[derive(Clone, Copy, Debug)]
pub enum BodyCheck {
    /// Byte for byte.
    Exact,
    /// A doveadm answer: kinds, tags and errors kept, rows compared by their keys.
    Answer,
    /// `GET /doveadm/v1`: the layout and the `who` entry (the command sets differ).
    CommandList,
    /// A malformed body: `JSON parse error: <detail>` and a CRLF, whatever the detail says
    /// (each side words it its own way); [`PARSE_ERROR`] stands for any such body.
    ParseError,
    /// An OpenMetrics text: whether it is one (the counts differ).
    Metrics,
}

/// Any `JSON parse error: …` body, as [`BodyCheck::ParseError`] shows it.
pub const PARSE_ERROR: &str = "JSON parse error: <detail>\r\n";

/// How a case shows a connection closed without an answer.
pub const NO_ANSWER: &str = "(no answer)";

const OK: &str = "HTTP/1.1 200 OK";
const BAD: &str = "HTTP/1.1 400 Bad Request";

/// A deliberate difference (docs/simulator.md, "Fidelity against CE"): the status line and
/// the body (after the case's [`BodyCheck`]) that CE gives, and those the simulator gives
/// instead. The test fails when either side changes.
pub struct Known {
    pub ce: (&'static str, String),
    pub sim: (&'static str, String),
}

/// One request and how to compare its answers.
pub struct Case {
    pub name: String,
    pub request: Vec<u8>,
    pub body: BodyCheck,
    /// `Some` for a deliberate difference; `None`: the answers must agree.
    pub known: Option<Known>,
}

fn case(name: &str, request: Vec<u8>, body: BodyCheck) -> Case {
    Case { name: name.to_string(), request, body, known: None }
}

const WHO: &str = r#"[["who",{},"t1"]]"#;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Authentication, each scheme in each spelling: sent in every credentials configuration.
pub fn auth_cases(password: &str, api_key: &str) -> Vec<Case> {
    let key = STANDARD.encode(api_key);
    let right = basic("doveadm", password);
    let token = right.trim_start_matches("Basic ").to_string();
    let post = |auth: Option<&str>| request("POST", "/doveadm/v1", auth, &[], Some(WHO));
    let mut cases = vec![
        case("no Authorization", request("GET", "/doveadm/v1", None, &[], None), BodyCheck::Exact),
        case("no Authorization, POST", post(None), BodyCheck::Exact),
        case("no Authorization, GET /", request("GET", "/", None, &[], None), BodyCheck::Exact),
        case("no Authorization, unknown path", request("GET", "/nope", None, &[], None), BodyCheck::Exact),
        case("no Authorization, OPTIONS", request("OPTIONS", "/doveadm/v1", None, &[], None), BodyCheck::Exact),
        case("Basic, right password", post(Some(&right)), BodyCheck::Answer),
        case("Basic, GET /", request("GET", "/", Some(&right), &[], None), BodyCheck::Exact),
        case("Basic, wrong password", post(Some(&basic("doveadm", "wrong"))), BodyCheck::Exact),
        case("Basic, wrong user", post(Some(&basic("admin", password))), BodyCheck::Exact),
        case("basic (lower-case scheme)", post(Some(&format!("basic {token}"))), BodyCheck::Answer),
        case("BASIC (upper-case scheme)", post(Some(&format!("BASIC {token}"))), BodyCheck::Answer),
        case("Basic, two spaces", post(Some(&format!("Basic  {token}"))), BodyCheck::Answer),
        case("Basic, a tab", post(Some(&format!("Basic\t{token}"))), BodyCheck::Exact),
        case("Basic, no padding", post(Some(&format!("Basic {}", token.trim_end_matches('=')))), BodyCheck::Exact),
        case("Basic, no credentials", post(Some("Basic")), BodyCheck::Exact),
        case("Basic, not base64", post(Some("Basic !!!!")), BodyCheck::Exact),
        case("X-Dovecot-API, right key", post(Some(&format!("X-Dovecot-API {key}"))), BodyCheck::Answer),
        case("X-Dovecot-API, trailing space", post(Some(&format!("X-Dovecot-API {key} "))), BodyCheck::Answer),
        case(
            "X-Dovecot-API, wrong key",
            post(Some(&format!("X-Dovecot-API {}", STANDARD.encode("nope")))),
            BodyCheck::Exact,
        ),
        case("x-dovecot-api (lower-case scheme)", post(Some(&format!("x-dovecot-api {key}"))), BodyCheck::Answer),
        case("X-Dovecot-API, the key not in base64", post(Some(&format!("X-Dovecot-API {api_key}"))), BodyCheck::Exact),
        case("Bearer (no such scheme)", post(Some("Bearer abc")), BodyCheck::Exact),
    ];
    cases.push(case(
        "Basic credentials as the API key",
        post(Some(&format!("X-Dovecot-API {token}"))),
        BodyCheck::Exact,
    ));
    cases
}

/// The stats listener of a proxy: everything but the metrics themselves (compared apart).
pub fn stats_cases() -> Vec<Case> {
    let plain = |method: &str, target: &str| request(method, target, None, &[], None);
    vec![
        case("stats: GET /", plain("GET", "/"), BodyCheck::Exact),
        case("stats: GET /metrics/", plain("GET", "/metrics/"), BodyCheck::Metrics),
        case("stats: GET /metrics/x", plain("GET", "/metrics/x"), BodyCheck::Exact),
        case("stats: HEAD /metrics", plain("HEAD", "/metrics"), BodyCheck::Exact),
        case("stats: HEAD /", plain("HEAD", "/"), BodyCheck::Exact),
        case("stats: POST /metrics", request("POST", "/metrics", None, &[], Some("x")), BodyCheck::Exact),
        case("stats: POST /", request("POST", "/", None, &[], Some("x")), BodyCheck::Exact),
        case("stats: GET unknown path", plain("GET", "/nope"), BodyCheck::Exact),
        case("stats: HEAD unknown path", plain("HEAD", "/nope"), BodyCheck::Exact),
        case("stats: POST unknown path", request("POST", "/nope", None, &[], Some("x")), BodyCheck::Exact),
    ]
}

/// Everything else, with both mechanisms configured; `line` (2.3 or 2.4) picks the recorded
/// differences seen on that line.
pub fn protocol_cases(password: &str, line: &str) -> Vec<Case> {
    let auth = basic("doveadm", password);
    let auth = Some(auth.as_str());
    let get = |target: &str| request("GET", target, auth, &[], None);
    let post = |body: &str| request("POST", "/doveadm/v1", auth, &[], Some(body));
    let exact = |name: &str, body: &str| case(name, post(body), BodyCheck::Exact);
    let answer = |name: &str, body: &str| case(name, post(body), BodyCheck::Answer);
    let command_list = |name: &str, target: &str| command_list_case(name, get(target), line);
    let mut cases = vec![
        case("OPTIONS /doveadm/v1", request("OPTIONS", "/doveadm/v1", auth, &[], None), BodyCheck::Exact),
        case("OPTIONS *", request("OPTIONS", "*", None, &[], None), BodyCheck::Exact),
        case("OPTIONS on an unknown path", request("OPTIONS", "/nope", None, &[], None), BodyCheck::Exact),
        case("GET /", get("/"), BodyCheck::Exact),
        command_list("GET /doveadm/v1", "/doveadm/v1"),
        command_list("GET /doveadm/v1 with a query", "/doveadm/v1?x=1"),
        command_list("GET /doveadm%2Fv1", "/doveadm%2Fv1"),
        case("GET unknown path", get("/nope"), BodyCheck::Exact),
        case("GET /doveadm/v1/", get("/doveadm/v1/"), BodyCheck::Exact),
        case("POST /", request("POST", "/", auth, &[], Some("[]")), BodyCheck::Exact),
        case("DELETE /doveadm/v1", request("DELETE", "/doveadm/v1", auth, &[], None), BodyCheck::Exact),
        case("PUT /doveadm/v1", request("PUT", "/doveadm/v1", auth, &[], Some(WHO)), BodyCheck::Exact),
        case("PATCH /", request("PATCH", "/", auth, &[], Some(WHO)), BodyCheck::Exact),
        case("FOO /doveadm/v1", request("FOO", "/doveadm/v1", auth, &[], None), BodyCheck::Exact),
        case("get (lower-case method)", request("get", "/", auth, &[], None), BodyCheck::Exact),
        case(
            "chunked body",
            request("POST", "/doveadm/v1", auth, &["Transfer-Encoding: chunked"], None)
                .into_iter()
                .chain(format!("{:x}\r\n{WHO}\r\n0\r\n\r\n", WHO.len()).into_bytes())
                .collect(),
            BodyCheck::Answer,
        ),
        case("POST without a body", request("POST", "/doveadm/v1", auth, &[], None), BodyCheck::ParseError),
        case("HEAD /doveadm/v1", request("HEAD", "/doveadm/v1", auth, &[], None), BodyCheck::Exact),
        case("HEAD /", request("HEAD", "/", None, &[], None), BodyCheck::Exact),
    ];
    let bodies: &[(&str, &str)] = &[
        ("known generic command (who)", WHO),
        ("empty command list", "[]"),
        ("non-array JSON (object)", r#"{"not":"an array"}"#),
        ("non-array JSON (number)", "5"),
        ("non-array JSON (null)", "null"),
        ("unknown command", r#"[["noSuchCommand",{},"t2"]]"#),
        ("command name in the wrong case", r#"[["WHO",{},"t2"]]"#),
        ("unknown command, nested parameters skipped", r#"[["nope",{"a":[1,{"b":"x"}]},"t1"]]"#),
        ("unknown command, scalar parameters skipped", r#"[["nope",5,"t1"]]"#),
        ("bad parameter", r#"[["who",{"bogusParam":1},"t3"]]"#),
        ("parameter name in the wrong case", r#"[["who",{"SeparateConnections":true},"t1"]]"#),
        ("parameter name with dashes", r#"[["who",{"separate-connections":true},"t1"]]"#),
        ("parameter name with spaces", r#"[["who",{"separate connections":false},"t1"]]"#),
        ("duplicated parameter", r#"[["who",{"separateConnections":true,"separate-connections":false},"t1"]]"#),
        ("duplicate after a bad parameter", r#"[["who",{"x":1,"mask":"a","mask":"b"},"t1"]]"#),
        ("array parameter as a string", r#"[["who",{"mask":"nobody"},"t1"]]"#),
        ("array parameter as an array", r#"[["who",{"mask":["nobody","127.0.0.0/8"]},"t1"]]"#),
        ("who with two user masks", r#"[["who",{"mask":["nobody","x*"]},"t1"]]"#),
        ("who with two networks", r#"[["who",{"mask":["10.0.0.0/8","::1"]},"t1"]]"#),
        ("array parameter as a number", r#"[["who",{"mask":5},"t1"]]"#),
        ("array parameter as null", r#"[["who",{"mask":null},"t1"]]"#),
        ("array parameter with a number", r#"[["who",{"mask":["a",1]},"t1"]]"#),
        ("command not an array", r#"["who"]"#),
        ("command without a tag", r#"[["who",{}]]"#),
        ("command with an extra element", r#"[["who",{},"t1","x"]]"#),
        ("empty command", "[[]]"),
        ("command name not a string", r#"[[5,{},"t1"]]"#),
        ("parameters not an object", r#"[["who",[],"t1"]]"#),
        ("parameters null", r#"[["who",null,"t1"]]"#),
        ("tag not a string", r#"[["who",{},1]]"#),
        ("tag with escapes", r#"[["who",{},"a\"b\\c\n\u00e9\u0001\u2028/"]]"#),
        ("tag with escapes, unknown command", r#"[["nope",{},"a\"b\\c\n\u00e9\u0001/"]]"#),
        ("multi-command request", r#"[["who",{},"t7"],["who",{},"t8"]]"#),
        ("multi-command, then not a command", r#"[["who",{},"t1"],"x"]"#),
        ("multi-command, then a number", r#"[["who",{},"t1"],5]"#),
    ];
    for (name, body) in bodies {
        let check = if body.starts_with("[[\"who\",{},\"t") { answer(name, body) } else { exact(name, body) };
        cases.push(check);
    }
    let malformed: &[(&str, &str)] = &[
        ("malformed JSON (truncated)", r#"[["who",{},"t4""#),
        ("malformed JSON (not JSON)", "hello"),
        ("malformed JSON (empty)", ""),
        ("malformed JSON (only whitespace)", " \n"),
        ("malformed JSON (data after the end)", r#"[["who",{},"t1"]] xx"#),
        ("malformed JSON (a second root)", r#"[["who",{},"t1"]]]"#),
        ("malformed JSON (missing comma)", r#"[["who",{},"t1"]["who",{},"t2"]]"#),
        ("malformed JSON (bad escape)", r#"[["who",{},"\x"]]"#),
        ("malformed JSON (missing colon)", r#"[["who",{"mask" "x"},"t1"]]"#),
        ("malformed JSON (key not a string)", r#"[["who",{5:1},"t1"]]"#),
        ("malformed JSON (bad object separator)", r#"[["who",{"mask":"x" "y"},"t1"]]"#),
        ("malformed JSON (lone surrogate)", r#"[["who",{},"\ud800x"]]"#),
        ("truncated after a comma", r#"[["who",{},"t1"],"#),
        ("truncated skipped parameters", r#"[["who",{},"t1"],["nope",{"a":"x"#),
    ];
    for (name, body) in malformed {
        cases.push(case(name, post(body), BodyCheck::ParseError));
    }
    cases.extend(if line == "2.3" { known_on_23(post) } else { seen_on_24(post) });
    cases
}

/// `GET /doveadm/v1`: on 2.4, whose `who` also takes `passdbField` (a filter the controller
/// never uses, so the simulator does not list it), a deliberate difference.
fn command_list_case(name: &str, request: Vec<u8>, line: &str) -> Case {
    let plain = case(name, request, BodyCheck::CommandList);
    if line == "2.3" {
        return plain;
    }
    let keys = r#"keys {Some(["command", "parameters"]), Some(["name", "type"])}; types known: true"#;
    let who =
        |extra: &str| format!("compact; {keys}; who: socketPath:string separateConnections:boolean {extra}mask:array");
    Case { known: Some(Known { ce: (OK, who("passdbField:string ")), sim: (OK, who("")) }), ..plain }
}

/// On 2.4, the bodies that are deliberate differences on 2.3 (see [`known_on_23`]): 2.4 reads
/// JSON strictly, refuses a boolean that is not one, and puts commas between the answers, as the
/// simulator does; what still differs is recorded.
fn seen_on_24(post: impl Fn(&str) -> Vec<u8>) -> Vec<Case> {
    let text = |line: &str| format!("{line}\r\n");
    let error = |kind: &str, code: u8, tag: &str| format!(r#"["error",{{"type":"{kind}","exitCode":{code}}},"{tag}"]"#);
    let known = |name: &str, body: &str, ce: (&'static str, String), sim: (&'static str, String)| Case {
        known: Some(Known { ce, sim }),
        ..case(name, post(body), BodyCheck::Exact)
    };
    let mut cases: Vec<Case> = [
        ("truncated inside a string", r#"[["who",{},"t1"#),
        ("truncated inside an atom", "[tru"),
        ("truncated after a command", r#"[["who",{},"t1"],["wh"#),
        ("non-array JSON (unterminated string)", "\"abc"),
        ("malformed JSON (bad unicode escape)", r#"[["who",{"mask":"\u12"},"t"]]"#),
    ]
    .iter()
    .map(|(name, body)| case(name, post(body), BodyCheck::ParseError))
    .collect();
    cases.extend(
        [
            ("boolean parameter as null", r#"[["who",{"separateConnections":null},"t1"]]"#),
            ("boolean parameter not true or false", r#"[["who",{"separateConnections":"yes"},"t1"]]"#),
            ("multi-command, then unknown", r#"[["who",{},"t1"],["nope",{},"t2"]]"#),
            ("multi-command, unknown first", r#"[["nope",{},"t1"],["who",{},"t2"]]"#),
            (
                "multi-command, two unknown then two known",
                r#"[["a",{},"t1"],["b",{},"t2"],["who",{},"t3"],["who",{},"t4"]]"#,
            ),
            ("multi-command, bad parameter first", r#"[["who",{"x":1},"t1"],["who",{},"t2"]]"#),
        ]
        .iter()
        .map(|(name, body)| case(name, post(body), BodyCheck::Exact)),
    );
    cases.extend([
        // As on 2.3: CE reads the command before it sees that the body ends.
        Case {
            known: Some(Known { ce: (BAD, text("Command must be a JSON array")), sim: (BAD, PARSE_ERROR.into()) }),
            ..case("a number that ends the body", post("[1"), BodyCheck::ParseError)
        },
        // 2.4's doveadm process dies on it, as 2.3's does on an array there.
        known(
            "string parameter as an empty object",
            r#"[["who",{"socketPath":{}},"t1"]]"#,
            (NO_ANSWER, String::new()),
            (BAD, text("Parameter `socket-path' must be a string, not an object")),
        ),
        known(
            "string parameter as an array",
            r#"[["who",{"socketPath":["a"]},"t1"]]"#,
            (NO_ANSWER, String::new()),
            (BAD, text("Parameter `socket-path' must be a string, not an array")),
        ),
        // As on 2.3, a command that never ran gets the exit code of the one before.
        known(
            "multi-command, a failed command then an unknown one",
            r#"[["who",{"mask":["a","b"]},"t1"],["nope",{},"t2"]]"#,
            (OK, format!("[{},{}]", error("exitCode", 64, "t1"), error("unknownMethod", 64, "t2"))),
            (OK, format!("[{},{}]", error("exitCode", 64, "t1"), error("unknownMethod", 0, "t2"))),
        ),
    ]);
    cases
}

/// The deliberate differences seen on 2.3, one group per line of docs/simulator.md.
fn known_on_23(post: impl Fn(&str) -> Vec<u8>) -> Vec<Case> {
    type Seen = (&'static str, String);
    let known = |name: &str, body: &str, check, ce: Seen, sim: Seen| Case {
        known: Some(Known { ce, sim }),
        ..case(name, post(body), check)
    };
    let parse_error =
        |name: &str, body: &str, ce: Seen| known(name, body, BodyCheck::ParseError, ce, (BAD, PARSE_ERROR.into()));
    let exact = |name: &str, body: &str, ce: Seen, sim: Seen| known(name, body, BodyCheck::Exact, ce, sim);
    let text = |line: &str| format!("{line}\r\n");
    let ran = |tag: &str| format!(r#"["doveadmResponse",[],"{tag}"]"#);
    let error =
        |kind: &str, code: u8, tag: &str| format!(r#"["error",{{"type":"{kind}", "exitCode":{code}}},"{tag}"]"#);
    vec![
        // A body CE reads only in part (it stops at a token cut off by the end, or reads a
        // bad escape as something else): ours is a JSON parse error.
        parse_error("truncated inside a string", r#"[["who",{},"t1"#, (OK, "[]".into())),
        parse_error("truncated inside an atom", "[tru", (OK, "[]".into())),
        parse_error("truncated after a command", r#"[["who",{},"t1"],["wh"#, (OK, format!("[{}]", ran("t1")))),
        parse_error("non-array JSON (unterminated string)", "\"abc", (OK, "]".into())),
        parse_error("a number that ends the body", "[1", (BAD, text("Command must be a JSON array"))),
        parse_error(
            "malformed JSON (bad unicode escape)",
            r#"[["who",{"mask":"\u12"},"t"]]"#,
            (BAD, text("Parameter `mask' must be string or array")),
        ),
        // A parameter value CE's reader does not expect: it loses its place, or its doveadm
        // process dies; ours says what is wrong.
        exact(
            "string parameter as an empty object",
            r#"[["who",{"socketPath":{}},"t1"]]"#,
            (BAD, text("Command ID must be a string")),
            (BAD, text("Parameter `socket-path' must be a string, not an object")),
        ),
        exact(
            "string parameter as an array",
            r#"[["who",{"socketPath":["a"]},"t1"]]"#,
            (NO_ANSWER, String::new()),
            (BAD, text("Parameter `socket-path' must be a string, not an array")),
        ),
        exact(
            "boolean parameter as null",
            r#"[["who",{"separateConnections":null},"t1"]]"#,
            (NO_ANSWER, String::new()),
            (BAD, text("Parameter `separate-connections' must be `true' or `false', not `null'")),
        ),
        // Dovecot 2.4 and Pro refuse a boolean that is not true or false; CE 2.3.19 reads it
        // as false.
        exact(
            "boolean parameter not true or false",
            r#"[["who",{"separateConnections":"yes"},"t1"]]"#,
            (OK, format!("[{}]", ran("t1"))),
            (BAD, text("Parameter `separate-connections' must be `true' or `false', not `yes'")),
        ),
        // Several commands, one of which never ran: CE writes no comma before it (invalid
        // JSON) and gives it the exit code of the command before; ours: commas, exit code 0.
        exact(
            "multi-command, then unknown",
            r#"[["who",{},"t1"],["nope",{},"t2"]]"#,
            (OK, format!("[{}{}]", ran("t1"), error("unknownMethod", 0, "t2"))),
            (OK, format!("[{},{}]", ran("t1"), error("unknownMethod", 0, "t2"))),
        ),
        exact(
            "multi-command, unknown first",
            r#"[["nope",{},"t1"],["who",{},"t2"]]"#,
            (OK, format!("[{}{}]", error("unknownMethod", 0, "t1"), ran("t2"))),
            (OK, format!("[{},{}]", error("unknownMethod", 0, "t1"), ran("t2"))),
        ),
        exact(
            "multi-command, two unknown then two known",
            r#"[["a",{},"t1"],["b",{},"t2"],["who",{},"t3"],["who",{},"t4"]]"#,
            (
                OK,
                format!(
                    "[{}{}{},{}]",
                    error("unknownMethod", 0, "t1"),
                    error("unknownMethod", 0, "t2"),
                    ran("t3"),
                    ran("t4")
                ),
            ),
            (
                OK,
                format!(
                    "[{},{},{},{}]",
                    error("unknownMethod", 0, "t1"),
                    error("unknownMethod", 0, "t2"),
                    ran("t3"),
                    ran("t4")
                ),
            ),
        ),
        exact(
            "multi-command, bad parameter first",
            r#"[["who",{"x":1},"t1"],["who",{},"t2"]]"#,
            (OK, format!("[{}{}]", error("invalidRequest", 0, "t1"), ran("t2"))),
            (OK, format!("[{},{}]", error("invalidRequest", 0, "t1"), ran("t2"))),
        ),
        exact(
            "multi-command, a failed command then an unknown one",
            r#"[["who",{"mask":["a","b"]},"t1"],["nope",{},"t2"]]"#,
            (OK, format!("[{}{}]", error("exitCode", 64, "t1"), error("unknownMethod", 64, "t2"))),
            (OK, format!("[{},{}]", error("exitCode", 64, "t1"), error("unknownMethod", 0, "t2"))),
        ),
    ]
}
