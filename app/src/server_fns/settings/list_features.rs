use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::feature::FeatureMode;

/// Each controller feature's state (on, dryrun, off) for a site, and the mode it runs in.
#[server(endpoint = "settings/features")]
pub async fn list_features(site_id: String) -> Result<Vec<FeatureMode>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let states = services.settings(&caller).features(site_id).await?;
            Ok(states)
        }
        .await,
    )
    .await
}
