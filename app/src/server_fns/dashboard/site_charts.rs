use leptos::prelude::*;

use crate::server_fns::UiError;

use domain::dashboard::ChartView;

/// A site's history charts, drawn as SVG on the server.
#[server(endpoint = "dashboard/charts")]
pub async fn site_charts(site_id: String) -> Result<Vec<ChartView>, UiError> {
    use crate::server_fns::support::{caller, finish};
    use domain::{dashboard::ChartKind, validate};

    finish(
        async {
            let (caller, services) = caller().await?;
            let site_id = validate::uuid("site_id", &site_id)?;
            let reader = services.dashboard(&caller);
            let charts = ChartKind::ALL.map(|kind| reader.chart(site_id, kind));
            let data = futures::future::try_join_all(charts).await?;
            Ok(data.iter().map(crate::charts::render).collect())
        }
        .await,
    )
    .await
}
