//! The request machine on bodies whose answers a real CE gave (see the fidelity test).

use super::*;

const WHO: &[CommandSpec] = &[CommandSpec {
    name: "who",
    params: &[
        ("socketPath", ParamType::String),
        ("separateConnections", ParamType::Boolean),
        ("mask", ParamType::Array),
    ],
}];

/// Runs a body, answering every command with an empty result.
fn run(body: &str) -> Answer {
    let mut request = Request::new(body.as_bytes(), WHO);
    loop {
        match request.next_event() {
            Event::Execute { .. } => request.executed(CommandResult::Success("[]".into())),
            Event::Answer(answer) => return answer,
        }
    }
}

#[test]
fn names_match_as_dovecot_matches_them() {
    assert!(same_name("cluster group move", b"clusterGroupMove"));
    assert!(same_name("cluster group move", b"cluster-group-move"));
    assert!(same_name("separate-connections", b"separate connections"));
    assert!(!same_name("who", b"WHO"));
    assert!(!same_name("who", b"whom"));
    assert_eq!(dovecot_name("loadFactor", '-'), "load-factor");
}

#[test]
fn commands_that_never_ran_are_not_separated_by_commas() {
    assert_eq!(
        run(r#"[["nope",{},"t1"],["who",{},"t2"],["who",{},"t3"]]"#),
        Answer::Ok(
            r#"[["error",{"type":"unknownMethod", "exitCode":0},"t1"]["doveadmResponse",[],"t2"],["doveadmResponse",[],"t3"]]"#
                .into()
        )
    );
}

#[test]
fn request_errors_read_as_ce_words_them() {
    let bad = |text: &str| Answer::BadRequest(text.into());
    assert_eq!(run(r#"{"not":"an array"}"#), bad("Request must be a JSON array"));
    assert_eq!(run(r#"[["who",{},"t4""#), bad("JSON parse error: Missing '}'"));
    assert_eq!(
        run(r#"[["who",{"x":1,"mask":"a"},"t"]]"#),
        Answer::Ok(r#"[["error",{"type":"invalidRequest", "exitCode":0},"t"]]"#.into())
    );
    assert_eq!(
        run(r#"[["who",{"separateConnections":true,"separate-connections":false},"t1"]]"#),
        bad("Parameter `separate-connections' is duplicated")
    );
    assert_eq!(run(r#"[["who",{"mask":5},"t1"]]"#), bad("Parameter `mask' must be string or array"));
    assert_eq!(run(r#"[["who",{"mask":["a",1]},"t1"]]"#), bad("Command parameter array can only containstring values"));
    assert_eq!(run(r#"[["who",{}]]"#), bad("Command ID must be a string"));
    assert_eq!(run(r#"[["who",{},"t1","x"]]"#), bad("Unexpected JSON element at end of command"));
    assert_eq!(run(r#"[["who",{},"t1"],["wh"#), Answer::Ok(r#"[["doveadmResponse",[],"t1"]]"#.into()));
}

#[test]
fn the_command_list_is_laid_out_like_dovecots() {
    assert_eq!(
        command_list(WHO),
        "[\n\t{\"command\":\"who\", \"parameters\":[\n\t\t{\"name\":\"socketPath\",\"type\":\"string\"},\n\t\t{\"name\":\"separateConnections\",\"type\":\"boolean\"},\n\t\t{\"name\":\"mask\",\"type\":\"array\"}\n\t]}\n]"
    );
}
