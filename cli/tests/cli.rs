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
