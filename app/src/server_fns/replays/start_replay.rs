use leptos::prelude::*;

use crate::server_fns::UiError;

/// Starts a replay of the site (operators) and opens its page: the window (blank: the last 24
/// hours) and the settings, one `NAME=VALUE` a line; those equal to the value in force are
/// left out.
#[server(endpoint = "replays/start")]
pub async fn start_replay(site_id: String, from: String, to: String, settings: String) -> Result<(), UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{replay::SettingOverride, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let replays = services.replays(&caller)?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let site = services.site_by_key(&caller, &site_id.to_string()).await?;
            let (from, to) = (validate::instant("from", &from)?, validate::instant("to", &to)?);
            let asked = SettingOverride::parse_lines(&settings)?;
            let ask = replays.ask(&site, from, to, &asked).await?;
            let run = replays.start(&site, ask).await?;
            leptos_axum::redirect(&format!("/sites/{site_id}/replay?run={}", run.id));
            Ok(())
        }
        .await,
    )
    .await
}
