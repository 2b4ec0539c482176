//! The metrics of past passes, for replays: the queries of `host_traffic` and `host_scores`
//! as range queries on the passes' times, so that each time gets what an instant query then
//! would have answered. The grid is read in slices, so that one answer for a site of a
//! thousand backends stays well under [`MAX_ANSWER_BYTES`](super::MAX_ANSWER_BYTES).

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use domain::{
    metrics::{HistoryGrid, HostScore},
    replay::{PassMetrics, MAX_PASSES},
};
use palomar_core::ports::MetricsError;

use super::{score_key, PrometheusMetrics, TRAFFIC_COUNTERS};

/// Times per range query: 240 points of about 30 bytes for each of a thousand series.
const SLICE: usize = 240;

impl PrometheusMetrics {
    pub(super) async fn passes(
        &self,
        site: &str,
        grid: &HistoryGrid,
        traffic_window: Duration,
        score_window: Duration,
    ) -> Result<Vec<PassMetrics>, MetricsError> {
        let times: Vec<DateTime<Utc>> = grid.times().take(MAX_PASSES).collect();
        let mut passes: Vec<PassMetrics> =
            times.iter().map(|at| PassMetrics { at: *at, ..PassMetrics::default() }).collect();
        let step = chrono::Duration::seconds(grid.step_secs.max(1));
        for (n, chunk) in times.chunks(SLICE).enumerate() {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else { continue };
            let slice = HistoryGrid { start: *first, end: *last, step_secs: grid.step_secs };
            // The pass a point belongs to: points come back on the grid's times, to the
            // millisecond.
            let offset = n * SLICE;
            let slot = |t: DateTime<Utc>| {
                let k = ((t - *first).num_milliseconds() + step.num_milliseconds() / 2) / step.num_milliseconds();
                usize::try_from(k).ok().filter(|k| *k < chunk.len()).map(|k| k + offset)
            };
            let seconds = traffic_window.as_secs().max(1);
            for metric in TRAFFIC_COUNTERS {
                for (labels, points) in self.matrix(&self.traffic_query(metric, seconds), &slice).await? {
                    let Some(host) = labels.get("dest_host") else { continue };
                    for (t, value) in points {
                        let Some(k) = slot(t) else { continue };
                        let traffic = passes[k].traffic.get_or_insert_with(BTreeMap::new);
                        metric.set(traffic.entry(host.clone()).or_default(), value);
                    }
                }
            }
            let (average_query, count_query) = self.score_queries(site, score_window);
            let mut counts: BTreeMap<(usize, (String, String)), f64> = BTreeMap::new();
            for (labels, points) in self.matrix(&count_query, &slice).await? {
                for (t, value) in points {
                    if let Some(k) = slot(t) {
                        counts.insert((k, score_key(&labels)), value);
                    }
                }
            }
            for (labels, points) in self.matrix(&average_query, &slice).await? {
                let (host, score) = score_key(&labels);
                for (t, average) in points {
                    let Some(k) = slot(t) else { continue };
                    let samples_24h = counts.get(&(k, (host.clone(), score.clone()))).copied().unwrap_or(0.0) as u64;
                    let scores = passes[k].scores.get_or_insert_with(Vec::new);
                    scores.push(HostScore { host: host.clone(), score: score.clone(), average, samples_24h });
                }
            }
        }
        // The order `host_scores` gives: by host, then resource.
        for pass in &mut passes {
            if let Some(scores) = &mut pass.scores {
                scores.sort_by(|a, b| (&a.host, &a.score).cmp(&(&b.host, &b.score)));
            }
        }
        Ok(passes)
    }
}
