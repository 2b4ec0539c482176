//! The parser against the error texts and quirks a real CE shows (see the fidelity test).

use super::{scalars::append_escaped, JsonParser, Token};

fn tokens(body: &str) -> (Vec<Token>, Option<String>) {
    let mut parser = JsonParser::new(body.as_bytes());
    let mut out = Vec::new();
    while let Some(token) = parser.next_token() {
        out.push(token);
    }
    (out, parser.finish())
}

#[test]
fn a_request_parses_into_tokens() {
    let (tokens, error) = tokens(r#" [["who",{"n":-1.5e3,"b":true},"t1"]] "#);
    assert_eq!(error, None);
    assert_eq!(tokens.len(), 12);
    assert_eq!(tokens[5], Token::Number(b"-1.5e3".to_vec()));
}

#[test]
fn errors_read_as_dovecot_words_them() {
    assert_eq!(tokens("").1.as_deref(), Some("Missing '}'"));
    assert_eq!(tokens(r#"[["who",{},"t4""#).1.as_deref(), Some("Missing '}'"));
    assert_eq!(tokens("hello").1.as_deref(), Some("Invalid data as value"));
    assert_eq!(tokens("[1]]").1.as_deref(), Some("Unexpected data at the end"));
    assert_eq!(tokens("[1 2]").1.as_deref(), Some("Expected ',' or '}' after array value"));
    assert_eq!(tokens(r#"["\x"]"#).1.as_deref(), Some("Invalid escape string"));
}

#[test]
fn a_token_cut_off_by_the_end_is_no_error() {
    // Dovecot's quirk: the unfinished token is still unread, so "bytes are left".
    let (tokens, error) = tokens(r#"[["who",{},"t1"#);
    assert_eq!(error, None);
    assert_eq!(tokens.last(), Some(&Token::ObjectEnd));
}

#[test]
fn a_number_that_ends_the_input_is_read_at_eof() {
    assert_eq!(tokens("[1").0, vec![Token::Array, Token::Number(b"1".to_vec())]);
}

#[test]
fn skipped_values_do_not_surface() {
    let mut parser = JsonParser::new(br#"["nope",{"a":[1,{"b":"x"}]},"t1"]"#);
    assert_eq!(parser.next_token(), Some(Token::Array));
    assert_eq!(parser.next_token(), Some(Token::String(b"nope".to_vec())));
    parser.skip_next();
    assert_eq!(parser.next_token(), Some(Token::String(b"t1".to_vec())));
    assert_eq!(parser.next_token(), Some(Token::ArrayEnd));
}

#[test]
fn tags_are_escaped_like_dovecot() {
    let mut out = String::new();
    append_escaped(&mut out, b"a\"b\\c\n\xc3\xa9\x01/\xff");
    assert_eq!(out, r#"a\"b\\c\né\u0001/"#.to_string() + "\u{fffd}");
}
