//! Who is calling the services: access control as types. A [`Caller`] exists only for an
//! operator whose session or API token was checked, or for the local command line.

use domain::{operator::OperatorView, AppError, Role};

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The peer address, with the `X-Forwarded-For` chain in front when a proxy sent one.
    pub client_ip: String,
    pub user_agent: String,
    /// The client's address as far as it can be trusted (the peer, or what a trusted proxy
    /// says): the login throttle counts failures against it.
    pub client_addr: Option<std::net::IpAddr>,
}

/// An operator whose session was just checked against the operator store: the account exists,
/// is enabled, and has not revoked its sessions since this one's login. Only
/// [`super::Accounts::session_holder`] makes one, so a [`Caller`] from a session has always been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionHolder(OperatorView);

impl SessionHolder {
    pub(crate) fn checked(operator: OperatorView) -> Self {
        Self(operator)
    }

    pub fn operator(&self) -> &OperatorView {
        &self.0
    }
}

/// An operator whose session or API token has been checked against the operator store.
/// Only [`Caller::from_session`] (from a [`SessionHolder`]), [`super::Services::token_caller`] (from an
/// API token) and [`Caller::trusted_cli`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub(super) username: String,
    pub(super) role: Role,
    pub(super) origin: RequestOrigin,
    /// The API token the operator acts through, if any: every audit record names it.
    pub(super) token: Option<uuid::Uuid>,
}

impl Caller {
    pub fn from_session(holder: SessionHolder, origin: RequestOrigin) -> Self {
        let SessionHolder(operator) = holder;
        Self { username: operator.username, role: operator.role, origin, token: None }
    }

    /// The local administrator running a server subcommand on the host itself.
    pub fn trusted_cli() -> Self {
        Self {
            username: "cli".into(),
            role: Role::Admin,
            origin: RequestOrigin {
                client_ip: "local".into(),
                user_agent: "palomar command line".into(),
                client_addr: None,
            },
            token: None,
        }
    }

    /// The API token behind this caller, if any.
    pub fn token(&self) -> Option<uuid::Uuid> {
        self.token
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn origin(&self) -> &RequestOrigin {
        &self.origin
    }

    /// Succeeds when this caller's role is at least `need`.
    pub fn require(&self, need: Role) -> Result<(), AppError> {
        if self.role >= need {
            Ok(())
        } else {
            Err(AppError::Forbidden { need, have: self.role })
        }
    }
}
