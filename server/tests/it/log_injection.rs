//! Text from outside reaches the logs escaped and capped. The login side
//! is in `web_auth.rs`; here, what a metrics source or a GeoDB row says on the controller's
//! way to its log lines.

use crate::common;
use domain::loops::LoopKind;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use palomar_core::{
    controller::{Census, Controller},
    ports::{Metrics, MetricsError, SettingTable},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    feature::{Feature, FeatureState, FEATURE_SECTION},
    geodb::ClusterSetting,
    metrics::{HostMeasure, HostScore, HostSeries, HostTraffic},
};
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    seed::{seed_sample_cluster, SampleSize},
};

/// A metrics source whose errors say whatever it likes.
struct Lying(String);

#[async_trait]
impl Metrics for Lying {
    async fn host_traffic(&self, _window: Duration) -> Result<BTreeMap<String, HostTraffic>, MetricsError> {
        Err(MetricsError::Query(self.0.clone()))
    }

    async fn host_scores(&self, _site: &str, _window: Duration) -> Result<Vec<HostScore>, MetricsError> {
        Err(MetricsError::Query(self.0.clone()))
    }
    async fn host_history(
        &self,
        _site: &str,
        _measure: HostMeasure,
        _end: DateTime<Utc>,
        _range: Duration,
        _step: Duration,
    ) -> Result<Vec<HostSeries>, MetricsError> {
        Err(MetricsError::Query(self.0.clone()))
    }
}

#[tokio::test]
async fn a_metrics_error_cannot_forge_a_log_line() {
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 2, groups_per_site: 4, users: 10 };
    let site = seed_sample_cluster(store.clone(), size, 1).await.expect("seed").sites[0].clone();
    let setting = ClusterSetting {
        section: FEATURE_SECTION.into(),
        site_id: site.id,
        backend_id: uuid::Uuid::nil(),
        setting_name: Feature::HostFailure.as_str().into(),
        setting_value: FeatureState::Dryrun.as_str().into(),
    };
    store.put_setting(&setting).await.expect("feature dry");
    let lie = format!("boom\nforged: INFO this instance now leads the site\n{}", "x".repeat(10_000));
    let ports = common::embedded_ports(store.clone(), Arc::new(Lying(lie)));
    let controller =
        Controller::new(ports, Arc::new(Census::default()), common::controller_settings(&site.name, "one"));

    let logs = common::logs::Captured::default();
    let guard = logs.install();
    for kind in [LoopKind::Leader, LoopKind::Reachability, LoopKind::Pass] {
        controller.run(kind).await;
    }
    drop(guard);

    let text = logs.text();
    let line =
        text.lines().find(|l| l.contains("controller loop made no decision")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(r"boom\nforged: INFO"), "{line}");
    assert!(!text.lines().any(|l| l.starts_with("forged")), "a forged line: {text}");
    assert!(line.len() < 2_000, "the reason is capped: {} characters", line.len());
}
