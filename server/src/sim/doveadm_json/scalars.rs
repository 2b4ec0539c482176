//! The scalar half of Dovecot's JSON parser: strings (with their escapes), numbers and the
//! `true`/`false`/`null` atoms, and how Dovecot escapes a string it writes.

use super::{JsonParser, Token};

impl JsonParser<'_> {
    /// The byte at `i`; 0 past the end, where the C code would read its buffer's slack.
    pub(super) fn byte(&self, i: usize) -> u8 {
        self.input.get(i).copied().unwrap_or(0)
    }

    pub(super) fn skip_string(&mut self) -> i32 {
        while self.data != self.end {
            match self.input[self.data] {
                b'"' => {
                    self.data += 1;
                    self.update_input_pos();
                    return 1;
                }
                b'\\' => {
                    self.data += 1;
                    if self.data == self.end {
                        break;
                    }
                    match self.input[self.data] {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            if self.end - self.data < 4 {
                                self.data = self.end;
                                return -1;
                            }
                            self.data += 3;
                        }
                        _ => {
                            self.error = Some("Invalid escape string".into());
                            return -1;
                        }
                    }
                }
                _ => {}
            }
            self.data += 1;
        }
        self.update_input_pos();
        0
    }

    /// Four hex digits at `at`, as `str_to_uint32_hex()` reads them.
    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.input.get(at..at + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        text.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u32::from_str_radix(text, 16).ok()).flatten()
    }

    fn parse_unicode_escape(&mut self) -> i32 {
        self.data += 1;
        if self.end - self.data < 4 {
            self.data = self.end;
            return 0;
        }
        let Some(mut chr) = self.hex4(self.data) else {
            self.error = Some("Invalid unicode escape seen".into());
            return -1;
        };
        if (0xd800..=0xdbff).contains(&chr) {
            let high = chr;
            chr = 0;
            self.data += 4;
            if self.data >= self.end {
                self.data = self.end;
                return 0;
            }
            let left = self.end - self.data;
            if left < 2 && self.byte(self.data) == b'\\' {
                self.data = self.end;
                return 0;
            }
            if left < 6 {
                if self.byte(self.data) == b'\\' && self.byte(self.data + 1) == b'u' {
                    self.data = self.end;
                    return 0;
                }
            } else {
                match self.hex4(self.data + 2) {
                    Some(low) => chr = low,
                    None => {
                        self.error = Some("Invalid unicode escape seen".into());
                        return -1;
                    }
                }
            }
            if self.byte(self.data) != b'\\' || self.byte(self.data + 1) != b'u' || !(0xdc00..=0xdfff).contains(&chr) {
                self.error = Some(format!("High surrogate 0x{high:04x} seen, but not followed by low surrogate"));
                return -1;
            }
            chr = 0x10000 + ((high & 0x3ff) << 10) + (chr & 0x3ff);
            self.data += 2;
        }
        let Some(c) = char::from_u32(chr) else {
            self.error = Some(format!("Invalid unicode character U+{chr:04x}"));
            return -1;
        };
        if chr == 0 {
            self.error = Some("\\u0000 not supported in strings".into());
            return -1;
        }
        let mut utf8 = [0u8; 4];
        self.value.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        self.data += 3;
        1
    }

    pub(super) fn parse_string(&mut self, allow_skip: bool) -> i32 {
        if self.byte(self.data) != b'"' {
            return -1;
        }
        self.data += 1;
        if self.skipping && allow_skip {
            return self.skip_string();
        }
        self.value.clear();
        while self.data != self.end {
            match self.input[self.data] {
                b'"' => {
                    self.data += 1;
                    return 1;
                }
                b'\\' => {
                    self.data += 1;
                    if self.data == self.end {
                        return 0;
                    }
                    let unescaped = match self.input[self.data] {
                        c @ (b'"' | b'\\' | b'/') => c,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let ret = self.parse_unicode_escape();
                            if ret <= 0 {
                                return ret;
                            }
                            self.data += 1;
                            continue;
                        }
                        _ => {
                            self.error = Some("Invalid escape string".into());
                            return -1;
                        }
                    };
                    self.value.push(unescaped);
                }
                0 => {
                    self.error = Some("NULs not supported in strings".into());
                    return -1;
                }
                c => self.value.push(c),
            }
            self.data += 1;
        }
        0
    }

    fn parse_digits(&mut self) -> i32 {
        if self.data == self.end {
            return 0;
        }
        if !self.byte(self.data).is_ascii_digit() {
            return -1;
        }
        while self.data != self.end && self.input[self.data].is_ascii_digit() {
            self.value.push(self.input[self.data]);
            self.data += 1;
        }
        1
    }

    fn parse_int(&mut self) -> i32 {
        if self.byte(self.data) == b'-' {
            self.value.push(b'-');
            self.data += 1;
            if self.data == self.end {
                return 0;
            }
        }
        if self.byte(self.data) == b'0' {
            self.value.push(b'0');
            self.data += 1;
            1
        } else {
            self.parse_digits()
        }
    }

    fn parse_number(&mut self) -> i32 {
        self.value.clear();
        let ret = self.parse_int();
        if ret <= 0 {
            return ret;
        }
        if self.data != self.end && self.input[self.data] == b'.' {
            self.value.push(b'.');
            self.data += 1;
            let ret = self.parse_digits();
            if ret <= 0 {
                return ret;
            }
        }
        if self.data != self.end && matches!(self.input[self.data], b'e' | b'E') {
            self.value.push(self.input[self.data]);
            self.data += 1;
            if self.data == self.end {
                return 0;
            }
            if matches!(self.input[self.data], b'+' | b'-') {
                self.value.push(self.input[self.data]);
                self.data += 1;
            }
            let ret = self.parse_digits();
            if ret <= 0 {
                return ret;
            }
        }
        if self.data == self.end && !self.eof {
            return 0;
        }
        1
    }

    fn parse_atom(&mut self, atom: &[u8]) -> i32 {
        let avail = self.end - self.data;
        if avail < atom.len() {
            if self.input[self.data..self.end] != atom[..avail] {
                return -1;
            }
            // Everything matches so far, but the rest is missing.
            self.data += avail;
            return 0;
        }
        if &self.input[self.data..self.data + atom.len()] != atom {
            return -1;
        }
        self.data += atom.len();
        1
    }

    /// A string, number or atom: the C code's chain of attempts, each from where the last
    /// one stopped. `(0, Some)` means the token runs to the end of what was read.
    pub(super) fn parse_scalar(&mut self) -> (i32, Option<Token>) {
        let ret = self.parse_string(true);
        if ret >= 0 {
            return (ret, Some(Token::String(self.value.clone())));
        }
        let ret = self.parse_number();
        if ret >= 0 {
            return (ret, Some(Token::Number(self.value.clone())));
        }
        for (atom, token) in [(&b"true"[..], Token::True), (b"false", Token::False), (b"null", Token::Null)] {
            let ret = self.parse_atom(atom);
            if ret >= 0 {
                return (ret, Some(token));
            }
        }
        (-1, None)
    }
}

/// `json_append_escaped()`: how Dovecot writes a string (the command tag) into its answer.
pub(crate) fn append_escaped(out: &mut String, src: &[u8]) {
    for chunk in src.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => out.push(c),
            }
        }
        // Each byte of an invalid sequence becomes one replacement character.
        for _ in chunk.invalid() {
            out.push('\u{fffd}');
        }
    }
}
