//! Output formats: human text (rustc-style snippets), JSON (versioned), SARIF 2.1.0, JUnit
//! XML and GitHub Actions annotations.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::findings::{Finding, ParityReport, Severity, RULES};
use super::location::LineIndex;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human text.
    Text,
    /// JSON (`schema_version` 1).
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// GitHub Actions workflow commands.
    Github,
}

impl Format {
    /// Parses `text|json|sarif|junit|github`.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "text" => Format::Text,
            "json" => Format::Json,
            "sarif" => Format::Sarif,
            "junit" => Format::Junit,
            "github" => Format::Github,
            _ => return None,
        })
    }
}

/// Renders `report`; `sources` maps file -> content for the text snippets. Never coloured.
pub fn render(report: &ParityReport, format: Format, sources: &BTreeMap<String, String>) -> String {
    render_with(report, format, sources, false)
}

/// [`render`], with ANSI colour in the text format when `colour` (callers pass true only
/// for a terminal without `NO_COLOR`); other formats are never coloured.
pub fn render_with(
    report: &ParityReport,
    format: Format,
    sources: &BTreeMap<String, String>,
    colour: bool,
) -> String {
    match format {
        Format::Text => text(report, sources, colour),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
        Format::Sarif => serde_json::to_string_pretty(&sarif(report)).unwrap_or_default(),
        Format::Junit => junit(report),
        Format::Github => github(report),
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// ANSI styles for the text format (empty strings when colour is off).
struct Style {
    error: &'static str,
    warning: &'static str,
    accent: &'static str,
    reset: &'static str,
}

const COLOUR: Style = Style {
    error: "\x1b[1;31m",
    warning: "\x1b[1;33m",
    accent: "\x1b[1;34m",
    reset: "\x1b[0m",
};
const PLAIN: Style = Style {
    error: "",
    warning: "",
    accent: "",
    reset: "",
};

fn text(report: &ParityReport, sources: &BTreeMap<String, String>, colour: bool) -> String {
    let st = if colour { &COLOUR } else { &PLAIN };
    let mut out = String::new();
    for f in &report.findings {
        let tone = if f.severity == Severity::Error {
            st.error
        } else {
            st.warning
        };
        out.push_str(&format!(
            "{tone}{}[{}]{}: {}\n",
            severity_word(f.severity),
            f.rule,
            st.reset,
            f.message
        ));
        out.push_str(&format!("  {}-->{} {}\n", st.accent, st.reset, f.source));
        if let Some(content) = sources.get(&f.source.file) {
            let line = LineIndex::new(&f.source.file, content)
                .line_text(f.source.line)
                .to_owned();
            let n = f.source.line.to_string();
            let pad = " ".repeat(n.len());
            let caret = " ".repeat(f.source.column.saturating_sub(1) as usize);
            out.push_str(&format!("{pad} |\n{n} | {line}\n{pad} | {caret}^\n"));
        }
        if let Some(path) = &f.catalogue_path {
            match &f.catalogue_at {
                Some(at) => out.push_str(&format!("  = catalogue: {path} ({at})\n")),
                None => out.push_str(&format!("  = catalogue: {path}\n")),
            }
        }
        out.push_str(&format!(
            "  = expected: {}, found: {}\n\n",
            f.expected, f.found
        ));
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    out.push_str(&format!(
        "parity: {} source(s), {} fact(s) checked against {}: {} error(s), {} warning(s)\n",
        report.sources.len(),
        report.facts_checked,
        report.catalogue,
        errors,
        report.findings.len() - errors
    ));
    out
}

fn sarif(report: &ParityReport) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, text)| json!({"id": id, "shortDescription": {"text": text}}))
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut related = Vec::new();
            if let Some(at) = &f.catalogue_at {
                related.push(json!({
                    "id": 1,
                    "message": {"text": f.catalogue_path.clone().unwrap_or_default()},
                    "physicalLocation": {
                        "artifactLocation": {"uri": at.file},
                        "region": {"startLine": at.line, "startColumn": at.column}
                    }
                }));
            }
            let mut result = json!({
                "ruleId": f.rule,
                "level": severity_word(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.source.file},
                        "region": {"startLine": f.source.line, "startColumn": f.source.column}
                    }
                }],
                "properties": {"expected": f.expected, "found": f.found, "cataloguePath": f.catalogue_path}
            });
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "inferwarden-parity",
                "informationUri": "https://github.com/inferwarden/inferwarden",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "results": results
        }]
    })
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn junit(report: &ParityReport) -> String {
    let failures = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let mut cases = String::new();
    // classname + name is unique per testcase (CI tools merge duplicates): the rule, the
    // catalogue path and the source location, and a counter should two still coincide.
    let mut seen: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    for f in &report.findings {
        let mut name = match f.catalogue_path.as_deref() {
            Some(path) => format!("{} {path} at {}", f.rule, f.source),
            None => format!("{} at {}", f.rule, f.source),
        };
        let n = seen
            .entry((f.source.file.clone(), name.clone()))
            .and_modify(|n| *n += 1)
            .or_insert(1);
        if *n > 1 {
            name = format!("{name} #{n}");
        }
        cases.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            xml(&f.source.file),
            xml(&name)
        ));
        let tag = if f.severity == Severity::Error {
            "failure"
        } else {
            "skipped"
        };
        cases.push_str(&format!(
            "      <{tag} message=\"{}\" type=\"{}\">{}: expected {}, found {}</{tag}>\n",
            xml(&f.message),
            f.rule,
            xml(&f.source.to_string()),
            xml(&f.expected.to_string()),
            xml(&f.found.to_string())
        ));
        cases.push_str("    </testcase>\n");
    }
    if report.findings.is_empty() {
        cases.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"parity\"/>\n",
            xml(&report.catalogue)
        ));
    }
    let tests = report.findings.len().max(1);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"inferwarden parity\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n"
    )
}

fn github_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn github(report: &ParityReport) -> String {
    report
        .findings
        .iter()
        .map(|f: &Finding| {
            format!(
                "::{} file={},line={},col={},title={}::{}\n",
                severity_word(f.severity),
                github_escape(&f.source.file)
                    .replace(',', "%2C")
                    .replace(':', "%3A"),
                f.source.line,
                f.source.column,
                f.rule,
                github_escape(&format!(
                    "{} (expected {}, found {})",
                    f.message, f.expected, f.found
                ))
            )
        })
        .collect()
}
