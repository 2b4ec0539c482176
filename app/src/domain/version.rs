//! Versions of GeoDB rows, for conditional writes over the API (`ETag`, `If-Match`): a hash of
//! the columns a write may change, so a client that read a row can say "only if it is still
//! as I read it". Stable across builds (FNV-1a), so versions survive a restart.

use super::geodb::{Backend, UserGroup};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_fixed_and_tell_fields_apart() {
        assert_eq!(fnv1a(&[]), "cbf29ce484222325");
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
        assert_eq!(fnv1a(&["online", "", "100"]), fnv1a(&["online", "", "100"]));
    }
}
