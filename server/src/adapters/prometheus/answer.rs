//! Reading the answers of Prometheus' HTTP API: the envelope (`status`, `data`, `error`),
//! then an instant query's vector or a range query's matrix. Text quoted from an answer
//! reaches an error escaped and capped (`logtext::escaped`).

use std::collections::BTreeMap;

use domain::logtext::escaped;

use chrono::{DateTime, Utc};
use palomar_core::ports::MetricsError;
use serde::{de::DeserializeOwned, de::IgnoredAny, Deserialize};

/// A sample's labels and its value.
pub type LabelledValue = (BTreeMap<String, String>, f64);

/// A series' labels and its points, oldest first.
pub type LabelledSeries = (BTreeMap<String, String>, Vec<(DateTime<Utc>, f64)>);

#[derive(Deserialize)]
struct Answer<R> {
    status: String,
    #[serde(default = "none")]
    data: Option<Data<R>>,
    #[serde(default)]
    error: Option<String>,
}

// `#[serde(default)]` would ask `R: Default` of every result type.
fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize)]
struct Data<R> {
    #[serde(rename = "resultType")]
    result_type: String,
    result: R,
}

#[derive(Deserialize)]
struct Sample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct Series {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// Reads an answer whose result must be of `expected` type: the envelope first (with the
/// result skipped), so that an error or another result type is reported as such rather than
/// as a shape the samples do not have; then the samples.
fn results<S: DeserializeOwned>(status: u16, body: &[u8], expected: &str) -> Result<Vec<S>, MetricsError> {
    let unreadable = |e: serde_json::Error| MetricsError::BadResponse(format!("HTTP {status}: {}", escaped(e)));
    let head: Answer<IgnoredAny> = serde_json::from_slice(body).map_err(unreadable)?;
    if head.status != "success" {
        return Err(MetricsError::Query(match head.error {
            Some(error) => escaped(error),
            None => format!("HTTP {status}"),
        }));
    }
    let data = head.data.ok_or_else(|| MetricsError::BadResponse("no data".into()))?;
    if data.result_type != expected {
        return Err(MetricsError::BadResponse(format!("expected a {expected}, got {}", escaped(data.result_type))));
    }
    let answer: Answer<Vec<S>> = serde_json::from_slice(body).map_err(unreadable)?;
    Ok(answer.data.map(|d| d.result).unwrap_or_default())
}

fn number(text: &str) -> Result<f64, MetricsError> {
    text.parse::<f64>().map_err(|_| MetricsError::BadResponse(format!("not a number: {}", escaped(text))))
}

/// Reads an instant query's answer (`status` is the HTTP status) that must be a vector:
/// each sample's labels and value, a value that is not finite counted as 0.
pub fn parse_vector(status: u16, body: &[u8]) -> Result<Vec<LabelledValue>, MetricsError> {
    results::<Sample>(status, body, "vector")?
        .into_iter()
        .map(|s| {
            let value = number(&s.value.1)?;
            Ok((s.metric, if value.is_finite() { value } else { 0.0 }))
        })
        .collect()
}

/// Reads a range query's answer (`status` is the HTTP status) that must be a matrix: each
/// series' labels and points in the order given (Prometheus: oldest first). A point whose
/// value is not finite (a division by no traffic) is left out: a chart shows a gap there
/// rather than a made-up 0.
pub fn parse_matrix(status: u16, body: &[u8]) -> Result<Vec<LabelledSeries>, MetricsError> {
    results::<Series>(status, body, "matrix")?
        .into_iter()
        .map(|s| {
            let mut points = Vec::with_capacity(s.values.len());
            for (at, value) in s.values {
                let value = number(&value)?;
                if value.is_finite() {
                    points.push((time(at)?, value));
                }
            }
            Ok((s.metric, points))
        })
        .collect()
}

/// A Prometheus timestamp (seconds since the epoch, to the millisecond).
fn time(seconds: f64) -> Result<DateTime<Utc>, MetricsError> {
    let millis = seconds * 1000.0;
    let in_range = millis.is_finite() && millis.abs() < i64::MAX as f64;
    in_range
        .then(|| DateTime::<Utc>::from_timestamp_millis(millis.round() as i64))
        .flatten()
        .ok_or_else(|| MetricsError::BadResponse(format!("not a time: {seconds}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(result: &str) -> Vec<u8> {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":{result}}}}}"#).into_bytes()
    }

    #[test]
    fn a_matrix_gives_each_series_with_its_points_in_order() {
        let body = matrix(
            r#"[{"metric":{"host":"be1"},"values":[[1800000000,"1.5"],[1800000060.5,"2"]]},
                {"metric":{"host":"be2"},"values":[]}]"#,
        );
        let series = parse_matrix(200, &body).expect("a matrix");
        assert_eq!(series.len(), 2);
        let (labels, points) = &series[0];
        assert_eq!(labels.get("host").map(String::as_str), Some("be1"));
        let first = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("a time");
        let second = DateTime::<Utc>::from_timestamp_millis(1_800_000_060_500).expect("a time");
        assert_eq!(points, &[(first, 1.5), (second, 2.0)]);
        assert!(series[1].1.is_empty());
    }

    #[test]
    fn points_that_are_not_finite_are_left_out() {
        let body = matrix(r#"[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"],[3,"0.25"]]}]"#);
        let series = parse_matrix(200, &body).expect("a matrix");
        assert_eq!(series[0].1.len(), 1);
        assert_eq!(series[0].1[0].1, 0.25);
    }

    #[test]
    fn a_query_error_is_a_query_error_with_its_text_escaped() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error\nforged line"}"#;
        match parse_matrix(400, body) {
            Err(MetricsError::Query(text)) => assert!(text.contains("parse error\\nforged"), "{text}"),
            other => panic!("expected a query error, got {other:?}"),
        }
        match parse_matrix(503, br#"{"status":"error"}"#) {
            Err(MetricsError::Query(text)) => assert_eq!(text, "HTTP 503"),
            other => panic!("expected a query error, got {other:?}"),
        }
    }

    #[test]
    fn another_result_type_is_named_not_misread() {
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}"#;
        match parse_matrix(200, vector) {
            Err(MetricsError::BadResponse(text)) => assert_eq!(text, "expected a matrix, got vector"),
            other => panic!("expected a bad response, got {other:?}"),
        }
        match parse_vector(200, &matrix("[]")) {
            Err(MetricsError::BadResponse(text)) => assert_eq!(text, "expected a vector, got matrix"),
            other => panic!("expected a bad response, got {other:?}"),
        }
    }

    #[test]
    fn broken_answers_are_bad_responses() {
        let cases: [&[u8]; 6] = [
            b"<html>proxy error</html>",
            br#"{"status":"success"}"#,
            &matrix(r#"[{"metric":{},"values":[[1,"many"]]}]"#),
            &matrix(r#"[{"metric":{},"values":[[1e300,"1"]]}]"#),
            &matrix(r#"[{"metric":{},"values":[["soon","1"]]}]"#),
            &matrix(r#"{"not":"a list"}"#),
        ];
        for body in cases {
            match parse_matrix(200, body) {
                Err(MetricsError::BadResponse(text)) => assert!(!text.contains('\n'), "{text}"),
                other => panic!("expected a bad response for {}, got {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }
}
