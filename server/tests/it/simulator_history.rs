//! The embedded metrics' histories (what the demo's charts read), the simulator driven tick by
//! tick with a manual clock: points after a minute or two of traffic, and back past the
//! quarter of an hour that the per-tick totals keep.

use std::{sync::Arc, time::Duration};

use domain::metrics::{HostMeasure, HostSeries};

use chrono::Utc;
use palomar_core::ports::{Clock, ManualClock, Metrics, MAX_HISTORY_POINTS};
use palomar_server::{
    adapters::{embedded::EmbeddedStore, sim_metrics::SimulatorMetrics},
    seed::{seed_sample_cluster, SampleSize},
};
use palomar_sim::{SimSettings, Simulator};

const MEASURES: [HostMeasure; 3] = [HostMeasure::LoginsPerMinute, HostMeasure::FailureRatio, HostMeasure::SummedZScore];

/// A seeded site of three backends under the demo's traffic settings; the site's name.
async fn simulator(clock: Arc<ManualClock>) -> (Arc<Simulator>, String) {
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 3, groups_per_site: 10, users: 500 };
    let report = seed_sample_cluster(store.clone(), size, 1).await.expect("seed");
    let sim = Simulator::load(store, clock, SimSettings::default(), 5).await.expect("simulator");
    (sim, report.sites[0].name.clone())
}

async fn ticks(sim: &Simulator, clock: &ManualClock, n: usize, each: Duration) {
    for _ in 0..n {
        clock.advance(each);
        sim.tick(each).await.expect("tick");
    }
}

fn backends(series: &[HostSeries], site: &str) -> usize {
    series.iter().filter(|s| s.host.ends_with(&format!(".{site}.example.net"))).count()
}

#[tokio::test]
async fn two_minutes_of_traffic_give_every_backend_a_line_of_each_measure() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (sim, site) = simulator(clock.clone()).await;
    let metrics = SimulatorMetrics::new(sim.clone());
    ticks(&sim, &clock, 120, Duration::from_secs(1)).await;
    let (hour, minute) = (Duration::from_secs(3600), Duration::from_secs(60));
    for measure in MEASURES {
        let series = metrics.host_history(&site, measure, clock.now(), hour, minute).await.expect("history");
        assert_eq!(backends(&series, &site), 3, "{measure:?}: {series:?}");
        for s in &series {
            // The last two minutes of the hour: points at the last two or three times.
            assert!((1..=3).contains(&s.points.len()), "{measure:?} {}: {:?}", s.host, s.points);
            assert_eq!(s.points.last().map(|p| p.0), Some(clock.now()), "the grid ends at `end`");
        }
    }
    let logins = metrics.host_history(&site, HostMeasure::LoginsPerMinute, clock.now(), hour, minute).await;
    assert!(logins.expect("history").iter().all(|s| s.points.iter().all(|(_, v)| *v > 0.0)));
}

#[tokio::test]
async fn a_day_long_chart_reads_the_minute_totals_past_the_ticks_kept() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (sim, site) = simulator(clock.clone()).await;
    let metrics = SimulatorMetrics::new(sim.clone());
    // Forty minutes at one tick a minute: the per-tick totals keep only the last 15.
    ticks(&sim, &clock, 40, Duration::from_secs(60)).await;
    let (day, second) = (Duration::from_secs(86_400), Duration::from_secs(1));
    let series = metrics.host_history(&site, HostMeasure::LoginsPerMinute, clock.now(), day, second).await;
    let series = series.expect("history");
    assert_eq!(backends(&series, &site), 3);
    for s in &series {
        let first = s.points.first().map(|p| p.0).expect("points");
        assert!(clock.now() - first >= chrono::Duration::minutes(30), "{}: from {first} only", s.host);
        assert!(s.points.len() <= MAX_HISTORY_POINTS);
        // A day of 1 s steps is widened to a step of 174 s.
        assert!(s.points.windows(2).all(|w| (w[1].0 - w[0].0).num_seconds() % 174 == 0));
        assert!(s.points.iter().all(|(_, v)| *v > 0.0), "{}: {:?}", s.host, s.points);
    }
}
