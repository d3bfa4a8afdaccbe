//! Progress of long commands: an `indicatif` bar (or spinner) on a terminal, plain lines on
//! standard error otherwise (CI logs, pipes): at most one per tenth of the work, so a log
//! stays short. Progress goes to standard error; standard output keeps only the result.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A counted task (records verified, source files checked).
pub struct Progress {
    label: &'static str,
    unit: &'static str,
    bar: Option<ProgressBar>,
    /// The last tenth printed as a plain line.
    last_tenth: AtomicU64,
}

impl Progress {
    /// `label` names the work ("verifying", "checking"), `unit` what is counted.
    pub fn new(label: &'static str, unit: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:32}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(label);
            bar.set_message(unit);
            bar
        });
        Progress {
            label,
            unit,
            bar,
            last_tenth: AtomicU64::new(0),
        }
    }

    /// `done` of `total` so far.
    pub fn update(&self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None => {
                let tenth = (done.min(total) * 10).checked_div(total).unwrap_or(10);
                // Stored as tenth + 1, so 0 means "nothing printed yet".
                if self.last_tenth.fetch_max(tenth + 1, Ordering::Relaxed) < tenth + 1 {
                    eprintln!("{}: {done} / {total} {}", self.label, self.unit);
                }
            }
        }
    }

    /// Ends the bar (the final line stays on the terminal).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// A spinner for an open-ended loop (the sweeper): on a terminal, one line that says how
/// many rounds ran and what the last one did; lines printed through it go above it.
pub struct Ticker {
    spinner: Option<ProgressBar>,
}

impl Ticker {
    /// A spinner with `message`, or nothing when standard error is not a terminal.
    pub fn new(message: &str) -> Self {
        let spinner = std::io::stderr().is_terminal().then(|| {
            let s = ProgressBar::new_spinner();
            s.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s.enable_steady_tick(Duration::from_millis(200));
            s.set_message(message.to_owned());
            s
        });
        Ticker { spinner }
    }

    /// Replaces the spinner's message (nothing off a terminal).
    pub fn status(&self, message: String) {
        if let Some(s) = &self.spinner {
            s.set_message(message);
        }
    }

    /// Prints `line` to standard error, above the spinner on a terminal.
    pub fn line(&self, line: &str) {
        match &self.spinner {
            Some(s) => s.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(s) = &self.spinner {
            s.finish_and_clear();
        }
    }
}
