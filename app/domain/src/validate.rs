//! Input checks shared by every form and server function.

use uuid::Uuid;

use super::{
    values::{self, is_dns_name},
    AppError,
};

/// Checks that a trimmed value has between `min` and `max` characters.
pub fn bounded(field: &str, value: &str, min: usize, max: usize) -> Result<(), AppError> {
    let len = value.chars().count();
    if len < min {
        return Err(AppError::invalid(field, format!("{} is required", human(field))));
    }
    if len > max {
        return Err(AppError::invalid(field, format!("{} may have at most {max} characters", human(field))));
    }
    Ok(())
}

/// Parses a UUID from a form field.
pub fn uuid(field: &str, raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw.trim()).map_err(|_| AppError::invalid(field, format!("{} must be a UUID", human(field))))
}

/// Parses an optional UUID: an empty field means none.
pub fn optional_uuid(field: &str, raw: &str) -> Result<Option<Uuid>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        value => uuid(field, value).map(Some),
    }
}

/// A checkbox's value as a page showed it, from a hidden field: `yes` or `no`.
pub fn shown_flag(field: &str, raw: &str) -> Result<bool, AppError> {
    match raw {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(AppError::invalid(field, format!("{} is yes or no: reload the page", human(field)))),
    }
}

/// A name as Dovecot's `doveadm cluster` commands accept it (`values::is_cluster_name`), in
/// the words every front shows for a group's or a site's name; `field` names what it is.
pub fn cluster_name(field: &str, raw: &str) -> Result<String, AppError> {
    values::cluster_name(raw, field).map_err(|bad| bad.on(field))
}

/// A DNS host name (RFC 1123 labels) or an IP address literal.
pub fn host_or_ip(field: &str, raw: &str) -> Result<String, AppError> {
    let host = raw.trim();
    bounded(field, host, 1, 253)?;
    if host.parse::<std::net::IpAddr>().is_ok() || is_dns_name(host) {
        Ok(host.to_string())
    } else {
        Err(AppError::invalid(field, format!("{} must be a host name or an IP address", human(field))))
    }
}

/// An instant, as RFC 3339 (`2026-12-07T08:00:00Z`, any offset) or as a UTC date and time
/// (`2026-12-07T08:00`, what a browser's date-time field sends); blank is none.
pub fn instant(field: &str, raw: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() <= 40 {
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw) {
            return Ok(Some(at.with_timezone(&chrono::Utc)));
        }
        for form in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
            if let Ok(at) = chrono::NaiveDateTime::parse_from_str(raw, form) {
                return Ok(Some(at.and_utc()));
            }
        }
    }
    Err(AppError::invalid(field, format!("{} is a time as 2026-12-07T08:00:00Z (UTC)", human(field))))
}

fn human(field: &str) -> String {
    let mut words = field.replace('_', " ");
    if let Some(first) = words.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_name("lb.dc1.example.com"));
        assert!(is_dns_name("be-1"));
        assert!(!is_dns_name("-be"));
        assert!(!is_dns_name("be_1"));
        assert!(!is_dns_name("a..b"));
        assert!(!is_dns_name(&"a".repeat(64)));
    }

    #[test]
    fn host_accepts_ip_literals_and_names() {
        assert!(host_or_ip("load_balancer", "10.0.0.1").is_ok());
        assert!(host_or_ip("load_balancer", "::1").is_ok());
        assert!(host_or_ip("load_balancer", "lb.example.com").is_ok());
        assert_eq!(host_or_ip("load_balancer", "bad host").unwrap_err().field(), Some("load_balancer"));
    }

    #[test]
    fn cluster_names() {
        assert_eq!(cluster_name("name", "  dc1a ").unwrap(), "dc1a");
        assert!(cluster_name("name", "").is_err());
        assert!(cluster_name("name", "dc 1").is_err());
        assert!(cluster_name("name", &"x".repeat(65)).is_err());
    }

    #[test]
    fn instants() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T08:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(instant("from", "2026-12-07T08:00:00Z").unwrap(), Some(at));
        assert_eq!(instant("from", "2026-12-07T09:00:00+01:00").unwrap(), Some(at));
        assert_eq!(instant("from", " 2026-12-07T08:00 ").unwrap(), Some(at));
        assert_eq!(instant("from", "").unwrap(), None);
        let bad = instant("from", "yesterday").unwrap_err();
        assert_eq!(
            (bad.field(), bad.to_string().as_str()),
            (Some("from"), "From is a time as 2026-12-07T08:00:00Z (UTC)")
        );
    }

    #[test]
    fn optional_uuids() {
        assert_eq!(optional_uuid("tag", " ").unwrap(), None);
        assert!(optional_uuid("tag", "nope").is_err());
        let id = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
        assert_eq!(optional_uuid("tag", &id.to_string()).unwrap(), Some(id));
    }
}

/// Accepts a path on this server (`/x`, not `//host` or `http://`), for post-login and
/// post-form redirects. Anything else gives `None`.
pub fn local_path(raw: &str) -> Option<String> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= 2048
        && raw.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| raw.to_string())
}

#[cfg(test)]
mod local_path_tests {
    use super::local_path;

    #[test]
    fn only_local_paths() {
        assert_eq!(local_path("/sites?x=1").as_deref(), Some("/sites?x=1"));
        assert_eq!(local_path("//evil.example"), None);
        assert_eq!(local_path("https://evil.example/"), None);
        assert_eq!(local_path("/a b"), None);
        assert_eq!(local_path(""), None);
    }
}
