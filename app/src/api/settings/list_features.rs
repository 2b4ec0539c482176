use leptos::prelude::*;

use crate::domain::feature::{Feature, FeatureState};
use crate::domain::AppError;

/// Each controller feature's state (on, dryrun, off) for a site.
#[server(endpoint = "settings/features")]
pub async fn list_features(site_id: String) -> Result<Vec<(Feature, FeatureState)>, AppError> {
    use crate::api::support::{caller, finish};
    use crate::domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let states = services.settings(&caller).features(site_id).await?;
            Ok(states)
        }
        .await,
    )
}
