//! Text from outside (form fields, GeoDB rows, backends' and Prometheus' answers, error
//! messages that quote them) made safe to put in a log line or an error message.
//!
//! Logs are read line by line, by people and by tools: a username holding a newline once
//! forged a whole "operator logged in" line. [`Untrusted`] escapes what could break a line or
//! fool a reader and caps the length; [`redact_userinfo`] takes credentials out of URLs.

use std::fmt::{self, Display, Write};

/// The most characters of one untrusted value that a log line shows.
pub const MAX_LOGGED_CHARS: usize = 200;

/// Shows a value with control characters escaped and at most [`MAX_LOGGED_CHARS`] characters
/// (then `…`): `tracing::info!(username = %Untrusted(&username), …)`.
///
/// Escaped: `\n`, `\r`, `\t`, every other C0 and C1 control and DEL (as `\u{..}`), the Unicode
/// line and paragraph separators and the bidirectional overrides (which reorder what a reader
/// sees), and `\` and `"` so that an escape or a quoted field cannot be faked.
#[derive(Clone, Copy)]
pub struct Untrusted<T>(pub T);

impl<T: Display> Display for Untrusted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Escaper { out: f, shown: 0, cut: false };
        match write!(out, "{}", self.0) {
            Ok(()) => Ok(()),
            // The value went on past the cap: the escaper stopped it; say so.
            Err(_) if out.cut => out.out.write_char('…'),
            Err(err) => Err(err),
        }
    }
}

/// In quotes, as `{:?}` shows a string: for messages that quote what was given.
impl<T: Display> fmt::Debug for Untrusted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        Display::fmt(self, f)?;
        f.write_char('"')
    }
}

/// Escapes as it writes, and stops the value's own formatting once the cap is reached, so a
/// huge value costs no more than the cap.
struct Escaper<'a, 'b> {
    out: &'a mut fmt::Formatter<'b>,
    shown: usize,
    cut: bool,
}

impl Write for Escaper<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.shown == MAX_LOGGED_CHARS {
                self.cut = true;
                return Err(fmt::Error);
            }
            self.shown += 1;
            match c {
                '\n' => self.out.write_str("\\n")?,
                '\r' => self.out.write_str("\\r")?,
                '\t' => self.out.write_str("\\t")?,
                '\\' => self.out.write_str("\\\\")?,
                '"' => self.out.write_str("\\\"")?,
                c if needs_escape(c) => write!(self.out, "\\u{{{:x}}}", c as u32)?,
                c => self.out.write_char(c)?,
            }
        }
        Ok(())
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `value` as [`Untrusted`] shows it, as a `String` (for error messages built from input).
pub fn escaped(value: impl Display) -> String {
    Untrusted(value).to_string()
}

/// Replaces the user info of every URL in `text` with `***`: `http://user:pass@host/` becomes
/// `http://***@host/`. URLs may carry credentials (`PROMETHEUS_URL`, `DOVEADM_ENDPOINTS`,
/// `CELERY_BROKER_URL`); nothing that prints a setting or an error may show them.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // Up to the end of the URL (lists of URLs are separated by commas or spaces). Any `@`
        // in it may end user info: a password may hold `/` or `#` unescaped, so to err on the
        // side of hiding, a path with an `@` loses its start too.
        let end = after.find(|c: char| matches!(c, ',' | ';' | '"' | '\'' | '<' | '>') || c.is_whitespace());
        let authority = &after[..end.unwrap_or(after.len())];
        match authority.rfind('@') {
            Some(user_end) => {
                out.push_str("***");
                out.push_str(&authority[user_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let forged = "eve\n2026-01-01T00:00:00Z  INFO operator logged in username=admin";
        let shown = Untrusted(forged).to_string();
        assert!(!shown.contains('\n'));
        assert!(shown.starts_with("eve\\n2026"));
        assert_eq!(Untrusted("a\r\tb\u{0}c\u{7f}d\u{85}e").to_string(), "a\\r\\tb\\u{0}c\\u{7f}d\\u{85}e");
        assert_eq!(Untrusted("x\u{2028}y\u{202e}z").to_string(), "x\\u{2028}y\\u{202e}z");
        assert_eq!(Untrusted(r#"say "hi" \n"#).to_string(), r#"say \"hi\" \\n"#);
        assert_eq!(Untrusted("be1.example.net").to_string(), "be1.example.net");
        assert_eq!(format!("{:?}", Untrusted("a\nb")), r#""a\nb""#);
    }

    #[test]
    fn long_values_are_capped() {
        let shown = Untrusted("x".repeat(100_000)).to_string();
        assert_eq!(shown.chars().count(), MAX_LOGGED_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(Untrusted("y".repeat(MAX_LOGGED_CHARS)).to_string(), "y".repeat(MAX_LOGGED_CHARS));
        // Escapes may lengthen the text, never the count of characters shown.
        let newlines = Untrusted("\n".repeat(500)).to_string();
        assert_eq!(newlines, format!("{}…", "\\n".repeat(MAX_LOGGED_CHARS)));
        assert_eq!(escaped(format_args!("{}-{}", 1, "\n")), "1-\\n");
    }

    #[test]
    fn user_info_is_redacted() {
        assert_eq!(redact_userinfo("http://user:pass@host:9090/x"), "http://***@host:9090/x");
        assert_eq!(redact_userinfo("https://token@prom.example"), "https://***@prom.example");
        assert_eq!(
            redact_userinfo("be1=http://a:b@10.0.0.1:8080,be2=http://10.0.0.2:8080"),
            "be1=http://***@10.0.0.1:8080,be2=http://10.0.0.2:8080"
        );
        assert_eq!(redact_userinfo("redis://:pw@localhost:6379/0"), "redis://***@localhost:6379/0");
        assert_eq!(redact_userinfo("http://u:p/w#d@h/x"), "http://***@h/x");
        assert_eq!(redact_userinfo("url (http://u:p@h/q) failed"), "url (http://***@h/q) failed");
        assert_eq!(redact_userinfo("http://host/a@b"), "http://***@b", "hides too much rather than too little");
        assert_eq!(redact_userinfo("no url here: a@b"), "no url here: a@b");
        assert_eq!(redact_userinfo("http://u:p@h:1@x"), "http://***@x");
        assert_eq!(redact_userinfo("://@"), "://***@");
    }
}
