//! A status change ends the source's force-moves and recovers (see `docs/multi-site.md`).

use uuid::Uuid;

use crate::ports::GeoDb;
use domain::force_move::{ForceMove, ForceMoveKind};

/// Ends the site's (or backend's) force-moves and recovers after its status changed to
/// `status` (by an operator or by the controller), as `doveadm cluster site|backend update
/// --status` does. They are void already (their source's status differs), so that they stay
/// ended should the status come back; this removes their rows, each only if still as read and
/// still void (one started since, under the new status, stays).
pub(crate) async fn end_force_moves(geodb: &dyn GeoDb, site_id: Uuid, backend_id: Option<Uuid>, status: &str) {
    for kind in ForceMoveKind::ALL {
        let key = ForceMove::key(kind, site_id, backend_id);
        let removed = match geodb.get_setting(&key).await {
            Ok(Some(row)) if ForceMove::from_setting(&row).is_some_and(|op| !op.is_live(status)) => {
                geodb.remove_setting(&row).await.map(|_| ())
            }
            Ok(_) => Ok(()),
            Err(err) => Err(err),
        };
        if let Err(err) = removed {
            tracing::warn!(error = %domain::logtext::Untrusted(&err), "cannot clear a force-move after a status change");
        }
    }
}
