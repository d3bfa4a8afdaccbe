//! Argument definitions and dispatch to one module per command.

mod audit;
mod config;
mod errors;
mod parity;
mod probe;
mod smoke;
mod sweep;
mod task_ref;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a policy check failed.
pub const EXIT_POLICY: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_USAGE: u8 = 2;

/// inferwarden: policy core for self-hosted image and video inference platforms.
#[derive(Debug, Parser)]
#[command(name = "inferwarden", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate or show the runtime policy configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Parse public task ids (`task_id` or `workspace::task_id`).
    TaskRef {
        /// Print one JSON object per id.
        #[arg(long)]
        json: bool,
        /// The ids to parse.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Fail stale tasks exactly once (safe on several replicas) and print what was failed.
    Sweep {
        /// Task store: sqlite:PATH.
        #[arg(long)]
        db: String,
        /// Policy file (TTLs, batch size); falls back to $INFERWARDEN_CONFIG, then defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Sweep once and exit (the default).
        #[arg(long, conflicts_with = "interval")]
        once: bool,
        /// Keep sweeping every S seconds.
        #[arg(long, value_name = "S")]
        interval: Option<u64>,
        /// Print each report as one JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Adopt an existing platform task table (ISO-8601 text times) into a SQLite task store.
    ImportLegacy {
        /// Target task store file (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// The existing platform database (SQLite).
        #[arg(long)]
        from: PathBuf,
        /// The table to read.
        #[arg(long, default_value = "tasks")]
        table: String,
    },
    /// Probe the GPUs through the driver API (no process spawned); exit 0 also without a GPU.
    Probe {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check that sources restating the model catalogue still agree with it.
    Parity {
        #[command(subcommand)]
        action: ParityAction,
    },
    /// Run the live contract smoke checks against a deployed platform (release gate).
    Smoke {
        /// The platform's base URL (`https://api.example.com`).
        #[arg(long)]
        base_url: String,
        /// Name of the environment variable holding a valid API key (never the key itself).
        #[arg(long, value_name = "NAME")]
        api_key_env: Option<String>,
        /// Name of the environment variable holding the admin key.
        #[arg(long, value_name = "NAME")]
        admin_key_env: Option<String>,
        /// An origin the platform allows.
        #[arg(long)]
        allowed_origin: Option<String>,
        /// An origin the platform must refuse.
        #[arg(long)]
        denied_origin: Option<String>,
        /// Opt in to the throttle check with the limit N of `POST /auth/session` (spends it).
        #[arg(long, value_name = "N")]
        rate_limit: Option<u32>,
        /// Opt in to the generation check with this `POST /generate` body (JSON, or @FILE).
        #[arg(long, value_name = "JSON")]
        generation: Option<String>,
        /// How long the generation check polls, seconds.
        #[arg(long, default_value_t = 120.0)]
        poll_timeout: f64,
        /// Every skipped check fails the run.
        #[arg(long)]
        release: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: SmokeFormat,
    },
    /// The durable audit log: verify, export, checkpoint, prove, keys.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// List every error code with its HTTP status and family.
    Errors {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Output format for `parity check`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ParityFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Github,
}

#[derive(Debug, Subcommand)]
enum ParityAction {
    /// Compare the sources named in ROOT/parity.toml with the catalogue; exit 0 clean,
    /// 1 drift, 2 input error.
    Check {
        /// The platform tree (holds parity.toml and the catalogue).
        #[arg(default_value = ".")]
        root: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ParityFormat,
    },
    /// Write the TypeScript and Python mirrors named in ROOT/parity.toml `[generate]`;
    /// with --check write nothing and exit 1 when one is stale or missing.
    Generate {
        /// The platform tree (holds parity.toml and the catalogue).
        #[arg(default_value = ".")]
        root: PathBuf,
        /// Only check that the committed files are up to date.
        #[arg(long)]
        check: bool,
    },
}

/// Output format for `audit export`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Re-hash every record, check every link and the signed checkpoints; exit 0 intact,
    /// 1 tampered (naming the first bad sequence number and the kind), 2 input error.
    Verify {
        /// The log: sqlite:PATH or postgres://...
        #[arg(long)]
        db: String,
        /// A signed checkpoint kept outside the database (repeatable); needs --public-key.
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
        /// The verifier key file (`name+id+base64`); default: the configured signer's.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Policy file; falls back to $INFERWARDEN_CONFIG, then defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print records, filtered, oldest first.
    Export {
        /// The log: sqlite:PATH or postgres://...
        #[arg(long)]
        db: String,
        /// Only records at or after this time (ms since the epoch or ISO 8601).
        #[arg(long)]
        since: Option<String>,
        /// Only records before this time.
        #[arg(long)]
        until: Option<String>,
        /// Only this actor (a hashed one as its hmac-sha256: value).
        #[arg(long)]
        actor: Option<String>,
        /// Only this action.
        #[arg(long)]
        action: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
    /// Sign and store a checkpoint of the current tree (key from audit.signing_key_env).
    Checkpoint {
        /// The log: sqlite:PATH or postgres://...
        #[arg(long)]
        db: String,
        /// Also write the signed note to this file (keep it outside the database).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Policy file; falls back to $INFERWARDEN_CONFIG, then defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the inclusion proof of record SEQ as JSON.
    Prove {
        /// The record's sequence number.
        seq: u64,
        /// The log: sqlite:PATH or postgres://...
        #[arg(long)]
        db: String,
        /// Prove against the tree of this many records (default: the whole log).
        #[arg(long)]
        size: Option<u64>,
        /// Policy file; falls back to $INFERWARDEN_CONFIG, then defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Make an Ed25519 checkpoint key pair (signer and verifier keys in note format).
    Keygen {
        /// The key name (shown on every signature line).
        #[arg(long)]
        name: String,
    },
    /// Print the verifier key of the signer key in audit.signing_key_env.
    PublicKey {
        /// Policy file; falls back to $INFERWARDEN_CONFIG, then defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Output format for `smoke`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SmokeFormat {
    Text,
    Json,
    Junit,
}

/// Output format for `config show`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ShowFormat {
    Toml,
    Json,
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate a configuration file (plus INFERWARDEN_* overrides); defaults when no file.
    Validate {
        /// TOML or JSON file; falls back to $INFERWARDEN_CONFIG.
        file: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective configuration after environment overrides, secrets redacted.
    Show {
        /// TOML or JSON file; falls back to $INFERWARDEN_CONFIG.
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "toml")]
        format: ShowFormat,
    },
    /// Print per-lane worker settings (timeout, min/max containers, scaledown window) as JSON.
    WorkerSettings {
        /// TOML or JSON file; falls back to $INFERWARDEN_CONFIG.
        file: Option<PathBuf>,
    },
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Config { action } => match action {
            ConfigAction::Validate { file, json } => config::validate(file, json),
            ConfigAction::Show { file, format } => {
                config::show(file, matches!(format, ShowFormat::Json))
            }
            ConfigAction::WorkerSettings { file } => config::worker_settings(file),
        },
        Command::TaskRef { json, ids } => task_ref::run(&ids, json),
        Command::Errors { json } => errors::run(json),
        Command::Audit { action } => run_audit(action),
        Command::Parity {
            action: ParityAction::Check { root, format },
        } => parity::check(&root, format_name(format)),
        Command::Parity {
            action: ParityAction::Generate { root, check },
        } => parity::generate(&root, check),
        Command::Probe { json } => probe::run(json),
        Command::Smoke {
            base_url,
            api_key_env,
            admin_key_env,
            allowed_origin,
            denied_origin,
            rate_limit,
            generation,
            poll_timeout,
            release,
            format,
        } => smoke::run(smoke::SmokeArgs {
            base_url,
            api_key_env,
            admin_key_env,
            allowed_origin,
            denied_origin,
            rate_limit,
            generation,
            poll_timeout_s: poll_timeout,
            release,
            format: match format {
                SmokeFormat::Text => "text",
                SmokeFormat::Json => "json",
                SmokeFormat::Junit => "junit",
            },
        }),
        Command::ImportLegacy { db, from, table } => sweep::import_legacy(&db, &from, &table),
        Command::Sweep {
            db,
            config,
            once: _,
            interval,
            json,
        } => sweep::run(&db, config, interval, json),
    }
}

fn run_audit(action: AuditAction) -> u8 {
    match action {
        AuditAction::Verify {
            db,
            checkpoints,
            public_key,
            config,
            json,
        } => audit::verify(
            &db,
            &checkpoints,
            public_key.as_deref(),
            config.as_deref(),
            json,
        ),
        AuditAction::Export {
            db,
            since,
            until,
            actor,
            action,
            format,
        } => audit::export(
            &db,
            audit::ExportFilter {
                since,
                until,
                actor,
                action,
            },
            match format {
                ExportFormat::Jsonl => audit::ExportFormat::Jsonl,
                ExportFormat::Json => audit::ExportFormat::Json,
                ExportFormat::Csv => audit::ExportFormat::Csv,
            },
        ),
        AuditAction::Checkpoint { db, out, config } => {
            audit::checkpoint(&db, config.as_deref(), out.as_deref())
        }
        AuditAction::Prove {
            seq,
            db,
            size,
            config,
        } => audit::prove(&db, seq, size, config.as_deref()),
        AuditAction::Keygen { name } => audit::keygen(&name),
        AuditAction::PublicKey { config } => audit::public_key(config.as_deref()),
    }
}

fn format_name(format: ParityFormat) -> &'static str {
    match format {
        ParityFormat::Text => "text",
        ParityFormat::Json => "json",
        ParityFormat::Sarif => "sarif",
        ParityFormat::Junit => "junit",
        ParityFormat::Github => "github",
    }
}
