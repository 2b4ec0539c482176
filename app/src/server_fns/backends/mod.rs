mod add_backend;
mod evacuate_backend;
mod list_backends;
mod remove_backend;
mod set_backend_load_factor;
mod set_backend_status;

pub use add_backend::*;
pub use evacuate_backend::*;
pub use list_backends::*;
pub use remove_backend::*;
pub use set_backend_load_factor::*;
pub use set_backend_status::*;
