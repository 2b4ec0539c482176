use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::replay::ReplayPage;

/// A site's replay page: the form's defaults and, when `run` names one, that replay with its
/// charts.
#[server(endpoint = "replays/page")]
pub async fn get_replay_page(site_id: String, run: String) -> Result<ReplayPage, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{
        replay::{ReplayShown, SettingOverride},
        validate, Role,
    };

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let run = validate::optional_uuid("run", &run)?;
            let site = services.site_by_key(&caller, &site_id.to_string()).await?;
            let reader = services.replay_reader(&caller);
            let in_force = match services.replays(&caller) {
                Ok(replays) => replays.in_force(&site).await?,
                Err(_) => Vec::new(),
            };
            let shown = match run {
                Some(id) => {
                    let mut run = reader.get(&site, id).await?;
                    let series = run.result.as_mut().map(|r| std::mem::take(&mut r.series)).unwrap_or_default();
                    Some(ReplayShown { run, charts: crate::charts::replay(&series) })
                }
                None => None,
            };
            let (from, to) = reader.default_window();
            let minute = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
            Ok(ReplayPage {
                site_id: site.id,
                site: site.name,
                from: minute(from),
                to: minute(to),
                settings: in_force.iter().map(SettingOverride::to_string).collect::<Vec<_>>().join("\n"),
                can_start: caller.role() >= Role::Operator,
                run: shown,
            })
        }
        .await,
    )
    .await
}
