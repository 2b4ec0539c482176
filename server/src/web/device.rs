//! Device cookies (`palomar_device`): a browser that logged in as an operator gets one, signed
//! with the session key, and a later login of that operator from it is exempt from the throttle
//! that strangers' guesses put on the account (`palomar_core::services::LoginThrottle`). The
//! value is a random id and the username; the signature covers the name and value, so it can be
//! neither forged nor moved to another account.

use palomar_core::services::{DeviceCookies, KnownDevice};
use tower_sessions::cookie::{time::Duration, Cookie, CookieJar, Key, SameSite};
use uuid::Uuid;

/// The cookie's name.
pub const DEVICE_COOKIE: &str = "palomar_device";

/// How long a browser stays known without logging in again.
const LIFETIME_DAYS: i64 = 180;

/// At most this many cookies of a `Cookie` header are looked at.
const MAX_COOKIES_READ: usize = 64;

/// Signs and checks device cookies with the session key.
pub struct SignedDevices {
    key: Key,
    /// `Secure`, as the session cookie is.
    secure: bool,
}

impl SignedDevices {
    pub fn new(key: Key, secure: bool) -> Self {
        Self { key, secure }
    }
}

impl DeviceCookies for SignedDevices {
    fn known_device(&self, cookie_header: &str) -> Option<KnownDevice> {
        let mut jar = CookieJar::new();
        for part in cookie_header.split(';').take(MAX_COOKIES_READ) {
            if let Ok(cookie) = Cookie::parse(part.trim().to_string()) {
                if cookie.name() == DEVICE_COOKIE {
                    jar.add_original(cookie);
                }
            }
        }
        let verified = jar.signed(&self.key).get(DEVICE_COOKIE)?;
        // The id is hex: the first '.' ends it, the rest is the username.
        let (id, username) = verified.value().split_once('.')?;
        (!id.is_empty() && !username.is_empty())
            .then(|| KnownDevice { username: username.to_string(), id: id.to_string() })
    }

    fn issue(&self, username: &str) -> String {
        let id = Uuid::new_v4().simple().to_string();
        let cookie = Cookie::build((DEVICE_COOKIE, format!("{id}.{username}")))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(Duration::days(LIFETIME_DAYS))
            .build();
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(cookie);
        jar.get(DEVICE_COOKIE).map(|signed| signed.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> SignedDevices {
        SignedDevices::new(Key::from(&[7u8; 64]), true)
    }

    #[test]
    fn an_issued_cookie_proves_its_account_and_nothing_else_does() {
        let devices = devices();
        let set_cookie = devices.issue("alice@example.net");
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict") && set_cookie.contains("Secure")
        );
        let pair = set_cookie.split(';').next().expect("name=value");
        let known = devices.known_device(&format!("palomar_session=x; {pair}")).expect("a known device");
        assert_eq!(known.username, "alice@example.net");
        assert_eq!(known.id.len(), 32);
        // Tampered: another name under the same signature, or no signature at all.
        let forged = pair.replace("alice@example.net", "admin");
        assert_eq!(devices.known_device(&forged), None);
        assert_eq!(devices.known_device("palomar_device=0123.admin"), None);
        // Another server's key.
        let other = SignedDevices::new(Key::from(&[8u8; 64]), true);
        assert_eq!(other.known_device(pair), None);
    }
}
