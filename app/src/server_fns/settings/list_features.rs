use leptos::prelude::*;

use crate::domain::feature::FeatureMode;
use crate::domain::AppError;

/// Each controller feature's state (on, dryrun, off) for a site, and the mode it runs in.
#[server(endpoint = "settings/features")]
pub async fn list_features(site_id: String) -> Result<Vec<FeatureMode>, AppError> {
    use crate::domain::validate;
    use crate::server_fns::support::{caller, finish};

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
