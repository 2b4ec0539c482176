//! The history charts as SVG, drawn on the server with charts-rs (so that they show without
//! JavaScript). Names and labels are our own numbers and GeoDB host names; charts-rs escapes
//! every text it writes.

use charts_rs::{BarChart, ChartBase, LineChart, Series};
use chrono::{DateTime, Utc};

use domain::dashboard::{ChartData, ChartKind, ChartView};

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
    fn names_are_escaped_and_empty_charts_are_not_drawn() {
        let view = render(&data(ChartKind::Logins, "<script>alert(1)</script>"));
        assert!(!view.svg.contains("<script>"));
        let empty = ChartData { series: vec![], ..data(ChartKind::Logins, "x") };
        assert!(render(&empty).svg.is_empty());
    }
}
