//! The outcome of a smoke run: one result per check (pass, fail, or skipped with a reason;
//! under `--release` a skip counts as a failure), rendered as text, JSON or JUnit XML.

use serde::Serialize;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It held.
    Pass,
    /// It was violated (or, in a release run, skipped).
    Fail,
    /// It could not run (missing credential, opt-in not given, prerequisite failed).
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Stable check id (`credential_no_credential`, `cors_denied_origin`, ...).
    pub id: String,
    /// What it checks, in words.
    pub title: String,
    /// Outcome.
    pub status: CheckStatus,
    /// Why it failed or was skipped; what it saw when it passed.
    pub detail: String,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmokeReport {
    /// The target.
    pub base_url: String,
    /// The run's request id.
    pub run_id: String,
    /// Whether skips were failures.
    pub release: bool,
    /// Every check, in run order.
    pub checks: Vec<CheckResult>,
    /// Counts.
    pub passed: usize,
    /// Counts (release skips included).
    pub failed: usize,
    /// Counts (not counting release skips, which are failures).
    pub skipped: usize,
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

impl SmokeReport {
    /// Builds the counts; in a release run every skip becomes a failure (its detail says so).
    pub fn new(base_url: &str, run_id: &str, release: bool, mut checks: Vec<CheckResult>) -> Self {
        if release {
            for c in &mut checks {
                if c.status == CheckStatus::Skipped {
                    c.status = CheckStatus::Fail;
                    c.detail = format!("skipped in a release run: {}", c.detail);
                }
            }
        }
        let count = |s| checks.iter().filter(|c| c.status == s).count();
        SmokeReport {
            base_url: base_url.to_owned(),
            run_id: run_id.to_owned(),
            release,
            passed: count(CheckStatus::Pass),
            failed: count(CheckStatus::Fail),
            skipped: count(CheckStatus::Skipped),
            checks,
        }
    }

    /// 0 when nothing failed, else 1.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failed > 0)
    }

    /// The checks that failed, by id.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| c.id.as_str())
            .collect()
    }

    /// Human text: one line per check, then a summary.
    pub fn to_text(&self) -> String {
        let mut out = format!("smoke run {} against {}\n", self.run_id, self.base_url);
        for c in &self.checks {
            let tag = match c.status {
                CheckStatus::Pass => "PASS",
                CheckStatus::Fail => "FAIL",
                CheckStatus::Skipped => "SKIP",
            };
            out.push_str(&format!("{tag} {:<36} {}\n", c.id, c.detail));
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} skipped{}\n",
            self.passed,
            self.failed,
            self.skipped,
            if self.release {
                " (release: skips fail)"
            } else {
                ""
            }
        ));
        out
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// JUnit XML: one test case per check; failures carry the detail, skips a `<skipped>`.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let seconds: f64 = self
            .checks
            .iter()
            .map(|c| c.duration_ms as f64)
            .sum::<f64>()
            / 1000.0;
        out.push_str(&format!(
            "<testsuite name=\"inferwarden-smoke\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">\n",
            self.checks.len(),
            self.failed,
            self.skipped
        ));
        for c in &self.checks {
            out.push_str(&format!(
                "  <testcase classname=\"smoke\" name=\"{}\" time=\"{:.3}\">",
                xml_escape(&c.id),
                c.duration_ms as f64 / 1000.0
            ));
            match c.status {
                CheckStatus::Pass => {}
                CheckStatus::Fail => out.push_str(&format!(
                    "<failure message=\"{}\">{}</failure>",
                    xml_escape(&c.detail),
                    xml_escape(&c.title)
                )),
                CheckStatus::Skipped => {
                    out.push_str(&format!("<skipped message=\"{}\"/>", xml_escape(&c.detail)))
                }
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("</testsuite>\n");
        out
    }
}
