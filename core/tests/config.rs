//! Tests for `config/`: defaults, file + environment loading, whole-config validation and the
//! worker settings export.

use inferwarden::config::{ConfigFormat, PolicyConfig};
use inferwarden::ErrorCode;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn issue_fields(err: &inferwarden::Error) -> Vec<String> {
    err.metadata().unwrap()["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["field"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn defaults_match_requirements() {
    let c = PolicyConfig::default();
    assert!(c.validate().is_valid(), "{:?}", c.validate());
    assert_eq!(c.stale.processing_ttl_s["image"], 600);
    assert_eq!(c.stale.processing_ttl_s["video"], 1800);
    assert_eq!(c.stale.pending_start_timeout_s, 120);
    assert_eq!(c.stale.sweep_interval_s, 60);
    assert_eq!(
        c.stale.ttl_for("audio"),
        600,
        "unknown types get the strictest TTL"
    );
    assert_eq!(c.workers.lanes["image"].timeout_s, 300);
    assert_eq!(c.workers.lanes["video_dedicated"].timeout_s, 900);
    assert_eq!(c.workers.lanes["video_dedicated"].min_containers, 1);
    assert_eq!(c.workers.lanes["video_degraded"].min_containers, 0);
    assert_eq!(c.queue.degraded_max_depth, 25);
    assert_eq!(c.queue.degraded_max_wait_s, 30);
    assert_eq!(
        (
            c.rate_limits.auth_session.limit,
            c.rate_limits.auth_session.window_s
        ),
        (10, 60)
    );
    assert_eq!(
        (
            c.rate_limits.admin_bootstrap.limit,
            c.rate_limits.admin_bootstrap.window_s
        ),
        (30, 60)
    );
    assert_eq!(
        (c.rate_limits.admin.limit, c.rate_limits.admin.window_s),
        (120, 60)
    );
    assert_eq!(c.sessions.generation_lifetime_s, 86_400);
    assert_eq!(c.sessions.admin_idle_timeout_s, 43_200);
    assert_eq!(
        (c.proxy.status.connect_s, c.proxy.status.read_s),
        (5.0, 20.0)
    );
    assert_eq!(
        (c.proxy.results.connect_s, c.proxy.results.read_s),
        (5.0, 120.0)
    );
    assert_eq!(
        (c.proxy.preview.connect_s, c.proxy.preview.read_s),
        (5.0, 60.0)
    );
    assert_eq!(
        (c.proxy.generate.connect_s, c.proxy.generate.read_s),
        (4.0, 60.0)
    );
    assert_eq!(c.proxy.max_attempts, 3);
    assert_eq!(c.proxy.retry_statuses, vec![429, 500, 502, 503, 504]);
    assert_eq!(
        (
            c.gpu.green_min_mib,
            c.gpu.yellow_min_mib,
            c.gpu.orange_min_mib
        ),
        (12288, 8192, 4096)
    );
    assert_eq!(c.gpu.budget_gb["T4"], 16);
    assert_eq!(c.gpu.default_budget_gb, 24);
}

#[test]
fn toml_file_then_env_override() {
    let text = "environment = \"staging\"\n[stale]\npending_start_timeout_s = 90\n[stale.processing_ttl_s]\nimage = 700\nvideo = 1800\n";
    let c = PolicyConfig::from_text_with_env(
        Some(text),
        ConfigFormat::Toml,
        &env(&[
            ("INFERWARDEN_STALE__PENDING_START_TIMEOUT_S", "100"),
            ("INFERWARDEN_QUEUE__DEGRADED_MAX_DEPTH", "10"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.environment, "staging");
    assert_eq!(c.stale.pending_start_timeout_s, 100, "env wins over file");
    assert_eq!(c.stale.processing_ttl_s["image"], 700);
    assert_eq!(c.queue.degraded_max_depth, 10);
}

#[test]
fn json_file() {
    let c = PolicyConfig::from_text_with_env(
        Some(r#"{"queue": {"degraded_max_wait_s": 45}}"#),
        ConfigFormat::Json,
        &[],
    )
    .unwrap();
    assert_eq!(c.queue.degraded_max_wait_s, 45);
}

#[test]
fn list_overrides_accept_csv_and_frontend_origins() {
    let c = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[
            (
                "FRONTEND_ORIGINS",
                "https://app.example.com, http://localhost:5173",
            ),
            ("INFERWARDEN_AUTH__API_KEYS", "k1,k2"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.cors.frontend_origins,
        vec!["https://app.example.com", "http://localhost:5173"]
    );
    assert_eq!(c.auth.api_keys.len(), 2);
    assert_eq!(c.auth.api_keys[1].expose(), "k2");
}

#[test]
fn stale_ttl_shorter_than_worker_timeout_is_an_error_naming_the_field() {
    let err = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[("INFERWARDEN_STALE__PROCESSING_TTL_S__VIDEO", "600")]),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(
        issue_fields(&err).contains(&"stale.processing_ttl_s.video".to_owned()),
        "{err}"
    );
    assert!(err.detail().contains("video_dedicated"));
}

#[test]
fn unknown_env_override_is_an_error() {
    let err = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[("INFERWARDEN_STALE__TTL_VIDEO", "5")]),
    )
    .unwrap_err();
    assert_eq!(issue_fields(&err), vec!["INFERWARDEN_STALE__TTL_VIDEO"]);
    // Reserved variables are not overrides.
    PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[
            ("INFERWARDEN_GPU", "1"),
            ("INFERWARDEN_CONFIG", "x.toml"),
            ("INFERWARDEN_RUNTIME_SCHED", "normal"),
        ]),
    )
    .unwrap();
}

#[test]
fn unknown_file_key_and_bad_types_name_the_field() {
    let err =
        PolicyConfig::from_text_with_env(Some("[queue]\ndepth = 3\n"), ConfigFormat::Toml, &[])
            .unwrap_err();
    assert!(issue_fields(&err)[0].starts_with("queue"), "{err}");
    let err = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[("INFERWARDEN_QUEUE__DEGRADED_MAX_DEPTH", "many")]),
    )
    .unwrap_err();
    assert_eq!(issue_fields(&err), vec!["queue.degraded_max_depth"]);
    let err = PolicyConfig::from_text_with_env(Some("x = "), ConfigFormat::Toml, &[]).unwrap_err();
    assert_eq!(issue_fields(&err), vec!["<file>"]);
}

#[test]
fn secret_values_never_in_errors() {
    let err = PolicyConfig::from_text_with_env(
        Some("[auth]\nadmin_key = 12345678901234567\n"),
        ConfigFormat::Toml,
        &[],
    )
    .unwrap_err();
    assert!(!err.to_string().contains("12345678901234567"), "{err}");
    let c = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[("INFERWARDEN_AUTH__ADMIN_KEY", "canary-admin-key-0123")]),
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("canary"));
    assert!(!serde_json::to_string(&c).unwrap().contains("canary"));
}

#[test]
fn validation_collects_every_issue() {
    let mut c = PolicyConfig::default();
    c.queue.degraded_max_depth = 0;
    c.rate_limits.admin.limit = 0;
    c.cors.frontend_origins = vec![
        "*".into(),
        "https://ok.example".into(),
        "https://x.example/path".into(),
    ];
    c.sessions.admin_idle_timeout_s = c.sessions.admin_absolute_lifetime_s + 1;
    let report = c.validate();
    let fields: Vec<_> = report.errors.iter().map(|i| i.field.as_str()).collect();
    assert!(fields.contains(&"queue.degraded_max_depth"));
    assert!(fields.contains(&"rate_limits.admin.limit"));
    assert!(fields.contains(&"cors.frontend_origins[0]"));
    assert!(fields.contains(&"cors.frontend_origins[2]"));
    assert!(!fields.contains(&"cors.frontend_origins[1]"));
    assert!(fields.contains(&"sessions.admin_idle_timeout_s"));
}

#[test]
fn short_admin_key_is_a_warning_not_an_error() {
    let mut c = PolicyConfig::default();
    c.auth.admin_key = Some("short".into());
    let report = c.validate();
    assert!(report.is_valid());
    assert!(report.warnings.iter().any(|w| w.field == "auth.admin_key"));
}

#[test]
fn worker_settings_export() {
    let s = PolicyConfig::default().worker_settings();
    assert_eq!(s["video_dedicated"].timeout, 900);
    assert_eq!(s["video_dedicated"].min_containers, 1);
    assert_eq!(s["video_degraded"].min_containers, 0);
    assert_eq!(s["image"].timeout, 300);
    let v = serde_json::to_value(&s["image"]).unwrap();
    for key in [
        "timeout",
        "min_containers",
        "max_containers",
        "scaledown_window",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
}

#[test]
fn anonymous_only_in_dev() {
    let mut c = PolicyConfig::default();
    c.auth.allow_anonymous_dev = true;
    assert!(c
        .validate()
        .warnings
        .iter()
        .any(|w| w.field == "auth.allow_anonymous_dev"));
    c.environment = "Dev".into();
    assert!(c.is_dev_environment());
}

#[test]
fn format_names() {
    assert_eq!(ConfigFormat::from_name("TOML").unwrap(), ConfigFormat::Toml);
    assert_eq!(ConfigFormat::from_name("json").unwrap(), ConfigFormat::Json);
    assert_eq!(
        ConfigFormat::from_name("yaml").unwrap_err().code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn a_rendered_configuration_with_secrets_is_refused_until_the_secrets_are_given_back() {
    // Found by the configuration fuzz target: `config show` renders secrets as [REDACTED];
    // loading that text back used to make "[REDACTED]" an API key. Now every placeholder is a
    // named issue (config_invalid), and the real values from the environment load.
    let text = "[auth]\napi_keys = [\"rendered-key-0123456789abcdef\"]\nadmin_key = \"rendered-admin-0123456789abcdef\"\n[proxy]\nregistry = \"postgres://iw:db-password@127.0.0.1/iw\"\n";
    let config = PolicyConfig::from_text_with_env(Some(text), ConfigFormat::Toml, &[]).unwrap();
    let rendered = inferwarden::config::to_toml_string(&config).unwrap();
    assert!(!rendered.contains("rendered-key") && !rendered.contains("db-password"));
    let err =
        PolicyConfig::from_text_with_env(Some(&rendered), ConfigFormat::Toml, &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(format!("{err:?}").contains("placeholder"), "{err:?}");
    // The same placeholder from an environment override is refused too.
    let err = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[("INFERWARDEN_AUTH__ADMIN_KEY", "[REDACTED]")]),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
}

#[test]
fn the_placeholder_is_refused_in_the_api_key_list_too() {
    // The list is read as a list or comma-separated text, not through `Secret`'s own reader.
    let rendered = "[auth]\napi_keys = [\"[REDACTED]\"]\n";
    let err =
        PolicyConfig::from_text_with_env(Some(rendered), ConfigFormat::Toml, &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert_eq!(issue_fields(&err), vec!["auth.api_keys".to_owned()]);
    assert!(format!("{err:?}").contains("placeholder"), "{err:?}");
    let err = PolicyConfig::from_text_with_env(
        None,
        ConfigFormat::Toml,
        &env(&[(
            "INFERWARDEN_AUTH__API_KEYS",
            "real-key-0123456789abcdef,[REDACTED]",
        )]),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
}
