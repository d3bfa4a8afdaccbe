//! Catalogue parity: sources that restate `inference_settings.json` by hand (Python module
//! constants and Pydantic models, TypeScript unions, fallbacks and form props) are read with
//! real parsers (ruff's for Python, oxc for TypeScript/TSX) behind one "extract facts"
//! interface, compared with the catalogue, and every disagreement is reported with the
//! source's `file:line:col` and the catalogue path with its own `file:line:col`. A source
//! that does not parse is a finding with its location, never a crash or a silent skip.
//! Feature `parity`.

mod compare;
mod config;
mod config_check;
mod deadline;
mod facts;
mod findings;
mod generate;
mod location;
mod memory_guard;
mod nesting;
mod python_source;
mod reader_thread;
mod report;
mod typescript_source;

use std::collections::BTreeMap;
use std::path::Path;

pub use config::{
    Binding, ClassModels, GenerateTargets, ParityConfig, PythonSource, TableKind, TypeScriptSource,
    CONFIG_FILE,
};
pub use deadline::{MAX_ABANDONED, MAX_STOPPED, PARSE_BUDGET};
pub use facts::{Fact, FactKind, SourceError, SourceFacts};
pub use findings::{Finding, ParityReport, Severity, RULES};
pub use generate::{python_module, typescript_module};
pub use location::Location;
#[cfg(feature = "test-hooks")]
pub use memory_guard::stopped_under_watch;
pub use memory_guard::{
    memory_budget, parse_limits, set_parse_limits, GuardedAllocator, ParseLimits, BASE_BUDGET,
    BUDGET_PER_BYTE,
};
#[cfg(feature = "test-hooks")]
pub use reader_thread::reader_thread_id;
pub use report::{render, render_with, Format};

/// The facts one Python source states (request classes, constants, tables), as `check`
/// reads each configured file: for embedding the extractor, and for fuzzing it.
pub fn extract_python(source: &PythonSource, text: &str) -> SourceFacts {
    python_source::extract(source, text)
}

/// The facts one TypeScript/TSX source states. `model_ids` are the catalogue's ids and
/// aliases, `parameters` every parameter name (form controls bound without configuration).
pub fn extract_typescript(
    source: &TypeScriptSource,
    text: &str,
    model_ids: &std::collections::BTreeSet<String>,
    parameters: &std::collections::BTreeSet<String>,
) -> SourceFacts {
    extract_typescript_within(source, text, model_ids, parameters, deadline::PARSE_BUDGET)
}

/// [`extract_typescript`] with its own time budget: a file the parser has not read within
/// `budget`, or that holds more than [`memory_budget`] while it is read, is that file's error.
/// With [`GuardedAllocator`] installed the parser's thread is then stopped; without it, a
/// parse past its time budget runs on until it finishes, one at a time, and while it runs
/// further files are refused.
pub fn extract_typescript_within(
    source: &TypeScriptSource,
    text: &str,
    model_ids: &std::collections::BTreeSet<String>,
    parameters: &std::collections::BTreeSet<String>,
    budget: std::time::Duration,
) -> SourceFacts {
    let (source, text) = (source.clone(), text.to_owned());
    let (ids, params) = (model_ids.clone(), parameters.clone());
    let (file, len) = (source.path.clone(), text.len());
    deadline::within(&file, len, budget, move || {
        typescript_source::extract(&source, &text, &ids, &params)
    })
}

use crate::catalogue::Catalogue;
use crate::error::{Error, ErrorCode};

/// A checked tree: the report and the text of every file read (for snippets).
#[derive(Debug, Clone)]
pub struct ParityRun {
    /// The findings.
    pub report: ParityReport,
    /// File (relative to the root) -> content.
    pub sources: BTreeMap<String, String>,
}

impl ParityRun {
    /// Renders the report in `format`.
    pub fn render(&self, format: Format) -> String {
        render(&self.report, format, &self.sources)
    }

    /// Renders the report in `format`, with colour in the text format when `colour`.
    pub fn render_coloured(&self, format: Format, colour: bool) -> String {
        render_with(&self.report, format, &self.sources, colour)
    }
}

/// Reads `root/parity.toml`. A missing file is `config_invalid` (a check of nothing would
/// pass silently), as is a syntax error or an unknown key (with its line).
pub fn load_config(root: &Path) -> Result<ParityConfig, Error> {
    match std::fs::read_to_string(root.join(CONFIG_FILE)) {
        Ok(text) => ParityConfig::from_toml(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::with_detail(
            ErrorCode::ConfigInvalid,
            format!(
                "no {CONFIG_FILE} in {}: it names the catalogue and the sources to check (see docs/parity.md)",
                root.display()
            ),
        )),
        Err(e) => Err(Error::with_detail(
            ErrorCode::ConfigInvalid,
            format!("cannot read {CONFIG_FILE}: {e}"),
        )),
    }
}

/// One generated mirror and how the file on disk compares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GeneratedFile {
    /// Path relative to the root.
    pub path: String,
    /// `up_to_date`, `stale`, `missing` (before writing), or `written`.
    pub status: &'static str,
    /// The generated content.
    #[serde(skip)]
    pub content: String,
}

/// Generates the mirrors named in `parity.toml`'s `[generate]` table. With `write` the
/// stale or missing ones are written; without, nothing is touched (`--check`).
/// `config_invalid` when no target is configured or the catalogue is invalid.
pub fn generate_tree(root: &Path, write: bool) -> Result<Vec<GeneratedFile>, Error> {
    let config = load_config(root)?;
    let text = std::fs::read_to_string(root.join(&config.catalogue)).map_err(|e| {
        Error::with_detail(
            ErrorCode::ConfigInvalid,
            format!("cannot read the catalogue {}: {e}", config.catalogue),
        )
    })?;
    // Loaded leniently: a default or fixed value validation would refuse is a finding of
    // the catalogue self-check here, not a load failure.
    let catalogue = Catalogue::from_json_with(
        &text,
        crate::catalogue::CatalogueOptions {
            invalid_values: crate::catalogue::InvalidValues::Warn,
            ..Default::default()
        },
    )?;
    let raw: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::with_detail(ErrorCode::ConfigInvalid, format!("catalogue: {e}")))?;
    let mut files = Vec::new();
    if let Some(path) = &config.generate.typescript {
        files.push((
            path.clone(),
            typescript_module(
                &catalogue,
                &raw,
                &config.catalogue,
                config.generate.request_shape,
            ),
        ));
    }
    if let Some(path) = &config.generate.python {
        files.push((
            path.clone(),
            python_module(&catalogue, &config.catalogue, config.generate.request_shape),
        ));
    }
    if files.is_empty() {
        return Err(Error::with_detail(
            ErrorCode::ConfigInvalid,
            "parity.toml names no [generate] typescript or python target",
        ));
    }
    files
        .into_iter()
        .map(|(path, content)| {
            let target = root.join(&path);
            let status = match std::fs::read_to_string(&target) {
                Ok(current) if current == content => "up_to_date",
                Ok(_) => "stale",
                Err(_) => "missing",
            };
            let status = if write && status != "up_to_date" {
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| write_error(&path, &e))?;
                }
                std::fs::write(&target, &content).map_err(|e| write_error(&path, &e))?;
                "written"
            } else {
                status
            };
            Ok(GeneratedFile {
                path,
                status,
                content,
            })
        })
        .collect()
}

fn write_error(path: &str, e: &std::io::Error) -> Error {
    Error::with_detail(
        ErrorCode::ConfigInvalid,
        format!("cannot write {path}: {e}"),
    )
}

/// Checks the tree at `root` with `root/parity.toml` (or the defaults when it is absent).
/// Errors (`config_invalid`) only for a bad `parity.toml` or an unreadable / invalid
/// catalogue; problems in sources are findings.
pub fn check_tree(root: &Path) -> Result<ParityRun, Error> {
    check_with(root, &load_config(root)?)
}

/// [`check_tree`], calling `progress(done, total, path)` after each source file is read
/// and checked (a progress bar over a large tree).
pub fn check_tree_with_progress(
    root: &Path,
    progress: &dyn Fn(usize, usize, &str),
) -> Result<ParityRun, Error> {
    check_with_progress(root, &load_config(root)?, progress)
}

/// Checks the tree at `root` with an explicit configuration.
pub fn check_with(root: &Path, config: &ParityConfig) -> Result<ParityRun, Error> {
    check_with_progress(root, config, &|_, _, _| {})
}

/// [`check_with`], calling `progress(done, total, path)` after each source file.
pub fn check_with_progress(
    root: &Path,
    config: &ParityConfig,
    progress: &dyn Fn(usize, usize, &str),
) -> Result<ParityRun, Error> {
    let total = config.python.len() + config.typescript.len();
    let catalogue_text = std::fs::read_to_string(root.join(&config.catalogue)).map_err(|e| {
        Error::with_detail(
            ErrorCode::ConfigInvalid,
            format!("cannot read the catalogue {}: {e}", config.catalogue),
        )
    })?;
    // The typed load validates the shape; the raw JSON is what paths are looked up in.
    Catalogue::from_json_with(
        &catalogue_text,
        crate::catalogue::CatalogueOptions {
            invalid_values: crate::catalogue::InvalidValues::Warn,
            ..Default::default()
        },
    )?;
    let json: serde_json::Value = serde_json::from_str(&catalogue_text)
        .map_err(|e| Error::with_detail(ErrorCode::ConfigInvalid, format!("catalogue: {e}")))?;
    let view = compare::CatalogueView::new(&config.catalogue, &catalogue_text, &json);
    let names = view.names();
    let mut sources = BTreeMap::new();
    let mut facts = Vec::new();
    let mut findings = Vec::new();
    let parameters = view.parameter_names();
    let mut checks = config_check::ConfigCheck::new(config, &view, &parameters);
    let read = |section: &str, i: usize, path: &str, checks: &mut config_check::ConfigCheck| {
        std::fs::read_to_string(root.join(path))
            .map_err(|e| checks.unreadable(section, i, path, &e))
            .ok()
    };
    for (i, src) in config.python.iter().enumerate() {
        if let Some(text) = read("python", i, &src.path, &mut checks) {
            let (source, copy) = (src.clone(), text.clone());
            let got = on_big_stack(&src.path, move || python_source::extract(&source, &copy));
            checks.python(i, src, &got);
            absorb(got, &mut facts, &mut findings);
            sources.insert(src.path.clone(), text);
        }
        progress(i + 1, total, &src.path);
    }
    for (i, src) in config.typescript.iter().enumerate() {
        if let Some(text) = read("typescript", i, &src.path, &mut checks) {
            let got = extract_typescript(src, &text, &names, &parameters);
            checks.typescript(i, src, &got);
            absorb(got, &mut facts, &mut findings);
            sources.insert(src.path.clone(), text);
        }
        progress(config.python.len() + i + 1, total, &src.path);
    }
    // A fact about a model the configuration misnamed is reported once, as a config error.
    let misnamed = checks.misnamed_models();
    facts.retain(|f| f.model.as_ref().is_none_or(|m| !misnamed.contains(m)));
    findings.extend(checks.findings);
    findings.extend(compare::compare(&view, &facts));
    findings.sort_by(|a, b| (&a.source, a.rule).cmp(&(&b.source, b.rule)));
    sources.insert(config.catalogue.clone(), catalogue_text.clone());
    Ok(ParityRun {
        report: ParityReport {
            schema_version: 1,
            catalogue: config.catalogue.clone(),
            sources: config
                .python
                .iter()
                .map(|s| s.path.clone())
                .chain(config.typescript.iter().map(|s| s.path.clone()))
                .collect(),
            facts_checked: facts.len(),
            findings,
        },
        sources,
    })
}

/// Parsers and tree walks recurse; a hostile, deeply nested source must not overflow the
/// caller's stack, so each file is read on the reader thread (256 MiB stack, kept between
/// files: [`reader_thread`]). A reader that fails anyway becomes a `source_parse_error`
/// finding.
fn on_big_stack(file: &str, read: impl FnOnce() -> SourceFacts + Send + 'static) -> SourceFacts {
    match reader_thread::start(read).and_then(reader_thread::Running::wait) {
        Some(facts) => facts,
        None => deadline::file_error(file, "the source could not be read (reader failed)".into()),
    }
}

use config_check::input_finding;

fn absorb(got: SourceFacts, facts: &mut Vec<Fact>, findings: &mut Vec<Finding>) {
    for e in got.errors {
        findings.push(input_finding("source_parse_error", e.at, e.message));
    }
    facts.extend(got.facts);
}
