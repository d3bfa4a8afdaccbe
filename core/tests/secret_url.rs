//! Tests for `secret_url.rs`: a connection URL's password never prints (Debug, Display,
//! Serialize, the rendered configuration), while the stores still read the real URL.

use inferwarden::config::{to_toml_string, ConfigFormat, PolicyConfig};
use inferwarden::secret_url::{redact, ConnectionUrl};

#[test]
fn passwords_are_redacted_in_every_url_form() {
    let cases = [
        (
            "postgres://app:hunter2@db.internal:5432/iw",
            "postgres://app:[REDACTED]@db.internal:5432/iw",
        ),
        (
            "redis://:hunter2@cache:6379/0",
            "redis://:[REDACTED]@cache:6379/0",
        ),
        (
            "rediss://user:hunter2@cache/0?tls=1",
            "rediss://user:[REDACTED]@cache/0?tls=1",
        ),
        (
            "postgres://db/iw?user=app&password=hunter2&sslmode=require",
            "postgres://db/iw?user=app&password=[REDACTED]&sslmode=require",
        ),
        (
            "postgres://app:p%40ss@db/iw",
            "postgres://app:[REDACTED]@db/iw",
        ),
        // No password: unchanged.
        ("postgres://app@db/iw", "postgres://app@db/iw"),
        (
            "sqlite:/var/lib/iw/registry.db",
            "sqlite:/var/lib/iw/registry.db",
        ),
        ("memory", "memory"),
        // Not a password parameter.
        (
            "postgres://db/iw?old_password=x",
            "postgres://db/iw?old_password=x",
        ),
    ];
    for (url, want) in cases {
        assert_eq!(redact(url), want, "{url}");
        let wrapped = ConnectionUrl::new(url);
        assert_eq!(wrapped.to_string(), want);
        assert_eq!(format!("{wrapped:?}"), format!("{want:?}"));
        assert_eq!(serde_json::to_value(&wrapped).unwrap(), want);
        assert_eq!(wrapped.expose(), url);
        assert_eq!(&*wrapped, url);
    }
}

#[test]
fn the_rendered_configuration_never_shows_a_store_password() {
    let text = r#"
[proxy]
registry = "postgres://app:hunter2@db/iw"
[queue]
backend = "redis://:hunter2@cache:6379/0"
[audit]
store = "postgres://db/iw?password=hunter2"
"#;
    let config = PolicyConfig::from_text_with_env(Some(text), ConfigFormat::Toml, &[]).unwrap();
    assert_eq!(
        config.proxy.registry.expose(),
        "postgres://app:hunter2@db/iw"
    );
    let rendered = to_toml_string(&config).unwrap();
    assert!(!rendered.contains("hunter2"), "{rendered}");
    assert!(
        rendered.contains("postgres://app:[REDACTED]@db/iw"),
        "{rendered}"
    );
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}
