//! The OpenMetrics text exposition (the format Prometheus scrapes with
//! `application/openmetrics-text; version=1.0.0`; its plain text parser reads it too): one
//! `# TYPE`/`# HELP` pair per family, counters as `NAME_total`, histograms as cumulative
//! `NAME_bucket{le=...}` plus `NAME_count` and `NAME_sum`, label values escaped, `# EOF` last.

use std::fmt::Write;

use super::primitives::{Counter, Gauge, Histogram};
use super::FamilyInfo;

/// The content type to serve the exposition with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What kind of family it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic; sampled as `NAME_total`.
    Counter,
    /// Up and down.
    Gauge,
    /// Durations in buckets.
    Histogram,
}

impl Kind {
    /// The OpenMetrics type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Builds one exposition.
#[derive(Debug, Default)]
pub struct Encoder {
    out: String,
}

fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

impl Encoder {
    /// Starts a family: its metadata lines.
    pub fn family(&mut self, info: &FamilyInfo) {
        let _ = writeln!(self.out, "# TYPE {} {}", info.name, info.kind.as_str());
        let _ = writeln!(self.out, "# HELP {} {}", info.name, info.help);
    }

    fn sample_name(&mut self, name: &str, suffix: &str, labels: &[(&str, &str)]) {
        self.out.push_str(name);
        self.out.push_str(suffix);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape(v, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
    }

    /// One counter sample (`NAME_total`).
    pub fn counter(&mut self, info: &FamilyInfo, labels: &[(&str, &str)], value: u64) {
        self.sample_name(info.name, "_total", labels);
        let _ = writeln!(self.out, "{value}");
    }

    /// A whole counter family with one label (`info.labels[0]`): its metadata and one
    /// sample per value, `values[i]` counted in `counts[i]`.
    pub fn counter_family(&mut self, info: &FamilyInfo, values: &[&str], counts: &[Counter]) {
        self.family(info);
        for (value, counter) in values.iter().zip(counts) {
            self.counter(info, &[(info.labels[0], value)], counter.get());
        }
    }

    /// A whole counter family with two labels: every combination of `rows` (the first label)
    /// and `cols` (the second), counted in `counts[row][col]`.
    pub fn counter_grid<const C: usize>(
        &mut self,
        info: &FamilyInfo,
        rows: &[&str],
        cols: &[&str],
        counts: &[[Counter; C]],
    ) {
        self.family(info);
        for (row, row_counts) in rows.iter().zip(counts) {
            for (col, counter) in cols.iter().zip(row_counts) {
                self.counter(
                    info,
                    &[(info.labels[0], row), (info.labels[1], col)],
                    counter.get(),
                );
            }
        }
    }

    /// One gauge sample.
    pub fn gauge(&mut self, info: &FamilyInfo, labels: &[(&str, &str)], gauge: &Gauge) {
        self.gauge_value(info, labels, gauge.get());
    }

    /// One gauge sample from a value read elsewhere.
    pub fn gauge_value(&mut self, info: &FamilyInfo, labels: &[(&str, &str)], value: i64) {
        self.sample_name(info.name, "", labels);
        let _ = writeln!(self.out, "{value}");
    }

    /// One histogram's samples.
    pub fn histogram(&mut self, info: &FamilyInfo, labels: &[(&str, &str)], h: &Histogram) {
        let snap = h.snapshot();
        for (bound, n) in &snap.cumulative {
            let le = if bound.is_infinite() {
                "+Inf".to_owned()
            } else {
                format!("{bound:?}")
            };
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le));
            self.sample_name(info.name, "_bucket", &with_le);
            let _ = writeln!(self.out, "{n}");
        }
        self.sample_name(info.name, "_count", labels);
        let _ = writeln!(self.out, "{}", snap.count);
        self.sample_name(info.name, "_sum", labels);
        let _ = writeln!(self.out, "{}", snap.sum_s);
    }

    /// The exposition, terminated by `# EOF`.
    pub fn finish(mut self) -> String {
        self.out.push_str("# EOF\n");
        self.out
    }
}
