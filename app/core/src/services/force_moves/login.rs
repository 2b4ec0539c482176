//! A login under the running force-moves: what `domain::force_move::relocation` decides,
//! carried out with conditional writes. The route API and the simulator's proxies both call
//! [`follow_force_moves`], so a CE proxy and a simulated Pro proxy move the same users.

use chrono::{DateTime, Utc};

use crate::ports::{read_all, GeoDb, StoreError};
use domain::{
    force_move::{relocation, ForceMove, ForceMoveKind, ForceMoveScope, MovedUser, Relocation, FORCE_MOVE_SECTION},
    geodb::User,
    logtext::Untrusted,
    Site,
};

/// Every force-move and recover in the GeoDB that this version can read.
pub async fn read_force_moves(geodb: &dyn GeoDb) -> Result<Vec<ForceMove>, StoreError> {
    let rows = read_all(|page| geodb.list_settings(FORCE_MOVE_SECTION, page)).await?;
    Ok(rows.iter().filter_map(ForceMove::from_setting).collect())
}

/// The user's row after this login: moved if a running operation chooses them, else as read.
/// Reads what the decision needs only when an operation concerns the user's site. A write that
/// finds the row changed since it was read moves nobody: the row is read again and returned.
pub async fn follow_force_moves(
    geodb: &dyn GeoDb,
    operations: &[ForceMove],
    sites: &[Site],
    user: Option<User>,
    now: DateTime<Utc>,
) -> Result<Option<User>, StoreError> {
    let Some(user) = user else { return Ok(None) };
    let Some(home) = user.preferred_site_id else { return Ok(Some(user)) };
    if operations.is_empty() || !user.moving_group_name.is_empty() {
        return Ok(Some(user));
    }
    let backend_moves_here = operations.iter().any(|op| op.scope == ForceMoveScope::Backend && op.site_id == home);
    let (backends, group) = if backend_moves_here {
        let backends = read_all(|page| geodb.list_backends(home, page)).await?;
        (backends, geodb.get_group(home, &user.group_name).await?)
    } else {
        (Vec::new(), None)
    };
    // A user moved out of a site being recovered has a row under that site: one read per
    // recover running elsewhere (a handful at most).
    let mut moved = None;
    for op in operations.iter().filter(|op| op.kind == ForceMoveKind::Recover && op.site_id != home) {
        moved = geodb.get_setting(&MovedUser::key(op.site_id, &user.username)).await?;
        if moved.is_some() {
            break;
        }
    }
    let moved_user = moved.as_ref().and_then(MovedUser::from_setting);
    let Some(decision) = relocation(&user, operations, sites, &backends, group.as_ref(), moved_user.as_ref(), now)
    else {
        return Ok(Some(user));
    };
    let applied = match &decision {
        Relocation::LeaveSite { to, moved: remember } => {
            let key = MovedUser::key(remember.from_site, &remember.username);
            let earlier = geodb.get_setting(&key).await?;
            let row = remember.to_setting();
            if !geodb.write_setting(earlier.as_ref(), &row).await? {
                false
            } else if geodb.relocate_user(&user, to).await? {
                true
            } else {
                geodb.remove_setting(&row).await?;
                false
            }
        }
        Relocation::Return { to } => {
            let done = geodb.relocate_user(&user, to).await?;
            if let (true, Some(row)) = (done, moved.as_ref()) {
                geodb.remove_setting(row).await?;
            }
            done
        }
        Relocation::ChangeGroup { to } => geodb.relocate_user(&user, to).await?,
    };
    if !applied {
        tracing::debug!(user = %Untrusted(&user.username), "force-move: the user's row changed meanwhile");
        return geodb.get_user(&user.username).await;
    }
    let to = decision.placement();
    Ok(Some(User {
        preferred_site_id: Some(to.site_id),
        group_name: to.group.clone(),
        failover_site_group_name: to.failover_group.clone(),
        last_update: Some(to.at),
        ..user
    }))
}
