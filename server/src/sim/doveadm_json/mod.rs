//! Dovecot's pull JSON parser (`src/lib/json-parser.c` of 2.3.19), as the doveadm HTTP API
//! reads a request body with it. A port, not a general JSON parser: the API's answers to
//! malformed bodies are this parser's quirks (its error texts, `Missing '}'` at the end of
//! input, a truncated token that ends the request without an error, values skipped after an
//! unknown command or parameter), and the fidelity test compares them with a real CE.
//!
//! The whole body is in memory, so the parser sees it as one read followed by end of input;
//! `start` is what the C code has consumed from its input stream, `data` where it is parsing.

mod scalars;

pub(crate) use scalars::append_escaped;

/// One token, as `json_parse_next()` returns it (`Key` is `JSON_TYPE_OBJECT_KEY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Object,
    ObjectEnd,
    Array,
    ArrayEnd,
    Key(Vec<u8>),
    String(Vec<u8>),
    Number(Vec<u8>),
    True,
    False,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ObjectOpen,
    ObjectKey,
    ObjectColon,
    ObjectValue,
    ObjectSkipString,
    ObjectNext,
    ArrayOpen,
    ArrayValue,
    ArraySkipString,
    ArrayNext,
    ArrayNextSkip,
    Value,
    Done,
}

/// What one parsing attempt gave: a token (C: 1), nothing yet (0), or failure (-1).
enum Step {
    Token(Token),
    More,
    Fail,
}

/// The parser in `JSON_PARSER_NO_ROOT_OBJECT` mode (any value at the root).
pub(crate) struct JsonParser<'a> {
    input: &'a [u8],
    /// Consumed so far (the input stream's offset).
    start: usize,
    /// Parse position.
    data: usize,
    /// End of what has been read (0 until the one read that returns the body).
    end: usize,
    highwater: usize,
    delivered: bool,
    eof: bool,
    seen_eof: bool,
    error: Option<String>,
    value: Vec<u8>,
    state: State,
    nesting: Vec<State>,
    nested_skip_count: u32,
    skipping: bool,
}

impl<'a> JsonParser<'a> {
    /// A parser over a whole request body.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        JsonParser {
            input,
            start: 0,
            data: 0,
            end: 0,
            highwater: 0,
            delivered: false,
            eof: false,
            seen_eof: false,
            error: None,
            value: Vec::new(),
            state: State::Value,
            nesting: Vec::new(),
            nested_skip_count: 0,
            skipping: false,
        }
    }

    /// `json_parse_next()`: the next token, or `None` at the end of input or on an error
    /// (which [`JsonParser::finish`] then reports).
    pub(crate) fn next_token(&mut self) -> Option<Token> {
        while self.read_more() {
            let step = loop {
                match self.try_parse_next() {
                    Step::More => continue,
                    other => break other,
                }
            };
            if let Step::Token(token) = step {
                return Some(token);
            }
            if self.data != self.end {
                return None;
            }
            // Parsing probably failed for want of input: forget the error and read more.
            self.error = None;
            self.highwater = self.end;
        }
        None
    }

    /// `json_parse_skip_next()`: the next value is skipped, however deeply nested.
    pub(crate) fn skip_next(&mut self) {
        self.skipping = true;
        if self.state == State::ArrayNext {
            self.state = State::ArrayNextSkip;
        }
    }

    /// `json_parser_deinit()`: the parse error, if any.
    pub(crate) fn finish(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        let bytes_left = self.end > self.start || !self.eof;
        (self.data == self.end && !bytes_left && self.state != State::Done).then(|| "Missing '}'".to_string())
    }

    fn fail(&mut self, error: &str) -> Step {
        self.error = Some(error.to_string());
        Step::Fail
    }

    /// `json_parser_read_more()`: false at the end of input.
    fn read_more(&mut self) -> bool {
        if self.error.is_some() {
            return false;
        }
        if self.highwater == self.end {
            let got_data = !self.delivered && !self.input.is_empty();
            self.delivered = true;
            if got_data {
                self.end = self.input.len();
                self.highwater = self.end;
            } else {
                self.eof = true;
                if self.seen_eof || self.end == self.start {
                    return false;
                }
                // Once more, to finish a number that ends the input.
                self.seen_eof = true;
            }
        }
        self.data = self.start;
        true
    }

    fn update_input_pos(&mut self) {
        if self.data == self.start {
            return;
        }
        self.start = self.data;
        self.highwater = if self.end > self.start { 0 } else { self.start };
    }

    fn parse_whitespace(&mut self) -> bool {
        while self.data != self.end {
            if !matches!(self.input[self.data], b' ' | b'\t' | b'\r' | b'\n') {
                self.update_input_pos();
                return true;
            }
            self.data += 1;
        }
        self.update_input_pos();
        false
    }

    /// `json_parse_denest()`: true when the closing bracket is a token for the caller.
    fn denest(&mut self) -> bool {
        self.data += 1;
        self.update_input_pos();
        let count = self.nesting.len();
        if count <= 1 {
            // Closing the root; with NO_ROOT_OBJECT the caller sees the bracket.
            self.state = State::Done;
            return true;
        }
        self.state = if self.nesting[count - 2] == State::ObjectOpen { State::ObjectNext } else { State::ArrayNext };
        self.nesting.pop();
        if self.nested_skip_count > 0 {
            self.nested_skip_count -= 1;
            return false;
        }
        true
    }

    fn close(&mut self, token: Token) -> Step {
        if self.denest() {
            Step::Token(token)
        } else {
            Step::More
        }
    }

    fn open(&mut self, state: State) {
        self.data += 1;
        self.state = state;
        self.nesting.push(state);
        self.update_input_pos();
    }

    /// `json_try_parse_next()`.
    fn try_parse_next(&mut self) -> Step {
        let skipping = self.skipping;
        if !self.parse_whitespace() {
            return Step::Fail;
        }
        let c = self.input[self.data];
        let token = match self.state {
            State::ObjectValue | State::ArrayValue | State::Value => {
                if c == b'{' || c == b'[' {
                    let (state, token) =
                        if c == b'{' { (State::ObjectOpen, Token::Object) } else { (State::ArrayOpen, Token::Array) };
                    self.open(state);
                    if self.skipping {
                        self.nested_skip_count += 1;
                        return Step::More;
                    }
                    return Step::Token(token);
                }
                let (ret, token) = self.parse_scalar();
                let Some(token) = token else {
                    if self.error.is_none() {
                        self.error = Some("Invalid data as value".into());
                    }
                    return Step::Fail;
                };
                if ret == 0 {
                    if self.skipping && matches!(token, Token::String(_)) {
                        // A long string being skipped: go on skipping it.
                        self.update_input_pos();
                        self.state = if self.state == State::ObjectValue {
                            State::ObjectSkipString
                        } else {
                            State::ArraySkipString
                        };
                        return Step::More;
                    }
                    return Step::Fail;
                }
                self.state = match self.state {
                    State::ObjectValue => State::ObjectNext,
                    State::ArrayValue => State::ArrayNext,
                    _ => State::Done,
                };
                token
            }
            State::ObjectOpen | State::ObjectKey => {
                if self.state == State::ObjectOpen && c == b'}' {
                    return self.close(Token::ObjectEnd);
                }
                self.state = State::ObjectKey;
                if self.parse_string(false) <= 0 {
                    return self.fail("Expected string as object key");
                }
                self.state = State::ObjectColon;
                Token::Key(self.value.clone())
            }
            State::ObjectColon => {
                if c != b':' {
                    return self.fail("Expected ':' after key");
                }
                self.data += 1;
                self.state = State::ObjectValue;
                self.update_input_pos();
                return Step::More;
            }
            State::ObjectNext => {
                if self.skipping && self.nested_skip_count == 0 {
                    self.skipping = false;
                }
                if c == b'}' {
                    return self.close(Token::ObjectEnd);
                }
                if c != b',' {
                    return self.fail("Expected ',' or '}' after object value");
                }
                self.state = State::ObjectKey;
                self.data += 1;
                self.update_input_pos();
                return Step::More;
            }
            State::ArrayOpen => {
                if c == b']' {
                    return self.close(Token::ArrayEnd);
                }
                self.state = State::ArrayValue;
                return Step::More;
            }
            State::ArrayNext | State::ArrayNextSkip => {
                if self.state == State::ArrayNext && self.skipping && self.nested_skip_count == 0 {
                    self.skipping = false;
                }
                if c == b']' {
                    return self.close(Token::ArrayEnd);
                }
                if c != b',' {
                    return self.fail("Expected ',' or '}' after array value");
                }
                self.state = State::ArrayValue;
                self.data += 1;
                self.update_input_pos();
                return Step::More;
            }
            State::ObjectSkipString | State::ArraySkipString => {
                if self.skip_string() <= 0 {
                    return Step::Fail;
                }
                self.state = if self.state == State::ObjectSkipString { State::ObjectNext } else { State::ArrayNext };
                return Step::More;
            }
            State::Done => return self.fail("Unexpected data at the end"),
        };
        self.update_input_pos();
        if skipping {
            Step::More
        } else {
            Step::Token(token)
        }
    }
}

#[cfg(test)]
mod tests;
