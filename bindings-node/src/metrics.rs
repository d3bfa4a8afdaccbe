//! `metrics()`, `metricsFamilies()`, `setMetricsEnabled()` and `METRICS_CONTENT_TYPE`: the
//! core's process-wide metrics as OpenMetrics text. Conversion only.

use napi_derive::napi;

/// One metric family.
#[napi(object)]
pub struct MetricFamily {
    /// The family name (without `_total`).
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    #[napi(js_name = "type")]
    pub kind: String,
    /// The `# HELP` text.
    pub help: String,
    /// The label names of its samples.
    pub labels: Vec<String>,
}

/// The exposition of every family now (OpenMetrics text, ending with `# EOF`).
#[napi]
pub fn metrics() -> String {
    inferwarden::metrics::render()
}

/// Every family, in exposition order.
#[napi]
pub fn metrics_families() -> Vec<MetricFamily> {
    inferwarden::metrics::families()
        .into_iter()
        .map(|f| MetricFamily {
            name: f.name.to_owned(),
            kind: f.kind.as_str().to_owned(),
            help: f.help.to_owned(),
            labels: f.labels.iter().map(|l| (*l).to_owned()).collect(),
        })
        .collect()
}

/// Turns recording on or off for the whole process (on by default).
#[napi]
pub fn set_metrics_enabled(on: bool) {
    inferwarden::metrics::set_enabled(on);
}

/// The content type to serve the exposition with.
#[napi]
pub fn metrics_content_type() -> String {
    inferwarden::metrics::CONTENT_TYPE.to_owned()
}
