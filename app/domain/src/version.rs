//! Versions of GeoDB rows, for conditional writes over the API (`ETag`, `If-Match`): a hash of
//! the columns a write may change, so a client that read a row can say "only if it is still
//! as I read it". Stable across builds (FNV-1a), so versions survive a restart.

use super::{
    geodb::{Backend, UserGroup},
    Site,
};

fn fnv1a(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        // A separator no column holds, so ("ab", "c") and ("a", "bc") differ.
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// A backend's version: its status, reason and load factor.
pub fn of_backend(b: &Backend) -> String {
    fnv1a(&[b.status.as_str(), &b.status_reason, &b.load_factor.to_string()])
}

/// A site's version: every column an operator edits.
pub fn of_site(s: &Site) -> String {
    let tag = s.tag.map(|t| t.to_string()).unwrap_or_default();
    fnv1a(&[&s.name, &tag, &s.load_balancer, s.status.as_str()])
}

/// A group's version: its backends, sticky flags, move and refresh.
pub fn of_group(g: &UserGroup) -> String {
    let id = |id: Option<uuid::Uuid>| id.map(|i| i.to_string()).unwrap_or_default();
    let refresh = g.refresh_after.map(|t| t.timestamp_millis().to_string()).unwrap_or_default();
    fnv1a(&[
        &id(g.backend_id),
        &id(g.alt_backend_id),
        &g.sticky_users.to_string(),
        &g.sticky_backend.to_string(),
        &g.moving,
        &refresh,
    ])
}

/// What a request's `If-Match` asks (RFC 9110, section 13.1.1): `*`, any current version; or a
/// list of entity tags, one of which must be the current version. The comparison is strong, so
/// a weak tag (`W/"…"`) never matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    OneOf(Vec<String>),
}

/// The most entity tags one `If-Match` may list.
const MAX_TAGS: usize = 16;

impl IfMatch {
    /// Whether a row at version `current` satisfies the condition.
    pub fn admits(&self, current: &str) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(tags) => tags.iter().any(|tag| tag == current),
        }
    }
}

impl std::str::FromStr for IfMatch {
    type Err = super::values::BadValue;

    /// `*`, or a comma-separated list of `"tag"` and `W/"tag"`; anything else is refused.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let malformed = || super::values::BadValue::new("If-Match is `*` or a list of quoted entity tags");
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::Any);
        }
        let mut tags = Vec::new();
        let mut rest = raw;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let weak = rest.starts_with("W/");
            let quoted = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"').ok_or_else(malformed)?;
            let end = quoted.find('"').ok_or_else(malformed)?;
            if tags.len() == MAX_TAGS {
                return Err(malformed());
            }
            if !weak {
                tags.push(quoted[..end].to_string());
            }
            rest = &quoted[end + 1..];
            if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
                return Err(malformed());
            }
        }
        if tags.is_empty() && !raw.contains("W/") {
            return Err(malformed());
        }
        Ok(Self::OneOf(tags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_fixed_and_tell_fields_apart() {
        assert_eq!(fnv1a(&[]), "cbf29ce484222325");
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
        assert_eq!(fnv1a(&["online", "", "100"]), fnv1a(&["online", "", "100"]));
    }

    #[test]
    fn if_match_lists_tags_and_compares_them_strongly() {
        let parse = |raw: &str| raw.parse::<IfMatch>();
        assert_eq!(parse(" * ").unwrap(), IfMatch::Any);
        assert!(parse("*").unwrap().admits("anything"));
        let list = parse(r#""aa", "bb" ,"cc""#).unwrap();
        assert!(list.admits("bb") && list.admits("cc") && !list.admits("dd"));
        assert!(!parse(r#"W/"aa""#).unwrap().admits("aa"), "a weak tag never matches");
        assert!(parse(r#"W/"aa", "bb""#).unwrap().admits("bb"));
        assert!(parse(r#""a,b""#).unwrap().admits("a,b"), "a comma inside a tag is part of it");
        for bad in ["", "aa", r#""aa"#, r#""aa"bb"#, r#"*, "aa""#] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let many = vec![r#""x""#; 17].join(",");
        assert!(parse(&many).is_err(), "at most 16 tags");
    }
}
