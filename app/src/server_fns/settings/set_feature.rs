use leptos::prelude::*;

use crate::server_fns::UiError;

/// Sets a controller feature on, dryrun or off for a site (operator).
#[server(endpoint = "settings/set_feature")]
pub async fn set_feature(site_id: String, feature: String, state: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::feature::{Feature, FeatureState};
    use domain::logtext::Untrusted;
    use domain::validate;

    finish(
        async {
            let (caller, services) = caller().await?;
            let ops = services.feature_ops(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let feature: Feature = feature.parse()?;
            let state: FeatureState = state.parse()?;
            ops.set(site_id, feature, state).await?;
            tracing::info!(operator = %Untrusted(caller.username()), %site_id, %feature, %state, "feature state set");
            leptos_axum::redirect(&format!("/sites/{site_id}/features"));
            Ok(())
        }
        .await,
    )
    .await
}
