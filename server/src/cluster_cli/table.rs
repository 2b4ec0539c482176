//! Plain aligned tables for the terminal. Cells come from the API, so control characters are
//! shown escaped: a name cannot drive the terminal.

use std::fmt;

use super::client::CliError;

/// Rows under an optional header, each column as wide as its widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// `cell` with control characters escaped.
pub fn printable(cell: &str) -> String {
    cell.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| h.to_uppercase()).collect(), rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row.iter().map(|c| printable(c)).collect());
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = std::iter::once(&self.header).filter(|h| !h.is_empty()).chain(self.rows.iter());
        let mut widths: Vec<usize> = Vec::new();
        for row in all.clone() {
            for (i, cell) in row.iter().enumerate() {
                let width = cell.chars().count();
                match widths.get_mut(i) {
                    Some(w) => *w = (*w).max(width),
                    None => widths.push(width),
                }
            }
        }
        for row in all {
            let last = row.len().saturating_sub(1);
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i == last {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// How answers are printed: a table, or the API's JSON.
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn rows<T: serde::Serialize>(
        &self,
        items: &[T],
        header: &[&str],
        row: impl Fn(&T) -> Vec<String>,
    ) -> Result<(), CliError> {
        if self.json {
            return self.print_json(&items);
        }
        let mut table = Table::new(header);
        for item in items {
            table.push(row(item));
        }
        emit(&table.to_string());
        Ok(())
    }

    pub fn one<T: serde::Serialize>(
        &self,
        item: &T,
        facts: impl Fn(&T) -> Vec<(&'static str, String)>,
    ) -> Result<(), CliError> {
        if self.json {
            return self.print_json(item);
        }
        let mut table = Table::new(&[]);
        for (name, value) in facts(item) {
            table.push(vec![format!("{name}:"), value]);
        }
        emit(&table.to_string());
        Ok(())
    }

    fn print_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
        emit(&format!("{text}\n"));
        Ok(())
    }
}

/// Writes an answer to stdout. A reader that closed the pipe early (`| head`, `| grep -q`) has
/// what it wanted, so the command ends quietly with success rather than a panic.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("palomar: cannot write the answer: {err}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_control_characters_are_escaped() {
        let mut t = Table::new(&["host", "status"]);
        t.push(vec!["be1.dc1a".into(), "online".into()]);
        t.push(vec!["be10\u{1b}[31m".into(), "standby".into()]);
        assert_eq!(t.to_string(), "HOST            STATUS\nbe1.dc1a        online\nbe10\\u{1b}[31m  standby\n");
    }
}
