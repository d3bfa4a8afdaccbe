//! `inferwarden audit ...`: verify a durable audit log (exit 0 intact, 1 tampered, 2 input
//! error), export it, write a signed checkpoint, prove a record's inclusion, and make or
//! show checkpoint keys. The signing key is read from the environment variable the
//! configuration names (`audit.signing_key_env`), never from an argument.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inferwarden::audit::{
    open_audit_store, open_audit_store_read_only, settings_from_config, AuditLog, AuditQuery,
    AuditRecord, NoteSigner, NoteVerifier, VerifyOptions,
};
use inferwarden::clock::SystemClock;
use inferwarden::config::PolicyConfig;
use inferwarden::lifecycle::parse_iso8601_ms;
use inferwarden::Error;

use super::{EXIT_OK, EXIT_POLICY, EXIT_USAGE};

fn fail(e: &Error) -> u8 {
    eprintln!("error[{}]: {}", e.code_str(), e.detail());
    EXIT_USAGE
}

fn load_config(config: Option<&Path>) -> Result<PolicyConfig, Error> {
    let file = config
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("INFERWARDEN_CONFIG").map(PathBuf::from));
    PolicyConfig::load(file.as_deref())
}

fn open_log(db: &str, config: Option<&Path>, write: bool) -> Result<AuditLog, Error> {
    let policy = load_config(config)?;
    let store = if write {
        open_audit_store(db)?
    } else {
        open_audit_store_read_only(db)?
    };
    AuditLog::new(
        store,
        settings_from_config(&policy.audit)?,
        Arc::new(SystemClock),
    )
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::with_detail(
            inferwarden::ErrorCode::ConfigInvalid,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

/// `audit verify`.
pub fn verify(
    db: &str,
    checkpoints: &[PathBuf],
    public_key: Option<&Path>,
    config: Option<&Path>,
    json: bool,
) -> u8 {
    let run = || -> Result<inferwarden::audit::VerifyReport, Error> {
        let log = open_log(db, config, false)?;
        let verifier = match public_key {
            Some(p) => Some(NoteVerifier::parse(&read_text(p)?)?),
            None => None,
        };
        let trusted = checkpoints
            .iter()
            .map(|p| read_text(p))
            .collect::<Result<Vec<_>, _>>()?;
        let bar = crate::progress::Progress::new("verifying", "records");
        let progress = |done: u64, total: u64| bar.update(done, total);
        let report = log.verify(&VerifyOptions {
            verifier,
            trusted,
            progress: Some(&progress),
        });
        bar.finish();
        report
    };
    let report = match run() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else if let Some(t) = &report.tamper {
        println!(
            "TAMPERED: {} at sequence number {}: {}",
            t.kind.as_str(),
            t.seq,
            t.detail
        );
    } else {
        println!(
            "intact: records {}..{} verified, {} checkpoint(s) matched, root {}",
            report.first_seq, report.size, report.checkpoints_checked, report.root
        );
    }
    if report.intact {
        EXIT_OK
    } else {
        EXIT_POLICY
    }
}

/// The `--since` / `--until` forms: milliseconds since the epoch or ISO 8601.
fn parse_time(text: &str) -> Result<i64, Error> {
    match text.parse::<i64>() {
        Ok(ms) => Ok(ms),
        Err(_) => parse_iso8601_ms(text),
    }
}

/// Output format of `audit export`.
#[derive(Debug, Clone, Copy)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv_row(r: &AuditRecord) -> String {
    let hex = inferwarden::audit::record::hex;
    [
        r.seq.to_string(),
        r.timestamp_ms.to_string(),
        csv_field(&r.actor),
        csv_field(&r.source),
        csv_field(&r.action),
        csv_field(&r.target),
        csv_field(&r.outcome),
        csv_field(&r.correlation_id),
        csv_field(&r.details),
        hex(&r.prev_hash),
        hex(&r.hash),
    ]
    .join(",")
}

/// The filter of `audit export`.
#[derive(Debug, Default)]
pub struct ExportFilter {
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// `audit export`: every matching record, page by page.
pub fn export(db: &str, filter: ExportFilter, format: ExportFormat) -> u8 {
    let run = || -> Result<(), Error> {
        let store = open_audit_store_read_only(db)?;
        let mut query = AuditQuery {
            since_ms: filter.since.as_deref().map(parse_time).transpose()?,
            until_ms: filter.until.as_deref().map(parse_time).transpose()?,
            actor: filter.actor.clone(),
            action: filter.action.clone(),
            limit: AuditQuery::MAX_LIMIT,
            ..AuditQuery::default()
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let io = |e: std::io::Error| {
            Error::with_detail(inferwarden::ErrorCode::InternalError, format!("write: {e}"))
        };
        match format {
            ExportFormat::Csv => writeln!(
                out,
                "seq,timestamp_ms,actor,source,action,target,outcome,correlation_id,details,prev_hash,hash"
            )
            .map_err(io)?,
            ExportFormat::Json => write!(out, "[").map_err(io)?,
            ExportFormat::Jsonl => {}
        }
        let mut first = true;
        loop {
            let page = store.query(&query)?;
            for r in &page {
                match format {
                    ExportFormat::Jsonl => writeln!(out, "{}", r.to_json()).map_err(io)?,
                    ExportFormat::Json => {
                        write!(out, "{}{}", if first { "" } else { "," }, r.to_json())
                            .map_err(io)?
                    }
                    ExportFormat::Csv => writeln!(out, "{}", csv_row(r)).map_err(io)?,
                }
                first = false;
            }
            match page.last() {
                Some(last) if page.len() == query.page_size() => query.after_seq = Some(last.seq),
                _ => break,
            }
        }
        if matches!(format, ExportFormat::Json) {
            writeln!(out, "]").map_err(io)?;
        }
        out.flush().map_err(io)
    };
    match run() {
        Ok(()) => EXIT_OK,
        Err(e) => fail(&e),
    }
}

/// `audit checkpoint`: signs and stores a checkpoint of the current tree; prints the note.
pub fn checkpoint(db: &str, config: Option<&Path>, out: Option<&Path>) -> u8 {
    let run = || -> Result<String, Error> {
        let note = open_log(db, config, true)?.checkpoint()?;
        if let Some(path) = out {
            std::fs::write(path, &note).map_err(|e| {
                Error::with_detail(
                    inferwarden::ErrorCode::ConfigInvalid,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
        }
        Ok(note)
    };
    match run() {
        Ok(note) => {
            print!("{note}");
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}

/// `audit prove SEQ`: the inclusion proof as JSON.
pub fn prove(db: &str, seq: u64, size: Option<u64>, config: Option<&Path>) -> u8 {
    match open_log(db, config, false).and_then(|log| log.prove(seq, size)) {
        Ok(p) => {
            println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}

/// `audit keygen --name NAME`: a new Ed25519 checkpoint key pair in note format.
pub fn keygen(name: &str) -> u8 {
    match NoteSigner::generate(name) {
        Ok((signer, verifier)) => {
            println!(
                "# signer key: put it in the variable audit.signing_key_env names; never commit it"
            );
            println!("{}", signer.as_str());
            println!("# verifier key: publish it; `audit verify --public-key FILE` reads it");
            println!("{verifier}");
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}

/// `audit public-key`: the verifier key of the configured signer.
pub fn public_key(config: Option<&Path>) -> u8 {
    let run = || -> Result<String, Error> {
        let policy = load_config(config)?;
        Ok(NoteSigner::from_env(&policy.audit.signing_key_env)?
            .verifier()
            .to_note_key())
    };
    match run() {
        Ok(key) => {
            println!("{key}");
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}
