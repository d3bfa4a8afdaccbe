//! `inferwarden sweep --db URL [--once | --interval S] [--json]`: fail stale tasks exactly
//! once (safe to run on several replicas at once) and print what was failed. With a
//! durable `audit.store` configured, each pass also prunes the audit log past
//! `audit.retention_days` and writes the scheduled signed checkpoint.

use std::path::PathBuf;
use std::sync::Arc;

use inferwarden::audit::open_audit_sink;
use inferwarden::clock::SystemClock;
use inferwarden::config::PolicyConfig;
use inferwarden::lifecycle::{
    open_task_store, Lifecycle, SqliteTaskStore, SweepReport, TimeSource,
};

use super::{EXIT_OK, EXIT_USAGE};

fn print_report(report: &SweepReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(report).unwrap_or_default());
        return;
    }
    println!(
        "sweep {} at {} ms: {} task(s) failed in {} batch(es)",
        report.sweep_id,
        report.swept_at,
        report.failed.len(),
        report.batches
    );
    for t in &report.failed {
        println!(
            "  {} type={} reason={} runtime_ms={} ttl_ms={} sweep={}",
            t.task_id, t.task_type, t.reason, t.runtime_ms, t.ttl_ms, report.sweep_id
        );
    }
}

pub fn run(db: &str, config: Option<PathBuf>, interval: Option<u64>, json: bool) -> u8 {
    let file = config.or_else(|| std::env::var_os("INFERWARDEN_CONFIG").map(PathBuf::from));
    let mut policy = match PolicyConfig::load(file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            return EXIT_USAGE;
        }
    };
    if let Some(s) = interval {
        policy.stale.sweep_interval_s = s.max(1);
    }
    let store = match open_task_store(db, TimeSource::Database) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            return EXIT_USAGE;
        }
    };
    // The configured audit log (audit.store): a durable one is also maintained here
    // (retention and scheduled checkpoints after every sweep).
    let audit = match open_audit_sink(&policy.audit.store, &policy.audit, Arc::new(SystemClock)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            return EXIT_USAGE;
        }
    };
    let life =
        Lifecycle::new(store, &policy, audit.sink(), Arc::new(SystemClock)).with_audit(&audit);
    if interval.is_none() {
        if let Err(e) = life.maintain_audit() {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            return EXIT_USAGE;
        }
    }
    if interval.is_none() {
        return match life.sweep() {
            Ok(report) => {
                print_report(&report, json);
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error[{}]: {}", e.code_str(), e.detail());
                EXIT_USAGE
            }
        };
    }
    // The tokio sweeper service until Ctrl-C; several replicas may run it at once.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[internal_error]: cannot start the runtime: {e}");
            return EXIT_USAGE;
        }
    };
    // On a terminal a spinner says how many sweeps ran and what the last one did; the
    // reports still go to standard output, one per sweep.
    let ticker = crate::progress::Ticker::new("sweeping: waiting for the first sweep");
    let (mut sweeps, mut failed_total, mut errors) = (0u64, 0u64, 0u64);
    let every_s = life.interval().as_secs();
    runtime.block_on(life.run_sweeper_async(
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        |result| {
            sweeps += 1;
            match result {
                Ok(report) => {
                    failed_total += report.failed.len() as u64;
                    print_report(&report, json);
                }
                Err(e) => {
                    errors += 1;
                    ticker.line(&format!(
                        "error[{}]: {} (retrying)",
                        e.code_str(),
                        e.detail()
                    ));
                }
            }
            ticker.status(format!(
                "sweeping every {every_s} s: {sweeps} sweeps, {failed_total} stale tasks failed, {errors} errors"
            ));
        },
    ));
    ticker.finish();
    EXIT_OK
}

/// `inferwarden import-legacy --db FILE --from FILE [--table NAME]`.
pub fn import_legacy(db: &std::path::Path, from: &std::path::Path, table: &str) -> u8 {
    let policy = match PolicyConfig::load(
        std::env::var_os("INFERWARDEN_CONFIG")
            .map(PathBuf::from)
            .as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            return EXIT_USAGE;
        }
    };
    let ttls = policy
        .stale
        .processing_ttl_s
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                i64::try_from(v.saturating_mul(1000)).unwrap_or(i64::MAX),
            )
        })
        .collect();
    let result = SqliteTaskStore::open(db, TimeSource::Database)
        .and_then(|s| s.import_legacy(from, table, &ttls));
    match result {
        Ok(r) => {
            println!(
                "imported {} task(s), skipped {} already present, backfilled started_at for {}",
                r.imported, r.skipped, r.backfilled
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error[{}]: {}", e.code_str(), e.detail());
            EXIT_USAGE
        }
    }
}
