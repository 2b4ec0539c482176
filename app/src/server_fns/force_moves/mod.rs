mod change_force_move;
mod get_force_moves;
mod start_force_move;
mod start_recover;
mod stop_force_move;

pub use change_force_move::*;
pub use get_force_moves::*;
pub use start_force_move::*;
pub use start_recover::*;
pub use stop_force_move::*;

/// Which operation a form names: its kind and, for a backend force-move, the backend's host.
#[cfg(feature = "ssr")]
async fn key_of(
    services: &palomar_core::services::Services,
    caller: &palomar_core::services::Caller,
    site_id: uuid::Uuid,
    kind: &str,
    backend: &str,
) -> Result<palomar_core::services::ForceMoveKey, domain::AppError> {
    let kind: domain::force_move::ForceMoveKind = kind.parse()?;
    let backend_id = match backend.trim() {
        "" => None,
        host => Some(services.backends(caller).by_host(site_id, host).await?.backend.id),
    };
    Ok(palomar_core::services::ForceMoveKey { kind, site_id, backend_id })
}
