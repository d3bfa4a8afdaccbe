//! End-to-end tests of the `inferwarden` binary: output and exit codes.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_inferwarden"));
    // Do not let the developer's environment change the defaults under test.
    for (k, _) in std::env::vars() {
        if k.starts_with("INFERWARDEN_") || k == "FRONTEND_ORIGINS" {
            c.env_remove(k);
        }
    }
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("run inferwarden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("inferwarden-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn task_ref_ok_and_rejected() {
    let (code, out, _) = run(bin().args(["task-ref", "abc", "acme::t1"]));
    assert_eq!(code, 0);
    assert!(out.contains("remote workspace=acme task_id=t1"));
    let (code, out, _) = run(bin().args(["task-ref", "abc", "evil.example%23::x"]));
    assert_eq!(code, 1);
    assert!(out.contains("proxy_target_invalid"));
}

#[test]
fn task_ref_json() {
    let (code, out, _) = run(bin().args(["task-ref", "--json", "ws::x"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["code"], "proxy_target_invalid");
    assert_eq!(v["error"]["metadata"]["rule"], "workspace_length");
}

#[test]
fn usage_error_is_exit_2() {
    let (code, _, _) = run(bin().args(["task-ref"]));
    assert_eq!(code, 2);
    let (code, _, _) = run(bin().args(["no-such-command"]));
    assert_eq!(code, 2);
}

#[test]
fn config_validate_defaults_and_files() {
    let (code, out, _) = run(bin().args(["config", "validate"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: auth.admin_key"));

    let bad = temp_file(
        "bad.toml",
        "[stale.processing_ttl_s]\nimage = 60\nvideo = 1800\n",
    );
    let (code, out, _) = run(bin().args(["config", "validate"]).arg(&bad));
    assert_eq!(code, 1);
    assert!(out.contains("stale.processing_ttl_s.image"), "{out}");

    let broken = temp_file("broken.toml", "[stale\n");
    let (code, _, _) = run(bin().args(["config", "validate"]).arg(&broken));
    assert_eq!(code, 2);
    let (code, _, _) = run(bin().args(["config", "validate", "/nonexistent/x.toml"]));
    assert_eq!(code, 2);
}

#[test]
fn config_show_applies_env_and_redacts() {
    let (code, out, _) = run(bin()
        .args(["config", "show", "--format", "json"])
        .env("INFERWARDEN_AUTH__ADMIN_KEY", "canary-admin-key-123456")
        .env("INFERWARDEN_QUEUE__DEGRADED_MAX_DEPTH", "7"));
    assert_eq!(code, 0);
    assert!(!out.contains("canary"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["queue"]["degraded_max_depth"], 7);
    assert_eq!(v["auth"]["admin_key"], "[REDACTED]");
}

#[test]
fn worker_settings_json() {
    let (code, out, _) = run(bin().args(["config", "worker-settings"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["video_dedicated"]["timeout"], 900);
    assert_eq!(v["video_degraded"]["min_containers"], 0);
}

#[test]
fn errors_listing() {
    let (code, out, _) = run(bin().args(["errors", "--json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["code"] == "gpu_memory_exceeded" && e["http_status"] == 507));
}

#[test]
fn sweep_once_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("inferwarden-cli-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("tasks.db");
    let _ = std::fs::remove_file(&db);
    let url = format!("sqlite:{}", db.display());
    let (code, out, err) = run(bin().args(["sweep", "--db", &url, "--json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["failed"].as_array().unwrap().len(), 0);
    let (code, _, _) = run(bin().args(["sweep", "--db", "mysql://x"]));
    assert_eq!(code, 2);
}

#[test]
fn probe_exits_zero_without_a_gpu() {
    let (code, out, _) = run(bin().args(["probe", "--json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["devices"].is_array());
    if v["driver_present"] == false {
        assert_eq!(v["devices"].as_array().unwrap().len(), 0);
    }
    let (code, out, _) = run(bin().args(["probe"]));
    assert_eq!(code, 0);
    assert!(!out.is_empty());
}

/// A SQLite audit log of `n` records written through the library, as a service would.
fn audit_db(name: &str, n: u64) -> (std::path::PathBuf, String) {
    use inferwarden::audit::{AuditEvent, AuditFields, AuditStore, Outcome, SqliteAuditStore};
    let dir = std::env::temp_dir().join(format!(
        "inferwarden-cli-audit-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("audit.db");
    let store = SqliteAuditStore::open(&db).unwrap();
    let clock = inferwarden::clock::ManualClock::new(1_800_000_000_000);
    let events: Vec<AuditEvent> = (0..n)
        .map(|i| {
            clock.advance_ms(1000);
            AuditEvent::new(
                AuditFields {
                    actor: if i % 2 == 0 { "admin" } else { "203.0.113.7" },
                    source: "gate",
                    action: if i % 3 == 0 {
                        "admin_login"
                    } else {
                        "cors_denied"
                    },
                    target: "/admin/session",
                    outcome: Outcome::Denied,
                    correlation_id: &format!("req-{i}"),
                },
                &clock,
            )
            .unwrap()
            .detail("comment", "with, a comma and \"quotes\"")
        })
        .collect();
    store.append(&events).unwrap();
    (dir, format!("sqlite:{}", db.display()))
}

#[test]
fn audit_verify_export_checkpoint_prove() {
    let (dir, url) = audit_db("cmds", 600);
    let (code, out, err) = run(bin().args(["audit", "verify", "--db", &url]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("intact: records 0..600"), "{out}");
    // Not a terminal: progress is plain lines on stderr, at most one per tenth, ending at
    // the total (a terminal gets an indicatif bar instead).
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("verifying: "))
        .collect();
    assert!(
        (1..=11).contains(&progress.len()),
        "progress lines: {progress:?}"
    );
    assert_eq!(
        progress.last(),
        Some(&"verifying: 600 / 600 records"),
        "{err}"
    );

    // Keys: keygen prints a signer and a verifier; checkpoint signs with the env key.
    let (code, out, _) = run(bin().args(["audit", "keygen", "--name", "ops-audit"]));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    let (signer, verifier) = (lines[0].to_owned(), lines[1].to_owned());
    assert!(signer.starts_with("PRIVATE+KEY+ops-audit+") && verifier.starts_with("ops-audit+"));
    let (code, _, err) = run(bin().args(["audit", "checkpoint", "--db", &url]));
    assert_eq!(code, 2, "no key configured");
    assert!(err.contains("config_invalid"), "{err}");
    let note_file = dir.join("checkpoint.txt");
    let (code, note, err) = run(bin()
        .env("INFERWARDEN_AUDIT_SIGNING_KEY", &signer)
        .args(["audit", "checkpoint", "--db", &url, "--out"])
        .arg(&note_file));
    assert_eq!(code, 0, "{err}");
    assert!(
        note.starts_with("inferwarden.audit\n600\n") && note.contains("\n\n\u{2014} ops-audit "),
        "{note}"
    );
    // The key is everything after the fourth `+` (its base64 may hold `+` itself, so the
    // text after the last `+` can be a short fragment that a signature contains by chance).
    let key = signer.splitn(5, '+').nth(4).unwrap();
    assert!(key.len() >= 40, "{signer}");
    assert!(!note.contains(&signer) && !note.contains(key));
    let (code, out, _) = run(bin()
        .env("INFERWARDEN_AUDIT_SIGNING_KEY", &signer)
        .args(["audit", "public-key"]));
    assert_eq!((code, out.trim()), (0, verifier.as_str()));
    let key_file = temp_file("verifier.pub", &verifier);

    // Export: csv with a header and quoted fields, jsonl filtered by action and time.
    let (code, csv, _) = run(bin().args(["audit", "export", "--db", &url, "--format", "csv"]));
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count(), 601);
    assert!(
        csv.contains("\"{\"\"comment\"\":\"\"with, a comma and \\\"\"quotes\\\"\"\"\"}\""),
        "{}",
        csv.lines().nth(1).unwrap()
    );
    let (code, jsonl, _) = run(bin().args([
        "audit",
        "export",
        "--db",
        &url,
        "--action",
        "admin_login",
        "--since",
        "1800000100000",
        "--until",
        "2027-01-16T00:00:00Z",
    ]));
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !rows.is_empty()
            && rows.iter().all(|r| r["action"] == "admin_login"
                && r["timestamp_ms"].as_i64().unwrap() >= 1_800_000_100_000)
    );
    let (code, json, _) = run(bin().args([
        "audit", "export", "--db", &url, "--format", "json", "--actor", "admin",
    ]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        300
    );
    let (code, _, err) = run(bin().args(["audit", "export", "--db", &url, "--since", "yesterday"]));
    assert_eq!(code, 2, "{err}");

    // Prove: a JSON inclusion proof against the current head.
    let (code, out, _) = run(bin().args(["audit", "prove", "300", "--db", &url]));
    assert_eq!(code, 0);
    let proof: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (proof["seq"].as_u64(), proof["size"].as_u64()),
        (Some(300), Some(600))
    );
    let (code, _, _) = run(bin().args(["audit", "prove", "600", "--db", &url]));
    assert_eq!(code, 2);

    // Verify against the external checkpoint; then tamper and see the kind and seq.
    let verify_with = |extra: &[&str]| {
        let mut c = bin();
        c.args(["audit", "verify", "--db", &url, "--json", "--public-key"])
            .arg(&key_file)
            .arg("--checkpoint")
            .arg(&note_file)
            .args(extra);
        run(&mut c)
    };
    let (code, out, err) = verify_with(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let conn = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER iw_audit_log_no_update; UPDATE iw_audit_log SET actor = 'someone-else' WHERE seq = 42;",
    )
    .unwrap();
    let (code, out, _) = verify_with(&[]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["tamper"]["kind"], "edited");
    assert_eq!(report["tamper"]["seq"], 42);
    let (code, out, _) = run(bin().args(["audit", "verify", "--db", &url]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("TAMPERED: edited at sequence number 42"),
        "{out}"
    );
    conn.execute_batch(
        "UPDATE iw_audit_log SET actor = 'admin' WHERE seq = 42; DROP TRIGGER iw_audit_log_retention_only; DELETE FROM iw_audit_log WHERE seq >= 590;",
    )
    .unwrap();
    let (code, out, _) = verify_with(&[]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            report["tamper"]["kind"].as_str(),
            report["tamper"]["seq"].as_u64()
        ),
        (Some("truncated"), Some(590))
    );

    // Input errors: unknown store, bad key file.
    let (code, _, _) = run(bin().args(["audit", "verify", "--db", "mysql://x"]));
    assert_eq!(code, 2);
    let bad_key = temp_file("bad.pub", "not-a-key");
    let (code, _, err) = run(bin()
        .args(["audit", "verify", "--db", &url, "--public-key"])
        .arg(&bad_key));
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sweep_maintains_a_durable_audit_log() {
    let (dir, url) = audit_db("sweep", 10);
    let tasks = format!("sqlite:{}", dir.join("tasks.db").display());
    let (_, out, _) = run(bin().args(["audit", "keygen", "--name", "k"]));
    let signer = out
        .lines()
        .find(|l| l.starts_with("PRIVATE"))
        .unwrap()
        .to_owned();
    let (code, _, err) = run(bin()
        .env("INFERWARDEN_AUDIT__STORE", &url)
        .env("INFERWARDEN_AUDIT_SIGNING_KEY", &signer)
        .args(["sweep", "--db", &tasks]));
    assert_eq!(code, 0, "{err}");
    // The sweep wrote the scheduled checkpoint into the log.
    let conn = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM iw_audit_checkpoints", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 1);
    let (code, _, err) = run(bin()
        .env("INFERWARDEN_AUDIT__RETENTION_DAYS", "30")
        .args(["sweep", "--db", &tasks]));
    assert_eq!(code, 2, "retention under 90 days is refused: {err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn parity_check_reports_progress_off_a_terminal() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/platform");
    let (code, out, err) = run(bin().args(["parity", "check"]).arg(&root));
    assert!(code == 0 || code == 1, "{out}{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("checking: "))
        .collect();
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress lines: {err}"));
    let (done, total) = last
        .trim_start_matches("checking: ")
        .trim_end_matches(" source files")
        .split_once(" / ")
        .unwrap();
    assert_eq!(done, total, "{err}");
    assert!(lines.len() <= 11, "{lines:?}");
    assert!(!out.contains("checking: "), "progress stays off stdout");
}
