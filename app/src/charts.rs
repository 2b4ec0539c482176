//! The history charts as SVG, drawn on the server with charts-rs (so that they show without
//! JavaScript). Names and labels are our own numbers and GeoDB host names; charts-rs escapes
//! every text it writes.

use charts_rs::{BarChart, ChartBase, LineChart, Series};
use chrono::{DateTime, Utc};

use domain::{
    dashboard::{ChartData, ChartKind, ChartView},
    replay::{ReplayChart, SeriesPoint},
};

/// The drawing's size in SVG units; the page scales it to its box.
const WIDTH: f32 = 720.0;
const HEIGHT: f32 = 300.0;

/// Draws `data`. A chart without points is no drawing: the page says so instead.
pub fn render(data: &ChartData) -> ChartView {
    let points = data.points();
    if points == 0 {
        return ChartView { kind: data.kind, svg: String::new(), points, error: data.error.clone() };
    }
    let labels: Vec<String> = data.times.iter().map(|t| label(data.kind, *t)).collect();
    let series: Vec<Series> = data
        .series
        .iter()
        .map(|(name, values)| Series::new_nullable(name.clone(), values.iter().map(|v| v.map(|v| v as f32)).collect()))
        .collect();
    let drawn = match data.kind {
        ChartKind::MovesPerHour => {
            let mut chart = BarChart::new(series, labels);
            shape(&mut chart.base);
            chart.svg()
        }
        _ => {
            let mut chart = LineChart::new(series, labels);
            shape(&mut chart.base);
            chart.svg()
        }
    };
    match drawn {
        Ok(svg) => ChartView { kind: data.kind, svg, points, error: data.error.clone() },
        Err(err) => {
            ChartView { kind: data.kind, svg: String::new(), points, error: Some(format!("cannot draw: {err}")) }
        }
    }
}

/// The most points a replay chart draws: each is the largest of the passes it stands for, so
/// that a peak shows however long the window.
const REPLAY_POINTS: usize = 240;

/// A replay's charts, recorded against replayed: the spread of summed Z-scores and the worst
/// failure ratio at each pass.
pub fn replay(series: &[SeriesPoint]) -> Vec<ReplayChart> {
    let per = series.len().div_ceil(REPLAY_POINTS).max(1);
    let labels: Vec<String> = series.chunks(per).map(|b| b[0].at.format("%H:%M").to_string()).collect();
    let peak = |pick: fn(&SeriesPoint) -> f64| peaks(series, pick);
    let chart = |id: &str, title: &str, recorded: Vec<f32>, replayed: Vec<f32>| {
        let svg = if labels.is_empty() {
            String::new()
        } else {
            let mut chart = LineChart::new(
                vec![Series::new("recorded".into(), recorded), Series::new("replayed".into(), replayed)],
                labels.clone(),
            );
            shape(&mut chart.base);
            chart.svg().unwrap_or_default()
        };
        ReplayChart { id: id.into(), title: title.into(), svg }
    };
    vec![
        chart(
            "spread",
            "Spread of summed Z-scores (busiest online backend less the idlest)",
            peak(|p| p.spread.recorded),
            peak(|p| p.spread.replayed),
        ),
        chart(
            "failure-ratio",
            "Worst login failure ratio of an online backend",
            peak(|p| p.worst_ratio.recorded),
            peak(|p| p.worst_ratio.replayed),
        ),
    ]
}

/// The largest value of each run of passes a replay chart's point stands for.
fn peaks(series: &[SeriesPoint], pick: fn(&SeriesPoint) -> f64) -> Vec<f32> {
    let per = series.len().div_ceil(REPLAY_POINTS).max(1);
    series.chunks(per).map(|b| b.iter().map(pick).fold(f64::MIN, f64::max) as f32).collect()
}

fn shape(base: &mut ChartBase) {
    base.width = WIDTH;
    base.height = HEIGHT;
}

/// A column's label: the time of day, or the day and hour for the week-long chart (UTC).
fn label(kind: ChartKind, at: DateTime<Utc>) -> String {
    match kind {
        ChartKind::UsersPerBackend => at.format("%m-%d %H:00").to_string(),
        _ => at.format("%H:%M").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(kind: ChartKind, name: &str) -> ChartData {
        let t = |m: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + m * 300, 0).unwrap_or_default();
        ChartData {
            kind,
            times: vec![t(0), t(1), t(2)],
            series: vec![(name.to_string(), vec![Some(1.0), None, Some(3.0)])],
            error: None,
        }
    }

    #[test]
    fn charts_are_svg_with_their_series() {
        for kind in ChartKind::ALL {
            let view = render(&data(kind, "be1.dc1a.example.net"));
            assert_eq!(view.points, 2);
            assert!(view.svg.starts_with("<svg"), "{kind:?}: {}", &view.svg[..view.svg.len().min(80)]);
            assert!(view.svg.contains("be1.dc1a.example.net"), "{kind:?}: the legend names the host");
        }
    }

    #[test]
    fn a_replay_chart_keeps_each_peak_however_long_the_window() {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let series: Vec<SeriesPoint> = (0..1000)
            .map(|i| SeriesPoint {
                at: t0 + chrono::Duration::seconds(i * 60),
                spread: domain::replay::Both { recorded: if i == 517 { 9.5 } else { 1.0 }, replayed: 1.0 },
                worst_ratio: Default::default(),
                offline: Default::default(),
            })
            .collect();
        let spread = peaks(&series, |p| p.spread.recorded);
        assert!(spread.len() <= REPLAY_POINTS);
        assert_eq!(spread.iter().copied().fold(0.0, f32::max), 9.5);
        let charts = replay(&series);
        assert_eq!(charts.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["spread", "failure-ratio"]);
        assert!(charts[0].svg.starts_with("<svg") && charts[0].svg.contains("replayed"));
        assert!(replay(&[]).iter().all(|c| c.svg.is_empty()));
    }

    #[test]
    fn names_are_escaped_and_empty_charts_are_not_drawn() {
        let view = render(&data(ChartKind::Logins, "<script>alert(1)</script>"));
        assert!(!view.svg.contains("<script>"));
        let empty = ChartData { series: vec![], ..data(ChartKind::Logins, "x") };
        assert!(render(&empty).svg.is_empty());
    }
}
