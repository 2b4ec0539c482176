mod create_token;
mod list_tokens;
mod revoke_token;

pub use create_token::*;
pub use list_tokens::*;
pub use revoke_token::*;

/// Session key holding a token just created, until the tokens page shows it (once).
#[cfg(feature = "ssr")]
const SESSION_NEW_TOKEN: &str = "palomar.new_token";
