//! The metrics the simulated servers expose, in the formats the real ones use:
//! proxies like Dovecot's stats service (OpenMetrics, see the CE captures), backends like
//! node_exporter (CPU, memory, the metacache filesystem).

use std::{collections::BTreeMap, fmt::Write};

/// The four proxy metrics Palomar requires, in Dovecot's order of definition.
pub const PROXY_METRICS: [&str; 4] =
    ["proxy_session_success", "proxy_session_failure", "lmtp_rcpt_finished_failure", "lmtp_rcpt_finished_success"];

/// One event counter of a Dovecot metric: how many events and their total duration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EventCount {
    pub count: u64,
    pub duration_seconds: f64,
}

/// A proxy's metrics: per metric, per `dest_host`. A label value appears only after its
/// first event, as in Dovecot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyCounters {
    pub metrics: BTreeMap<&'static str, BTreeMap<String, EventCount>>,
}

impl ProxyCounters {
    pub fn record(&mut self, metric: &'static str, dest_host: &str, duration_seconds: f64) {
        let counter = self.metrics.entry(metric).or_default().entry(dest_host.to_string()).or_default();
        counter.count += 1;
        counter.duration_seconds += duration_seconds;
    }

    pub fn count(&self, metric: &str, dest_host: &str) -> u64 {
        self.metrics.get(metric).and_then(|m| m.get(dest_host)).map_or(0, |c| c.count)
    }
}

/// The content type Dovecot's stats HTTP listener answers with (CE 2.3.19 says 0.0.1, not the
/// OpenMetrics 1.0.0 its body follows; Prometheus accepts both).
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=0.0.1; charset=utf-8";
/// The classic Prometheus text format, as node_exporter serves it.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders a proxy's `/metrics` like Dovecot 2.3's stats service.
pub fn render_proxy(counters: &ProxyCounters, process_start_unix: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP process_start_time_seconds Timestamp of service start");
    let _ = writeln!(out, "# TYPE process_start_time_seconds gauge");
    let _ = writeln!(out, "process_start_time_seconds {process_start_unix}");
    let _ = writeln!(out, "# HELP dovecot_build Dovecot build information");
    let _ = writeln!(out, "# TYPE dovecot_build info");
    let _ = writeln!(out, "dovecot_build_info{{version=\"palomar-simulator\",revision=\"0\"}} 1");
    let empty = BTreeMap::new();
    for metric in PROXY_METRICS {
        let series = counters.metrics.get(metric).unwrap_or(&empty);
        let total: u64 = series.values().map(|c| c.count).sum();
        // Not `sum()`: an empty f64 sum is -0.0, which would print as "-0.000000".
        let duration = series.values().fold(0.0, |total, c| total + c.duration_seconds);
        let _ = writeln!(out, "# HELP dovecot_{metric} Total number of all events of this kind");
        let _ = writeln!(out, "# TYPE dovecot_{metric} counter");
        for (host, c) in series {
            let _ = writeln!(out, "dovecot_{metric}_total{{dest_host=\"{}\"}} {}", escape(host), c.count);
        }
        let _ = writeln!(out, "dovecot_{metric}_count {total}");
        let _ = writeln!(out, "# HELP dovecot_{metric}_duration_seconds Total duration of all events of this kind");
        let _ = writeln!(out, "# TYPE dovecot_{metric}_duration_seconds counter");
        for (host, c) in series {
            let _ = writeln!(
                out,
                "dovecot_{metric}_duration_seconds_total{{dest_host=\"{}\"}} {:.6}",
                escape(host),
                c.duration_seconds
            );
        }
        let _ = writeln!(out, "dovecot_{metric}_duration_seconds_sum {duration:.6}");
    }
    out.push_str("# EOF\n");
    out
}

/// A backend's resource state, as node_exporter would report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeStats {
    pub cpu_idle_seconds: f64,
    pub cpu_busy_seconds: f64,
    pub memory_total_bytes: f64,
    pub memory_available_bytes: f64,
    pub metacache_size_bytes: f64,
    pub metacache_avail_bytes: f64,
}

/// The mount point of the metacache filesystem the recording rules read.
pub const METACACHE_MOUNTPOINT: &str = "/var/cache/mails";

/// Renders a backend's `/metrics` with node_exporter's metric names.
pub fn render_backend(stats: &NodeStats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.");
    let _ = writeln!(out, "# TYPE node_cpu_seconds_total counter");
    let _ = writeln!(out, "node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}} {:.3}", stats.cpu_idle_seconds);
    let _ = writeln!(out, "node_cpu_seconds_total{{cpu=\"0\",mode=\"user\"}} {:.3}", stats.cpu_busy_seconds);
    let _ = writeln!(out, "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.");
    let _ = writeln!(out, "# TYPE node_memory_MemTotal_bytes gauge");
    let _ = writeln!(out, "node_memory_MemTotal_bytes {:.0}", stats.memory_total_bytes);
    let _ = writeln!(out, "# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.");
    let _ = writeln!(out, "# TYPE node_memory_MemAvailable_bytes gauge");
    let _ = writeln!(out, "node_memory_MemAvailable_bytes {:.0}", stats.memory_available_bytes);
    let _ = writeln!(out, "# HELP node_filesystem_size_bytes Filesystem size in bytes.");
    let _ = writeln!(out, "# TYPE node_filesystem_size_bytes gauge");
    let _ = writeln!(
        out,
        "node_filesystem_size_bytes{{mountpoint=\"{METACACHE_MOUNTPOINT}\"}} {:.0}",
        stats.metacache_size_bytes
    );
    let _ = writeln!(out, "# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.");
    let _ = writeln!(out, "# TYPE node_filesystem_avail_bytes gauge");
    let _ = writeln!(
        out,
        "node_filesystem_avail_bytes{{mountpoint=\"{METACACHE_MOUNTPOINT}\"}} {:.0}",
        stats.metacache_avail_bytes
    );
    out
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_proxy_looks_like_the_capture() {
        let text = render_proxy(&ProxyCounters::default(), 1795861983);
        assert!(text.starts_with("# HELP process_start_time_seconds Timestamp of service start\n"));
        assert!(text.contains(
            "# HELP dovecot_proxy_session_success Total number of all events of this kind\n\
             # TYPE dovecot_proxy_session_success counter\n\
             dovecot_proxy_session_success_count 0\n\
             # HELP dovecot_proxy_session_success_duration_seconds Total duration of all events of this kind\n\
             # TYPE dovecot_proxy_session_success_duration_seconds counter\n\
             dovecot_proxy_session_success_duration_seconds_sum 0.000000\n"
        ));
        assert!(!text.contains("dest_host"), "no labelled series before the first event");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn labelled_series_and_aggregates() {
        let mut c = ProxyCounters::default();
        c.record("proxy_session_failure", "be1.example.net", 3.003909);
        c.record("proxy_session_failure", "be1.example.net", 1.0);
        c.record("proxy_session_failure", "be2.example.net", 0.5);
        let text = render_proxy(&c, 0);
        assert!(text.contains("dovecot_proxy_session_failure_total{dest_host=\"be1.example.net\"} 2\n"));
        assert!(text.contains("dovecot_proxy_session_failure_total{dest_host=\"be2.example.net\"} 1\n"));
        assert!(text.contains("dovecot_proxy_session_failure_count 3\n"));
        assert!(text.contains(
            "dovecot_proxy_session_failure_duration_seconds_total{dest_host=\"be1.example.net\"} 4.003909\n"
        ));
        assert!(text.contains("dovecot_proxy_session_failure_duration_seconds_sum 4.503909\n"));
        assert_eq!(c.count("proxy_session_failure", "be1.example.net"), 2);
    }

    #[test]
    fn backend_uses_node_exporter_names() {
        let text = render_backend(&NodeStats {
            cpu_idle_seconds: 10.0,
            cpu_busy_seconds: 5.0,
            memory_total_bytes: 100.0,
            memory_available_bytes: 40.0,
            metacache_size_bytes: 1000.0,
            metacache_avail_bytes: 500.0,
        });
        assert!(text.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 10.000\n"));
        assert!(text.contains("node_memory_MemAvailable_bytes 40\n"));
        assert!(text.contains("node_filesystem_avail_bytes{mountpoint=\"/var/cache/mails\"} 500\n"));
    }
}
