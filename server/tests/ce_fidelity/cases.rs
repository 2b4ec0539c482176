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
}

/// One request and how to compare its answers.
pub struct Case {
    pub name: String,
    pub request: Vec<u8>,
    pub body: BodyCheck,
    /// A documented difference: the status lines CE and the simulator give.
    pub differs: Option<(&'static str, &'static str)>,
}

fn case(name: &str, request: Vec<u8>, body: BodyCheck) -> Case {
    Case { name: name.to_string(), request, body, differs: None }
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

/// Everything else, with both mechanisms configured.
pub fn protocol_cases(password: &str) -> Vec<Case> {
    let auth = basic("doveadm", password);
    let auth = Some(auth.as_str());
    let get = |target: &str| request("GET", target, auth, &[], None);
    let post = |body: &str| request("POST", "/doveadm/v1", auth, &[], Some(body));
    let exact = |name: &str, body: &str| case(name, post(body), BodyCheck::Exact);
    let answer = |name: &str, body: &str| case(name, post(body), BodyCheck::Answer);
    let mut cases = vec![
        case("OPTIONS /doveadm/v1", request("OPTIONS", "/doveadm/v1", auth, &[], None), BodyCheck::Exact),
        case("OPTIONS *", request("OPTIONS", "*", None, &[], None), BodyCheck::Exact),
        case("OPTIONS on an unknown path", request("OPTIONS", "/nope", None, &[], None), BodyCheck::Exact),
        case("GET /", get("/"), BodyCheck::Exact),
        case("GET /doveadm/v1", get("/doveadm/v1"), BodyCheck::CommandList),
        case("GET /doveadm/v1 with a query", get("/doveadm/v1?x=1"), BodyCheck::CommandList),
        case("GET /doveadm%2Fv1", get("/doveadm%2Fv1"), BodyCheck::CommandList),
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
        case("POST without a body", request("POST", "/doveadm/v1", auth, &[], None), BodyCheck::Exact),
    ];
    let bodies: &[(&str, &str)] = &[
        ("known generic command (who)", WHO),
        ("empty command list", "[]"),
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
        ("malformed JSON (bad unicode escape)", r#"[["who",{"mask":"\u12"},"t"]]"#),
        ("malformed JSON (lone surrogate)", r#"[["who",{},"\ud800x"]]"#),
        ("truncated inside a string", r#"[["who",{},"t1"#),
        ("truncated inside an atom", "[tru"),
        ("truncated after a command", r#"[["who",{},"t1"],["wh"#),
        ("truncated after a comma", r#"[["who",{},"t1"],"#),
        ("truncated skipped parameters", r#"[["who",{},"t1"],["nope",{"a":"x"#),
        ("a number that ends the body", "[1"),
        ("non-array JSON (object)", r#"{"not":"an array"}"#),
        ("non-array JSON (number)", "5"),
        ("non-array JSON (null)", "null"),
        ("non-array JSON (unterminated string)", "\"abc"),
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
        ("string parameter as an empty object", r#"[["who",{"socketPath":{}},"t1"]]"#),
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
        ("multi-command, then unknown", r#"[["who",{},"t1"],["nope",{},"t2"]]"#),
        ("multi-command, unknown first", r#"[["nope",{},"t1"],["who",{},"t2"]]"#),
        (
            "multi-command, two unknown then two known",
            r#"[["a",{},"t1"],["b",{},"t2"],["who",{},"t3"],["who",{},"t4"]]"#,
        ),
        ("multi-command, bad parameter first", r#"[["who",{"x":1},"t1"],["who",{},"t2"]]"#),
        ("multi-command, then not a command", r#"[["who",{},"t1"],"x"]"#),
        ("multi-command, then a number", r#"[["who",{},"t1"],5]"#),
    ];
    for (name, body) in bodies {
        let check = if body.starts_with("[[\"who\",{},\"t") { answer(name, body) } else { exact(name, body) };
        cases.push(check);
    }
    // Dovecot 2.4 and Pro refuse a boolean that is not true or false; CE 2.3.19 reads it as
    // false. The simulator keeps Pro's behaviour (docs/simulator.md).
    cases.push(Case {
        differs: Some(("HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request")),
        ..exact("boolean parameter not true or false", r#"[["who",{"separateConnections":"yes"},"t1"]]"#)
    });
    cases
}
