use serde::{Deserialize, Serialize};

/// Largest page any list may ask for: no read is unbounded.
pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Which page of a list to read. `cursor` is opaque: it comes from a previous [`Page::next`]
/// (for Cassandra, the driver's paging state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { cursor: None, limit }.clamped()
    }

    pub fn after(cursor: Option<String>, limit: u32) -> Self {
        Self { cursor: cursor.filter(|c| !c.is_empty()), limit }.clamped()
    }

    fn clamped(mut self) -> Self {
        self.limit = match self.limit {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        self
    }
}

/// One page of a list and the cursor of the next one, if there is more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

/// Orders names as people read them: runs of digits by their value, so `be2` comes before
/// `be10`. Equal readings (`be01`, `be1`) fall back to plain order, so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (p_len, q_len) = (digit_run(x), digit_run(y));
                let (p_num, q_num) = (trim_zeros(&x[..p_len]), trim_zeros(&y[..q_len]));
                let by_value = p_num.len().cmp(&q_num.len()).then_with(|| p_num.cmp(q_num));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (x, y) = (&x[p_len..], &y[q_len..]);
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn digit_run(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// One page of `items`, which are sorted by [`natural_cmp`] of `key`: those after the
/// cursor (the key of the previous page's last item), and the cursor of the page after it.
pub fn page_by_name<'a, T>(items: &'a [T], key: impl Fn(&T) -> &str, request: &PageRequest) -> Page<&'a T> {
    let start = match request.cursor.as_deref() {
        None => 0,
        Some(after) => items.partition_point(|item| natural_cmp(key(item), after) != std::cmp::Ordering::Greater),
    };
    let end = start.saturating_add(request.limit as usize).min(items.len());
    let page: Vec<&T> = items[start..end].iter().collect();
    let next = (end < items.len()).then(|| page.last().map(|item| key(item).to_string())).flatten();
    Page { items: page, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_ordered_as_read() {
        let mut hosts = vec!["be10.dc1a", "be2.dc1a", "be1.dc2a", "be1.dc1a", "be01.dc1a", "a", "be"];
        hosts.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(hosts, ["a", "be", "be01.dc1a", "be1.dc1a", "be1.dc2a", "be2.dc1a", "be10.dc1a"]);
        assert_eq!(natural_cmp("x99999999999999999999999", "x100000000000000000000000"), std::cmp::Ordering::Less);
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let mut hosts: Vec<String> = (1..=23).map(|n| format!("be{n}.dc1a")).collect();
        hosts.sort_by(|a, b| natural_cmp(a, b));
        let mut seen = Vec::new();
        let mut request = PageRequest::first(10);
        loop {
            let page = page_by_name(&hosts, |h| h.as_str(), &request);
            seen.extend(page.items.iter().map(|h| h.to_string()));
            match page.next {
                Some(cursor) => request = PageRequest::after(Some(cursor), 10),
                None => break,
            }
        }
        assert_eq!(seen, hosts);
        // A cursor naming a host removed meanwhile still continues after where it was.
        let page = page_by_name(&hosts, |h| h.as_str(), &PageRequest::after(Some("be10.dc1a-gone".into()), 2));
        assert_eq!(page.items, [&hosts[10], &hosts[11]]);
    }
}
